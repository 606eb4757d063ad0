/**
 * What a store reports in a heartbeat. `capacity` and `available` are bytes.
 */
export interface StoreStats {
  readonly storeId: bigint;
  readonly regionNum: bigint;
  readonly leaderNum: bigint;
  readonly capacity: bigint;
  readonly available: bigint;
}

/**
 * A store's liveness, from the time since its last heartbeat: `disconnected`
 * after 20 s, `down` after 30 min by default (TiKV's thresholds). `unknown`
 * is what a reader makes of a value it does not know (a newer PD); PD
 * itself never reports it.
 */
export type StoreLiveness = "up" | "disconnected" | "down" | "unknown";

/** A store as PD knows it: its last heartbeat's stats, when that was, and its liveness as of now. */
export interface StoreStatus extends StoreStats {
  /** Unix time of the last heartbeat, in milliseconds. */
  readonly lastHeartbeatMs: bigint;
  readonly liveness: StoreLiveness;
}
