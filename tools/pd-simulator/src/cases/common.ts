import type { SimCluster } from "../cluster/sim-cluster.js";
import { maxMinRatio, type PdState } from "../runner.js";

/** TiKV's default thresholds: disconnected after 20 s, down after 30 min. */
export const TIKV_LIVENESS = { disconnectedAfterMs: 20_000, downAfterMs: 30 * 60_000 } as const;

const MINUTE = 60_000;
/** Milliseconds in `n` minutes / hours. */
export const minutes = (n: number) => n * MINUTE;
export const hours = (n: number) => n * 60 * MINUTE;

/** Every region has max-replicas caught-up voters on live stores, no learner, and PD has nothing in flight. */
export function settled(sim: SimCluster, pd: PdState): boolean {
  return sim.notFullyReplicated === 0 && pd.operatorsInFlight === 0;
}

/** Peers per live store within `ratio` (max/min). */
export function balanced(sim: SimCluster, ratio: number): boolean {
  return maxMinRatio(sim.regionCounts().values()) <= ratio;
}

/** Leaders per live store differ by at most `n`. */
export function leadersWithin(sim: SimCluster, n: number): boolean {
  const v = [...sim.leaderCounts().values()];
  return Math.max(...v) - Math.min(...v) <= n;
}
