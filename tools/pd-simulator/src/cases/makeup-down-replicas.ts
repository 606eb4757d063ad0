import { maxMinRatio, type SimCase } from "../runner.js";
import { balanced, hours, minutes, settled, TIKV_LIVENESS } from "./common.js";

/**
 * TiKV's `makeup-down-replicas`: stores die one after another; each time the
 * replica checker makes up the replicas they held, and balance-region
 * evens the survivors out.
 */
export const makeupDownReplicas: SimCase = {
  name: "makeup-down-replicas",
  description: "6 stores; one dies, then (after its replicas are made up) another: 3 live replicas everywhere, balanced within 10 %",
  defaults: { stores: 6, regions: 2_000 },
  small: { stores: 6, regions: 100 },
  plan: (p) => ({
    mode: "in-process",
    cluster: {},
    pd: TIKV_LIVENESS,
    config: { defaultStoreLimit: { addPeerPerMin: 30, removePeerPerMin: 30 } },
    tickMs: 1_000,
    timeLimitMs: hours(12),
    events: [
      { atMs: 60_000, label: `store ${p.stores} dies`, run: (sim) => sim.kill(BigInt(p.stores)) },
      // The first store's replicas are made up by then (down after 30 min, then minutes of repair).
      { atMs: minutes(45), label: `store ${p.stores - 1} dies`, run: (sim) => sim.kill(BigInt(p.stores - 1)) },
    ],
    predicate: (sim, pd) => settled(sim, pd) && balanced(sim, 1.1),
    goals: (run) => ({ maxMinRatio: Number(maxMinRatio(run.sim.regionCounts().values()).toFixed(4)) }),
  }),
};
