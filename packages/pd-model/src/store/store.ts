import type { ExecutableOperationKind } from "../schedule/operation.js";

/**
 * What a store reports in a heartbeat. `capacity` and `available` are bytes.
 * The optional fields were added after NoKV's original contract: undefined
 * means the store did not say (NoKV's Go stores never do).
 */
export interface StoreStats {
  readonly storeId: bigint;
  readonly regionNum: bigint;
  readonly leaderNum: bigint;
  readonly capacity: bigint;
  readonly available: bigint;
  /** Bytes the store's data takes; unknown: PD uses `capacity - available`. */
  readonly usedSize?: bigint;
  /** Bytes written to the store since its previous heartbeat. */
  readonly bytesWritten?: bigint;
  /** Keys written to the store since its previous heartbeat. */
  readonly keysWritten?: bigint;
}

/**
 * A store heartbeat: its stats and the operation kinds it executes. A store
 * that leaves `capabilities` undefined (every NoKV Go store) is only ever
 * sent leader transfers, exactly as before capabilities existed; one that
 * gives them is sent the listed kinds only (none for an empty list).
 */
export interface StoreHeartbeat extends StoreStats {
  readonly capabilities?: readonly ExecutableOperationKind[];
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
