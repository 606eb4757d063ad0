import type { SimCase } from "../runner.js";
import { hours, TIKV_LIVENESS } from "./common.js";

/**
 * NoKV's Go stores: no capabilities, no heartbeat extras, everything through
 * pd-client. Store 1 leads every region. PD must send them nothing but its
 * original leader transfers (fields 1-4, no operator id) for an hour; the
 * report measures how far those even the leaders out. They are PD's
 * original planner, unchanged: without leader reports it guesses a
 * region's leader (first peer, or where it saw a transfer go), and a wrong
 * guess is sent again after every 30 s timeout (`transfersTimedOut`).
 */
export const goStores: SimCase = {
  name: "go-stores",
  description: "NoKV Go stores (no capabilities): an hour of nothing but PD's original leader transfers; how far they even leaders out",
  defaults: { stores: 4, regions: 1_000 },
  small: { stores: 4, regions: 60 },
  plan: () => {
    let spreadAtStart = 0;
    const spread = (m: Map<bigint, number>) => Math.max(...m.values()) - Math.min(...m.values());
    return {
      mode: "in-process",
      cluster: { capabilities: undefined, leaders: "store-1" },
      pd: TIKV_LIVENESS,
      tickMs: 1_000,
      timeLimitMs: hours(1),
      events: [{ atMs: 0, label: "store 1 leads everything", run: (sim) => void (spreadAtStart = spread(sim.leaderCounts())) }],
      predicate: (sim) =>
        sim.now >= hours(1) &&
        sim.notFullyReplicated === 0 &&
        sim.counts.opsReceived === sim.counts.leaderTransfers &&
        sim.counts.withOperatorId === 0,
      goals: (run) => ({
        operationsReceived: run.sim.counts.opsReceived,
        allPlainLeaderTransfers: run.sim.counts.opsReceived === run.sim.counts.leaderTransfers && run.sim.counts.withOperatorId === 0,
        leaderSpreadStart: spreadAtStart,
        leaderSpreadEnd: spread(run.sim.leaderCounts()),
        transfersTimedOut: run.operators["balance-leader"]?.timeout ?? 0,
      }),
    };
  },
};
