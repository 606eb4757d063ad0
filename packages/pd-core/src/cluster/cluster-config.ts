import { DEFAULT_ID_WINDOW, DEFAULT_MAX_ID_COUNT } from "../alloc/id-allocator.js";
import { DEFAULT_MAX_TSO_COUNT, DEFAULT_TSO_WINDOW_MS } from "../alloc/tso-allocator.js";
import { checkSchedulePolicy, DEFAULT_SCHEDULE_POLICY, type SchedulePolicy } from "../schedule/scheduling-context.js";
import { checkSchedulingLimits, DEFAULT_SCHEDULING_LIMITS, type SchedulingLimits } from "../schedule/scheduling.js";
import { DEFAULT_LIVENESS_THRESHOLDS, type LivenessThresholds, checkLivenessThresholds } from "../store/liveness.js";
import { MAX_UINT64 } from "@nokv/pd-model";

/**
 * The cluster model's configuration, complete: every default filled in and
 * every value checked, by {@link resolveClusterConfig}. Resolving a complete
 * configuration returns an equal one.
 */
export interface ClusterConfig {
  /** `--id-start`: lowest id to hand out. */
  readonly idStart: bigint;
  /** `--ts-start`: lowest timestamp to hand out. */
  readonly tsStart: bigint;
  /** Physical time the TSO ceiling runs ahead, in ms. */
  readonly tsoWindowMs: number;
  /** Ids reserved per ceiling write. */
  readonly idWindow: bigint;
  /** Most ids one `allocId` call may take. */
  readonly maxIdCount: bigint;
  /** Most timestamps one `allocTimestamps` call may take. */
  readonly maxTsoCount: bigint;
  /** When silent stores count as disconnected / down. */
  readonly liveness: LivenessThresholds;
  /**
   * Bounds of operators in flight and their step timeouts: leader transfers
   * (`transferTimeoutMs`, `maxInFlightPerStore`: PD's original limits) and
   * the membership-change steps (TiKV's timeouts).
   */
  readonly operators: SchedulingLimits;
  /** Batch sizes and thresholds of the checkers and schedulers (start-up tunables, not persisted). */
  readonly schedulePolicy: SchedulePolicy;
}

/**
 * The configuration as a caller gives it: any subset, nested groups in part.
 * A field that is absent or `undefined` takes its default, so callers pass
 * what they have (`idStart: flags.idStart`) without spreading conditionally.
 */
export interface ClusterConfigOptions {
  /** Default 1. */
  readonly idStart?: bigint | undefined;
  /** Default 1. */
  readonly tsStart?: bigint | undefined;
  /** Default 3000. */
  readonly tsoWindowMs?: number | undefined;
  /** Default 1000. */
  readonly idWindow?: bigint | undefined;
  /** Default 2^20. */
  readonly maxIdCount?: bigint | undefined;
  /** Default 2^18. */
  readonly maxTsoCount?: bigint | undefined;
  /** Default 20 s / 30 min (TiKV's). */
  readonly liveness?: Partial<LivenessThresholds> | undefined;
  /** Default {@link DEFAULT_SCHEDULING_LIMITS}: leader transfers 30 s and 4 per store, TiKV's step timeouts. */
  readonly operators?: { readonly [K in keyof SchedulingLimits]?: SchedulingLimits[K] | undefined } | undefined;
  /** Default {@link DEFAULT_SCHEDULE_POLICY}. */
  readonly schedulePolicy?: { readonly [K in keyof SchedulePolicy]?: SchedulePolicy[K] | undefined } | undefined;
}

/** Every default of the cluster model, in one place. */
export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = Object.freeze({
  idStart: 1n,
  tsStart: 1n,
  tsoWindowMs: DEFAULT_TSO_WINDOW_MS,
  idWindow: DEFAULT_ID_WINDOW,
  maxIdCount: DEFAULT_MAX_ID_COUNT,
  maxTsoCount: DEFAULT_MAX_TSO_COUNT,
  liveness: DEFAULT_LIVENESS_THRESHOLDS,
  operators: DEFAULT_SCHEDULING_LIMITS,
  schedulePolicy: DEFAULT_SCHEDULE_POLICY,
});

function checkUint64(name: string, v: bigint, min: bigint): bigint {
  if (typeof v !== "bigint" || v < min || v > MAX_UINT64) {
    throw new RangeError(`cluster: ${name} must be an integer in [${min}, 2^64-1], got ${String(v)}`);
  }
  return v;
}

/** `defaults` with every field of `given` that is not undefined. */
function withDefaults<T extends object>(defaults: T, given: { readonly [K in keyof T]?: T[K] | undefined } | undefined): T {
  const out = { ...defaults };
  for (const key of Object.keys(defaults) as Array<keyof T>) {
    const v = given?.[key];
    if (v !== undefined) out[key] = v as T[keyof T];
  }
  return out;
}

/**
 * Fills in the defaults of `options` and checks the result.
 *
 * @throws RangeError naming the first bad value: a start or count that is
 *   not a uint64 (counts and the id window at least 1), a TSO window that is
 *   not a positive whole number of ms, liveness thresholds out of order,
 *   operator limits that are not positive, a schedule policy out of range.
 */
export function resolveClusterConfig(options: ClusterConfigOptions = {}): ClusterConfig {
  const d = DEFAULT_CLUSTER_CONFIG;
  const tsoWindowMs = options.tsoWindowMs ?? d.tsoWindowMs;
  if (!Number.isSafeInteger(tsoWindowMs) || tsoWindowMs <= 0) {
    throw new RangeError(`cluster: tsoWindowMs must be a positive whole number of ms, got ${tsoWindowMs}`);
  }
  return {
    idStart: checkUint64("idStart", options.idStart ?? d.idStart, 0n),
    tsStart: checkUint64("tsStart", options.tsStart ?? d.tsStart, 0n),
    tsoWindowMs,
    idWindow: checkUint64("idWindow", options.idWindow ?? d.idWindow, 1n),
    maxIdCount: checkUint64("maxIdCount", options.maxIdCount ?? d.maxIdCount, 1n),
    maxTsoCount: checkUint64("maxTsoCount", options.maxTsoCount ?? d.maxTsoCount, 1n),
    liveness: checkLivenessThresholds({
      disconnectedAfterMs: options.liveness?.disconnectedAfterMs ?? d.liveness.disconnectedAfterMs,
      downAfterMs: options.liveness?.downAfterMs ?? d.liveness.downAfterMs,
    }),
    operators: checkSchedulingLimits(withDefaults(d.operators, options.operators)),
    schedulePolicy: checkSchedulePolicy(withDefaults(d.schedulePolicy, options.schedulePolicy)),
  };
}
