/**
 * The one place where `@nokv/pd-client`'s scheduler operations become the
 * adapter's {@link Operation}s: typed per kind, validated, and keyed for
 * de-duplication.
 */
import type { ExecutableOperationKind, SchedulerOperation } from "@nokv/pd-client";
import type { Operation } from "./types.js";

/**
 * The adapter operation for `op`, or `undefined` when the store must drop it.
 *
 * `capabilities` are the kinds the store executes (the set it sends). A
 * store without them (`undefined`) is what NoKV's Go stores are, and gets
 * what NoKV's Go adapter kept: a leader transfer with a non-zero region,
 * source and target peer, in exactly its original shape. A store with them
 * gets the kinds it lists: a leader transfer as above (with its operator id
 * and epoch when PD sent them), a membership change only with a non-zero
 * region, peer, target store and operator id and the region epoch it was
 * planned against. Anything else (`none`, a kind this build does not know,
 * a kind the store does not list) is dropped.
 */
export function operationFromPd(op: SchedulerOperation, capabilities?: ReadonlySet<ExecutableOperationKind>): Operation | undefined {
  if (op.kind === "none" || op.kind === "unknown") return undefined;
  if (capabilities === undefined ? op.kind !== "leader-transfer" : !capabilities.has(op.kind)) return undefined;
  if (op.regionId === 0n || op.targetPeerId === 0n) return undefined;
  if (op.kind === "leader-transfer") {
    if (op.sourcePeerId === 0n) return undefined;
    const transfer = { type: "leader-transfer" as const, regionId: op.regionId, sourcePeerId: op.sourcePeerId, targetPeerId: op.targetPeerId };
    if (capabilities === undefined) return transfer;
    return {
      ...transfer,
      ...(op.operatorId !== undefined && op.operatorId !== 0n && { operatorId: op.operatorId }),
      ...(op.regionEpoch !== undefined && { regionEpoch: op.regionEpoch }),
    };
  }
  if (op.operatorId === undefined || op.operatorId === 0n || op.regionEpoch === undefined) return undefined;
  if (op.targetStoreId === undefined || op.targetStoreId === 0n) return undefined;
  return {
    type: op.kind,
    regionId: op.regionId,
    peerId: op.targetPeerId,
    storeId: op.targetStoreId,
    operatorId: op.operatorId,
    regionEpoch: op.regionEpoch,
    leaderPeerId: op.sourcePeerId,
  };
}

/**
 * A string equal for the same operation sent again. An operation with an
 * operator id is keyed by (operator id, type, region, target peer) — what
 * PD repeats until it sees the step take effect; a leader transfer without
 * one by all of its fields, as before operator ids existed.
 */
export function operationKey(op: Operation): string {
  if (op.type === "leader-transfer") {
    return op.operatorId === undefined
      ? `${op.type}/${op.regionId}/${op.sourcePeerId}/${op.targetPeerId}`
      : `op${op.operatorId}/${op.type}/${op.regionId}/${op.targetPeerId}`;
  }
  return `op${op.operatorId}/${op.type}/${op.regionId}/${op.peerId}`;
}
