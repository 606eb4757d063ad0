import { maxMinRatio, type SimCase } from "../runner.js";
import { balanced, hours, settled, TIKV_LIVENESS } from "./common.js";

/**
 * TiKV's `add-nodes`: a cluster of `stores / 2` loaded stores doubles.
 * Balance-region must spread the regions onto the new stores until region
 * counts are within 10 %, moving no region more than twice.
 */
export const addNodes: SimCase = {
  name: "add-nodes",
  description: "3 loaded stores, 3 empty ones join: region counts within 10 %, no region moved more than twice",
  defaults: { stores: 6, regions: 10_000 },
  small: { stores: 6, regions: 300 },
  plan: (p) => {
    const before = Math.max(1, Math.floor(p.stores / 2));
    return {
      mode: "in-process",
      cluster: { stores: before },
      pd: TIKV_LIVENESS,
      tickMs: 1_000,
      timeLimitMs: hours(24),
      events: [
        {
          atMs: 60_000,
          label: `${p.stores - before} new stores join`,
          run: (sim) => {
            for (let i = before; i < p.stores; i++) sim.addStore();
          },
        },
      ],
      predicate: (sim, pd) => settled(sim, pd) && balanced(sim, 1.1),
      goals: (run) => ({
        maxMinRatio: Number(maxMinRatio(run.sim.regionCounts().values()).toFixed(4)),
        maxMovesPerRegion: run.sim.maxAddsPerRegion(),
        goalMaxMin: maxMinRatio(run.sim.regionCounts().values()) <= 1.1 && run.sim.maxAddsPerRegion() <= 2,
      }),
    };
  },
};
