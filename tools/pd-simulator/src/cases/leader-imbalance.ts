import type { SimCase } from "../runner.js";
import { leadersWithin, minutes, TIKV_LIVENESS } from "./common.js";

/**
 * TiKV's `balance-leader`: store 1 leads every region. The stores report
 * their regions' leaders, and balance-leader hands leaderships to the
 * follower stores with the fewest until the counts are within one.
 */
export const leaderImbalance: SimCase = {
  name: "leader-imbalance",
  description: "store 1 leads every region: balance-leader evens the leaders out to within 1",
  defaults: { stores: 4, regions: 1_000 },
  small: { stores: 4, regions: 60 },
  plan: () => ({
    mode: "in-process",
    cluster: { leaders: "store-1" },
    pd: TIKV_LIVENESS,
    tickMs: 1_000,
    timeLimitMs: minutes(600),
    events: [],
    predicate: (sim, pd) => leadersWithin(sim, 1) && pd.operatorsInFlight === 0,
  }),
};
