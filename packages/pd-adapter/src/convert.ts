/**
 * The one place where `@nokv/pd-client`'s scheduler operations become the
 * adapter's {@link Operation}s. Validation follows NoKV's Go adapter: only a
 * leader transfer with a non-zero region, source and target peer survives.
 */
import type { SchedulerOperation } from "@nokv/pd-client";
import type { Operation } from "./types.js";

/** The adapter operation for `op`, or `undefined` when it is unknown or malformed. */
export function operationFromPd(op: SchedulerOperation): Operation | undefined {
  if (op.kind !== "leader-transfer") return undefined;
  if (op.regionId === 0n || op.sourcePeerId === 0n || op.targetPeerId === 0n) return undefined;
  return {
    type: "leader-transfer",
    regionId: op.regionId,
    sourcePeerId: op.sourcePeerId,
    targetPeerId: op.targetPeerId,
  };
}

/** A string that is equal for identical operations, for de-duplication. */
export function operationKey(op: Operation): string {
  return `${op.type}/${op.regionId}/${op.sourcePeerId}/${op.targetPeerId}`;
}
