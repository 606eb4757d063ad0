import { maxMinRatio, type SimCase } from "../runner.js";
import { balanced, minutes, settled, TIKV_LIVENESS } from "./common.js";

const MIB = 1n << 20n;

/** TiKV's `region-split`: writes grow regions until they split; regions stay replicated and balanced. */
export const regionSplit: SimCase = {
  name: "region-split",
  description: "writes all over the key space grow regions past 96 MiB and split them: regions double, stay replicated and balanced",
  defaults: { stores: 5, regions: 500 },
  small: { stores: 5, regions: 40 },
  plan: (p) => {
    let before = 0;
    return {
      mode: "in-process",
      cluster: { regionSizeBytes: 64n * MIB, sizeJitter: 0.2, splitSizeBytes: 96n * MIB },
      pd: TIKV_LIVENESS,
      tickMs: 1_000,
      timeLimitMs: minutes(240),
      events: [{ atMs: 1_000, label: "writes start", run: (sim) => void (before = sim.regions.size) }],
      // About 48 MiB per region in 30 minutes: most split once.
      writes: { everyMs: 1_000, untilMs: minutes(30), count: Math.max(1, Math.ceil((p.regions * 48) / 1800)), bytes: MIB, pick: (r) => r.next() },
      predicate: (sim, pd) => sim.now > minutes(30) && settled(sim, pd) && balanced(sim, 1.1),
      goals: (run) => ({
        regionsBefore: before,
        regionsAfter: run.sim.regions.size,
        splits: run.sim.counts.splits,
        maxMinRatio: Number(maxMinRatio(run.sim.regionCounts().values()).toFixed(4)),
      }),
    };
  },
};
