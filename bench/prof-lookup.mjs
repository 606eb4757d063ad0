import { RouteIndex } from "@nokv/pd-core";
import { boundaryKey, randomKey } from "./dist/regions.js";
for (const n of [1000, 100000, 1000000]) {
  const idx = new RouteIndex();
  for (let i = 0; i < n; i++) idx.put({ id: BigInt(i + 1), startKey: i === 0 ? new Uint8Array() : boundaryKey(i), endKey: i === n - 1 ? new Uint8Array() : boundaryKey(i + 1), epoch: { version: 1n, confVersion: 1n }, peers: [] });
  const keys = Array.from({ length: 200000 }, () => randomKey(n));
  for (let r = 0; r < 3; r++) {
    const t = performance.now(); let f = 0;
    for (const k of keys) if (idx.lookup(k)) f++;
    console.log(n, r, ((performance.now() - t) / keys.length * 1000).toFixed(0), "ns", f);
  }
}
