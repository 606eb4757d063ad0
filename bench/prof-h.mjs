import { createPdClient } from "@nokv/pd-client";
import { LatencyHistogram } from "./dist/histogram.js";
const addr = process.argv[2];
const c = createPdClient({ addr, timeoutMs: 10000 });
await c.connect();
for (const mode of ["none", "now", "now+hist", "sample16", "none", "now+hist"]) {
  let stop = false, got = 0; const h = new LatencyHistogram();
  setTimeout(() => stop = true, 2000);
  const t = performance.now();
  await Promise.all(Array.from({ length: 1000 }, async () => { let i = 0; while (!stop) {
    if (mode === "none") { await c.getTimestamp(); }
    else if (mode === "now") { const t0 = performance.now(); await c.getTimestamp(); const d = performance.now() - t0; }
    else if (mode === "now+hist") { const t0 = performance.now(); await c.getTimestamp(); h.record(performance.now() - t0); }
    else { if ((++i & 15) === 0) { const t0 = performance.now(); await c.getTimestamp(); h.record(performance.now() - t0); } else await c.getTimestamp(); }
    got++; } }));
  console.log(mode, Math.round(got / ((performance.now() - t) / 1000)));
}
c.close();
