import type { RegionEpoch } from "../region/region.js";

/**
 * Where an operator is in its life: `created` (planned, no step sent yet),
 * `running` (a step was sent), then one end state: `success` (every step
 * took effect), `timeout` (a step did not in time), `cancelled` (the region
 * changed under it, a store it needs went away, or an admin asked),
 * `replaced` (by an operator of higher priority on the same region).
 * `unknown` is what a reader makes of a state it does not know.
 */
export type OperatorState = "created" | "running" | "success" | "timeout" | "cancelled" | "replaced" | "unknown";

/** Why an operator was planned; also its metrics label. */
export type OperatorKind =
  | "balance-leader"
  | "balance-region"
  | "replace-down-replica"
  | "make-up-replica"
  | "remove-extra-replica"
  | "promote-learner"
  | "remove-learner";

/** Every {@link OperatorKind}. */
export const OPERATOR_KINDS: readonly OperatorKind[] = Object.freeze([
  "balance-leader",
  "balance-region",
  "replace-down-replica",
  "make-up-replica",
  "remove-extra-replica",
  "promote-learner",
  "remove-learner",
]);

/** An operator as PD reports it (`pd-cli operators`, `/pd/api/v1/operators`). */
export interface OperatorInfo {
  readonly id: bigint;
  readonly regionId: bigint;
  /** An {@link OperatorKind}, as a string (a newer PD may have more). */
  readonly kind: string;
  /** `high` for replica repair, `normal` for balance. */
  readonly priority: string;
  readonly state: OperatorState;
  /** Human-readable steps, e.g. `add learner 42 on store 4`. */
  readonly steps: readonly string[];
  /** Index of the step in progress (= number of steps done). */
  readonly currentStep: number;
  /** The region epoch it was planned against. */
  readonly regionEpoch: RegionEpoch;
  /** Unix time of creation, in ms. */
  readonly createdAtMs: bigint;
  /** Milliseconds from creation to now (in flight) or to its end. */
  readonly ageMs: bigint;
  /** Why it ended when it did not succeed; empty otherwise. */
  readonly reason: string;
}

/** The end states of an operator: it will not change again. */
export const OPERATOR_END_STATES: readonly OperatorState[] = Object.freeze(["success", "timeout", "cancelled", "replaced"]);

/** Whether `state` is an end state ({@link OPERATOR_END_STATES}). */
export function isOperatorEnded(state: OperatorState): boolean {
  return OPERATOR_END_STATES.includes(state);
}

/**
 * When an ended operator ended, in Unix ms (its creation time plus its age,
 * which stops at its end); undefined while it is in flight.
 */
export function operatorFinishedAtMs(op: Pick<OperatorInfo, "state" | "createdAtMs" | "ageMs">): bigint | undefined {
  return isOperatorEnded(op.state) ? op.createdAtMs + op.ageMs : undefined;
}

/** A scheduler or checker and whether it is paused. */
export interface SchedulerInfo {
  readonly name: string;
  readonly paused: boolean;
}
