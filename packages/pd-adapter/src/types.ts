/**
 * Store-side types of `@nokv/pd-adapter`. Region and store stats come from
 * `@nokv/pd-client`; operations are the adapter's own: typed per kind and
 * already validated, so a store acts on them without looking at the wire.
 */
import type { RegionEpoch } from "@nokv/pd-client";

/**
 * Move the leadership of `regionId` from peer `sourcePeerId` to peer
 * `targetPeerId`. Every id is non-zero: the adapter drops anything else.
 *
 * A store without capabilities gets exactly the transfers it always got
 * (`type`, `regionId`, `sourcePeerId`, `targetPeerId`, nothing more). A
 * store with capabilities also gets the operator id and the region epoch
 * the step was planned against: refuse the transfer when the region's
 * epoch differs (and call `forgetOperation`, so that PD's repeat is
 * delivered once the store can act on it).
 */
export interface LeaderTransfer {
  readonly type: "leader-transfer";
  readonly regionId: bigint;
  readonly sourcePeerId: bigint;
  readonly targetPeerId: bigint;
  /** The PD operator this step belongs to (stores with capabilities only). */
  readonly operatorId?: bigint;
  /** The region epoch the step was planned against (stores with capabilities only). */
  readonly regionEpoch?: RegionEpoch;
}

/**
 * What every membership change carries. Only a store that lists the kind in
 * its capabilities is sent one, and only as the region's leader (it
 * proposes the change). Every id is non-zero.
 */
export interface MembershipChangeFields {
  readonly regionId: bigint;
  /** The peer added (its id allocated by PD), promoted or removed. */
  readonly peerId: bigint;
  /** The store of `peerId`. */
  readonly storeId: bigint;
  /** The PD operator (a multi-step plan for one region) this step belongs to. */
  readonly operatorId: bigint;
  /**
   * The region epoch the step was planned against. A store whose region has
   * another `version` or `confVersion` must refuse the step: PD planned it
   * for another state of the region (it re-plans from the next heartbeat).
   */
  readonly regionEpoch: RegionEpoch;
  /** The leader peer PD expects to propose the change (informational). */
  readonly leaderPeerId: bigint;
}

/** Add `peerId` on `storeId` as a voter. */
export interface AddPeer extends MembershipChangeFields {
  readonly type: "add-peer";
}

/** Add `peerId` on `storeId` as a learner: it receives the data but does not vote until promoted. */
export interface AddLearner extends MembershipChangeFields {
  readonly type: "add-learner";
}

/** Make learner `peerId` (on `storeId`) a voter. */
export interface PromoteLearner extends MembershipChangeFields {
  readonly type: "promote-learner";
}

/** Remove peer `peerId` (on `storeId`) from the region. */
export interface RemovePeer extends MembershipChangeFields {
  readonly type: "remove-peer";
}

/** A change of a region's membership (a raft conf change the leader proposes). */
export type MembershipChange = AddPeer | AddLearner | PromoteLearner | RemovePeer;

/** An operation PD asked this store to carry out, discriminated by `type`. */
export type Operation = LeaderTransfer | MembershipChange;

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
  /**
   * Operations not queued because an identical one was already waiting, or
   * (operations with an operator id) had already been delivered by `plan()`:
   * PD sends a step again until it sees it take effect.
   */
  readonly deduplicated: number;
  /** Operations PD sent that were unknown, malformed or of a kind this store does not list, and dropped. */
  readonly invalid: number;
  /** Calls that failed and went to `onError`. */
  readonly errors: number;
}
