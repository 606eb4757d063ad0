import { maxMinRatio, type SimCase } from "../runner.js";
import { balanced, hours, settled, TIKV_LIVENESS } from "./common.js";

/**
 * A large cluster: 100 stores, 100 000 regions (300 000 peers), the last
 * tenth of the stores empty. Shows that scheduling keeps up and that its
 * cost per store heartbeat does not grow with the number of regions (run it
 * with `--regions 1000` and `--regions 100000` and compare `cost`).
 */
export const largeCluster: SimCase = {
  name: "large-cluster",
  description: "100 stores, 100k regions, a tenth of the stores empty: balanced within 10 %; scheduling cost per store heartbeat",
  defaults: { stores: 100, regions: 100_000 },
  small: { stores: 20, regions: 400 },
  plan: (p) => ({
    mode: "in-process",
    cluster: { placeOn: Math.max(3, p.stores - Math.ceil(p.stores / 10)) },
    pd: TIKV_LIVENESS,
    config: { defaultStoreLimit: { addPeerPerMin: 60, removePeerPerMin: 60 } },
    tickMs: 1_000,
    timeLimitMs: hours(24),
    events: [],
    predicate: (sim, pd) => settled(sim, pd) && balanced(sim, 1.1),
    goals: (run) => ({
      maxMinRatio: Number(maxMinRatio(run.sim.regionCounts().values()).toFixed(4)),
      costPerStoreHeartbeatMs: run.cost === undefined ? "n/a" : Number(run.cost.meanMs.toFixed(4)),
    }),
  }),
};
