import { createCluster } from "@nokv/pd-core";
import { openLocalFileStore } from "@nokv/pd-storage";
import { splitToSize, toRegion } from "./dist/regions.js";
import { mkdtempSync, rmSync } from "node:fs";
const dir = mkdtempSync("/tmp/nokv-prof-build-");
const n = Number(process.env.N ?? 1000000);
const store = await openLocalFileStore({ dir });
const cluster = createCluster({ persistence: store, snapshot: await store.load() });
const t0 = performance.now();
let last = performance.now();
const iv = setInterval(() => { const now = performance.now(); if (now - last > 100) console.log(`PAUSE ${(now - last).toFixed(0)} ms at ${(now - t0).toFixed(0)} ms, compactions ${store.stats().compactions}`); last = now; }, 10);
await splitToSize(n, async (round) => {
  for (let i = 0; i < round.length; i += 512) await Promise.all(round.slice(i, i + 512).map((g) => cluster.regionHeartbeat(toRegion(g, n))));
});
console.log("built", ((performance.now() - t0) / 1000).toFixed(1), "s", store.stats());
clearInterval(iv);
await cluster.flush(); await store.close();
if (process.env.RESTART) {
  const t1 = performance.now();
  const s2 = await openLocalFileStore({ dir });
  const snap = await s2.load();
  const t2 = performance.now();
  const c2 = createCluster({ persistence: s2, snapshot: snap });
  console.log("restart open", (t2 - t1).toFixed(0), "restore", (performance.now() - t2).toFixed(0), c2.regions.size);
  await s2.close();
}
rmSync(dir, { recursive: true, force: true });
