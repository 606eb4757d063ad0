import type { SimCase } from "../runner.js";
import { minutes, settled, TIKV_LIVENESS } from "./common.js";

const DIES_AT = 60_000;
const ADD_PEER_PER_MIN = 15;

/**
 * One of five stores dies. After the down threshold (30 min, TiKV's) the
 * replica checker replaces every peer it held, within the store limits.
 *
 * The bound the goal compares with: detection (the down threshold, from the
 * store's last heartbeat, at most the death) plus the peers to re-create
 * spread over the stores that can take them at the add-peer limit each
 * (removing a peer from a down store costs nothing): `down + P / (k × L)`.
 */
export const storeDown: SimCase = {
  name: "store-down",
  description: "one of 5 stores dies: every region back to 3 live replicas; time vs the bound of the down threshold + store limits",
  defaults: { stores: 5, regions: 3_000 },
  small: { stores: 5, regions: 200 },
  plan: (p) => {
    let lost = 0;
    const dead = BigInt(p.stores);
    return {
      mode: "in-process",
      cluster: {},
      pd: TIKV_LIVENESS,
      config: { defaultStoreLimit: { addPeerPerMin: ADD_PEER_PER_MIN, removePeerPerMin: ADD_PEER_PER_MIN } },
      tickMs: 1_000,
      timeLimitMs: minutes(600),
      events: [
        {
          atMs: DIES_AT,
          label: `store ${dead} dies`,
          run: (sim) => {
            lost = sim.regionsOn(dead);
            sim.kill(dead);
          },
        },
      ],
      predicate: settled,
      goals: (run) => {
        const targets = p.stores - 1;
        const boundMs = TIKV_LIVENESS.downAfterMs + (lost / (targets * ADD_PEER_PER_MIN)) * 60_000;
        const tookMs = run.convergedAtMs === undefined ? undefined : run.convergedAtMs - DIES_AT;
        return {
          peersLost: lost,
          repairMs: tookMs ?? "never",
          boundMs: Math.round(boundMs),
          ratioToBound: tookMs === undefined ? "n/a" : Number((tookMs / boundMs).toFixed(3)),
          goalRatio: tookMs !== undefined && tookMs / boundMs <= 1.2,
        };
      },
    };
  },
};
