import { compareKeys } from "@nokv/pd-core";
import { boundaryKey, randomKey } from "./dist/regions.js";
const n = 1000;
const keys = Array.from({ length: n }, (_, i) => boundaryKey(i));
const u8 = keys.map((k) => Uint8Array.from(k));
const qs = Array.from({ length: 200000 }, () => randomKey(n));
function bs(arr, k, cmp) { let lo = 0, hi = arr.length; while (lo < hi) { const m = (lo + hi) >> 1; if (cmp(arr[m], k) <= 0) lo = m + 1; else hi = m; } return lo; }
for (const [name, arr, cmp] of [["buf/compareKeys", keys, compareKeys], ["u8/compareKeys", u8, compareKeys], ["buf/Buffer.compare", keys, Buffer.compare], ["buf/compareKeys", keys, compareKeys]]) {
  const t = performance.now(); let s = 0;
  for (const q of qs) s += bs(arr, q, cmp);
  console.log(name, ((performance.now() - t) / qs.length * 1e6).toFixed(0), "ns/search");
}
