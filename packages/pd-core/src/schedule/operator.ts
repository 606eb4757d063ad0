import type { OperatorInfo, OperatorKind, OperatorState, RegionEpoch } from "@nokv/pd-model";
import { describeStep, isConfChange, isConfChangeApplied, type OperatorStep } from "./operator-step.js";
import type { RegionStats } from "./region-stats.js";

/** `high` for replica repair, `normal` for balance: a higher-priority operator replaces a lower one on its region. */
export type OperatorPriority = "high" | "normal";

const PRIORITY_RANK: Readonly<Record<OperatorPriority, number>> = { normal: 0, high: 1 };

/** Whether an operator of priority `a` may replace one of priority `b`. */
export function outranks(a: OperatorPriority, b: OperatorPriority): boolean {
  return PRIORITY_RANK[a] > PRIORITY_RANK[b];
}

/** What a checker or scheduler plans: the steps, why, and how urgent. */
export interface OperatorPlan {
  readonly kind: OperatorKind;
  readonly priority: OperatorPriority;
  readonly steps: readonly OperatorStep[];
}

/**
 * A multi-step plan for one region (TiKV's operator), e.g. move a peer: add
 * a learner on the target, promote it, hand the leadership away if the
 * source leads, remove the source peer. The {@link OperatorController} owns
 * its state; this class holds it and renders it for inspection.
 *
 * `legacy` marks a leader transfer planned for a store without
 * capabilities: it follows exactly the rules PD had before operators (sent
 * once, finished when the stores' leader counts move, cancelled on any
 * epoch change) so that such a store sees today's behaviour.
 */
export class Operator {
  readonly id: bigint;
  readonly regionId: bigint;
  readonly kind: OperatorKind;
  readonly priority: OperatorPriority;
  readonly steps: readonly OperatorStep[];
  /** The region's epoch when it was planned. */
  readonly epoch: RegionEpoch;
  /** The region's scheduling weight when it was planned (MiB, at least 1). */
  readonly weight: number;
  readonly legacy: boolean;
  /** Wall-clock ms of creation, for people. */
  readonly createdAtMs: number;
  /** Monotonic ms of creation. */
  readonly createdMonoMs: number;
  /** @internal index of the step in progress (= steps done). */
  current = 0;
  /** @internal */
  state: OperatorState = "created";
  /** @internal monotonic ms the current step became current. */
  stepStartedMonoMs: number;
  /** @internal the step last sent, and when. */
  sentStep = -1;
  lastSentMonoMs = 0;
  /** @internal monotonic ms it ended. */
  endedMonoMs: number | undefined;
  /** @internal why it ended, when not a success. */
  reason = "";
  /** @internal the store the current step is sent to (the region's leader). */
  executorStoreId: bigint | undefined;

  constructor(init: {
    id: bigint;
    regionId: bigint;
    plan: OperatorPlan;
    epoch: RegionEpoch;
    weight: number;
    legacy: boolean;
    createdAtMs: number;
    createdMonoMs: number;
  }) {
    this.id = init.id;
    this.regionId = init.regionId;
    this.kind = init.plan.kind;
    this.priority = init.plan.priority;
    this.steps = init.plan.steps;
    this.epoch = init.epoch;
    this.weight = init.weight;
    this.legacy = init.legacy;
    this.createdAtMs = init.createdAtMs;
    this.createdMonoMs = init.createdMonoMs;
    this.stepStartedMonoMs = init.createdMonoMs;
  }

  /** The step in progress, or undefined once every step is done. */
  get currentStep(): OperatorStep | undefined {
    return this.steps[this.current];
  }

  /** Whether it has reached an end state. */
  get ended(): boolean {
    return this.endedMonoMs !== undefined;
  }

  /**
   * Membership changes it made, as the region shows them: its finished
   * steps, and the current one if its change is already visible (an added
   * peer still catching up). Each moved the conf version by one.
   */
  confChangesDone(stats?: RegionStats): number {
    let n = 0;
    for (let i = 0; i < this.current; i++) if (isConfChange(this.steps[i]!)) n++;
    const cur = this.currentStep;
    if (cur !== undefined && stats !== undefined && isConfChangeApplied(cur, stats)) n++;
    return n;
  }

  /** The operator for people (`pd-cli operators`), its age measured at `nowMonoMs` (or its end). */
  info(nowMonoMs: number): OperatorInfo {
    const until = this.endedMonoMs ?? nowMonoMs;
    return {
      id: this.id,
      regionId: this.regionId,
      kind: this.kind,
      priority: this.priority,
      state: this.state,
      steps: this.steps.map(describeStep),
      currentStep: this.current,
      regionEpoch: this.epoch,
      createdAtMs: BigInt(Math.max(0, Math.trunc(this.createdAtMs))),
      ageMs: BigInt(Math.max(0, Math.round(until - this.createdMonoMs))),
      reason: this.reason,
    };
  }
}
