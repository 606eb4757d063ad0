import { maxMinRatio, type SimCase } from "../runner.js";
import { balanced, leadersWithin, minutes, settled, TIKV_LIVENESS } from "./common.js";

const MIB = 1n << 20n;

/**
 * A hot-write store: store 1 leads every region and every write lands in a
 * tenth of the key space, whose regions split again and again. Balance-leader
 * spreads the leaderships (and with them the write traffic), balance-region
 * spreads the new regions.
 */
export const hotWrite: SimCase = {
  name: "hot-write",
  description: "store 1 leads every region, writes hit a tenth of the key space and split it: leaders and regions end balanced",
  defaults: { stores: 5, regions: 500 },
  small: { stores: 5, regions: 60 },
  plan: (p) => ({
    mode: "in-process",
    cluster: { leaders: "store-1", regionSizeBytes: 64n * MIB, splitSizeBytes: 96n * MIB },
    pd: TIKV_LIVENESS,
    tickMs: 1_000,
    timeLimitMs: minutes(300),
    events: [],
    writes: { everyMs: 1_000, untilMs: minutes(30), count: Math.max(1, Math.ceil((p.regions * 24) / 1800)), bytes: MIB, pick: (r) => r.next() * 0.1 },
    predicate: (sim, pd) => sim.now > minutes(30) && settled(sim, pd) && balanced(sim, 1.1) && leadersWithin(sim, Math.max(1, Math.ceil(sim.regions.size * 0.02))),
    goals: (run) => ({
      splits: run.sim.counts.splits,
      maxMinRatio: Number(maxMinRatio(run.sim.regionCounts().values()).toFixed(4)),
      leaderSpread: Math.max(...run.sim.leaderCounts().values()) - Math.min(...run.sim.leaderCounts().values()),
    }),
  }),
};
