import type { RegionEpoch } from "../region/region.js";

/**
 * The kind of an operation PD asks a store to carry out. `unknown` is what a
 * reader makes of a kind it does not know (a newer PD): ignore such operations.
 *
 * - `leader-transfer`: hand the leadership of the region from `sourcePeerId`
 *   to `targetPeerId`. The only kind a store without capabilities is sent.
 * - `add-peer`: add `targetPeerId` (allocated by PD) on `targetStoreId` as a voter.
 * - `add-learner`: add `targetPeerId` on `targetStoreId` as a learner.
 * - `promote-learner`: make learner `targetPeerId` a voter.
 * - `remove-peer`: remove `targetPeerId` from the region.
 */
export type SchedulerOperationKind =
  | "none"
  | "leader-transfer"
  | "add-peer"
  | "add-learner"
  | "promote-learner"
  | "remove-peer"
  | "unknown";

/** The kinds a store can execute and list as its capabilities. */
export type ExecutableOperationKind = Exclude<SchedulerOperationKind, "none" | "unknown">;

/** Every {@link ExecutableOperationKind}, in wire order. */
export const EXECUTABLE_OPERATION_KINDS: readonly ExecutableOperationKind[] = Object.freeze([
  "leader-transfer",
  "add-peer",
  "add-learner",
  "promote-learner",
  "remove-peer",
]);

/**
 * An operation PD asks a store to carry out, sent on the store's heartbeat
 * response.
 *
 * `operatorId`, `regionEpoch` and `targetStoreId` are set on every operation
 * sent to a store that lists capabilities, and never on one sent to a store
 * without them (NoKV's Go stores receive exactly today's leader transfers).
 * A store must refuse an operation whose `regionEpoch` differs from its
 * region's: it was planned against another state of the region.
 */
export interface SchedulerOperation {
  readonly kind: SchedulerOperationKind;
  readonly regionId: bigint;
  /** `leader-transfer`: the leader's peer. Other kinds: the leader peer PD expects to propose the change. */
  readonly sourcePeerId: bigint;
  /** `leader-transfer`: the new leader. Other kinds: the peer added, promoted or removed. */
  readonly targetPeerId: bigint;
  /** The PD operator (a multi-step plan for one region) this step belongs to. */
  readonly operatorId?: bigint;
  /** The region epoch the step was planned against. */
  readonly regionEpoch?: RegionEpoch;
  /** The store of `targetPeerId`. */
  readonly targetStoreId?: bigint;
}
