import type { SimCase } from "../runner.js";
import { settled } from "./common.js";

/**
 * `store-down` against `pd-cli pd` in a separate process, on the wall clock,
 * with the thresholds scaled down (down after 3 s) and fast stores.
 */
export const storeDownProcess: SimCase = {
  name: "store-down-process",
  description: "pd-cli pd as a separate process (wall clock, down after 3 s): one of 5 stores dies, every region back to 3 live replicas",
  defaults: { stores: 5, regions: 100 },
  small: { stores: 5, regions: 30 },
  plan: (p) => ({
    mode: "process",
    cluster: {
      storeHeartbeatMs: 200,
      electionMs: 300,
      opDelayMs: 20,
      catchUpBaseMs: 50,
      snapshotBytesPerMs: 1024 * 1024,
    },
    pd: { disconnectedAfterMs: 1_000, downAfterMs: 3_000 },
    config: { defaultStoreLimit: { addPeerPerMin: 6_000, removePeerPerMin: 6_000 } },
    tickMs: 50,
    timeLimitMs: 60_000,
    events: [{ atMs: 1_500, label: `store ${p.stores} dies`, run: (sim) => sim.kill(BigInt(p.stores)) }],
    predicate: settled,
  }),
};
