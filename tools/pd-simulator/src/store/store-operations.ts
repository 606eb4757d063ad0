import type { ExecutableOperationKind, RegionEpoch, SchedulerOperation } from "@nokv/pd-model";

// The store side of PD's operations: what a store that executes them needs
// between pd-client's answer and its raft group. Typed (one variant per
// kind), validated (non-zero ids, the fields each kind needs, only kinds
// the store listed), deduplicated (PD sends a step again until it sees it
// take effect). Written for the simulator's stores; meant to move into
// `@nokv/pd-adapter` as its operation layer once pd-client carries
// capabilities and heartbeat extras.

/** Hand the region's leadership from `sourcePeerId` to `targetPeerId`. */
export interface TransferLeaderOperation {
  readonly type: "leader-transfer";
  readonly regionId: bigint;
  readonly sourcePeerId: bigint;
  readonly targetPeerId: bigint;
  /** Absent for stores without capabilities (PD's original transfers). */
  readonly operatorId?: bigint;
  readonly epoch?: RegionEpoch;
}

/** A membership change, proposed by the region's leader. */
export interface ConfChangeOperation {
  readonly type: "add-learner" | "add-peer" | "promote-learner" | "remove-peer";
  readonly regionId: bigint;
  /** The peer added (its id allocated by PD), promoted or removed. */
  readonly peerId: bigint;
  /** The store of `peerId`. */
  readonly storeId: bigint;
  readonly operatorId: bigint;
  /** The epoch the step was planned against: refuse it when the region's differs. */
  readonly epoch: RegionEpoch;
}

/** An operation a store carries out. */
export type StoreOperation = TransferLeaderOperation | ConfChangeOperation;

/**
 * The store operation for PD's `op`, or undefined when the store must drop
 * it: a kind it does not execute (`kinds`; undefined means a store without
 * capabilities, which executes leader transfers only), a zero id, or a
 * membership change without operator id, epoch or target store.
 */
export function toStoreOperation(op: SchedulerOperation, kinds: ReadonlySet<ExecutableOperationKind> | undefined): StoreOperation | undefined {
  if (op.kind === "none" || op.kind === "unknown") return undefined;
  if (kinds === undefined ? op.kind !== "leader-transfer" : !kinds.has(op.kind)) return undefined;
  if (op.regionId === 0n || op.targetPeerId === 0n) return undefined;
  if (op.kind === "leader-transfer") {
    if (op.sourcePeerId === 0n) return undefined;
    return {
      type: "leader-transfer",
      regionId: op.regionId,
      sourcePeerId: op.sourcePeerId,
      targetPeerId: op.targetPeerId,
      ...(op.operatorId !== undefined && { operatorId: op.operatorId }),
      ...(op.regionEpoch !== undefined && { epoch: op.regionEpoch }),
    };
  }
  if (op.operatorId === undefined || op.operatorId === 0n || op.regionEpoch === undefined) return undefined;
  if (op.targetStoreId === undefined || op.targetStoreId === 0n) return undefined;
  return { type: op.kind, regionId: op.regionId, peerId: op.targetPeerId, storeId: op.targetStoreId, operatorId: op.operatorId, epoch: op.regionEpoch };
}

/** A string equal for the same step sent again. */
export function operationKey(op: StoreOperation): string {
  const target = op.type === "leader-transfer" ? op.targetPeerId : op.peerId;
  return `${op.operatorId ?? 0n}/${op.type}/${op.regionId}/${target}`;
}

/**
 * Remembers the steps a store has taken on, so that one PD sends again (it
 * does until it sees the step take effect) is carried out once. Bounded:
 * the oldest keys are forgotten first.
 */
export class OperationDedup {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  /** True the first time `op` is seen (take it on), false for a repeat. */
  admit(op: StoreOperation): boolean {
    const key = operationKey(op);
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.values().next().value!);
    return true;
  }

  /** Forgets a step (it was refused or failed, so a repeat must be taken on). */
  forget(op: StoreOperation): void {
    this.#seen.delete(operationKey(op));
  }
}
