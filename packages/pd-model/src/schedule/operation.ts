/**
 * The kind of an operation PD asks a store to carry out. `unknown` is what a
 * reader makes of a kind it does not know (a newer PD): ignore such operations.
 */
export type SchedulerOperationKind = "none" | "leader-transfer" | "unknown";

/** An operation PD asks a store to carry out, sent on the store's heartbeat response. */
export interface SchedulerOperation {
  readonly kind: SchedulerOperationKind;
  readonly regionId: bigint;
  readonly sourcePeerId: bigint;
  readonly targetPeerId: bigint;
}
