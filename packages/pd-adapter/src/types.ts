/**
 * Store-side types of `@nokv/pd-adapter`. Region and store stats come from
 * `@nokv/pd-client`; operations are the adapter's own, already validated.
 */

/**
 * Move the leadership of `regionId` from peer `sourcePeerId` to peer
 * `targetPeerId`. Every id is non-zero: the adapter drops anything else.
 */
export interface LeaderTransfer {
  readonly type: "leader-transfer";
  readonly regionId: bigint;
  readonly sourcePeerId: bigint;
  readonly targetPeerId: bigint;
}

/** An operation PD asked this store to carry out (today only leader transfers). */
export type Operation = LeaderTransfer;

/** The PD call an adapter error comes from, as passed to `onError`. */
export type PdAdapterCall = "StoreHeartbeat" | "RegionHeartbeat" | "RemoveRegion";

/** Counters of one adapter since it was created (local metrics, plain numbers). */
export interface PdAdapterStats {
  /** Operations waiting for the next `plan()`. */
  readonly queued: number;
  /** Operations ever queued. */
  readonly enqueued: number;
  /** Queued operations dropped (oldest first) because the queue was full. */
  readonly dropped: number;
  /** Operations not queued because an identical one was already waiting. */
  readonly deduplicated: number;
  /** Operations PD sent that were unknown or malformed, and dropped. */
  readonly invalid: number;
  /** Calls that failed and went to `onError`. */
  readonly errors: number;
}
