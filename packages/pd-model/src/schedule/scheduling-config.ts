/**
 * Add-peer and remove-peer operations one store may take part in per
 * minute, as TiKV's store limit: `addPeerPerMin` bounds the peers added on
 * the store, `removePeerPerMin` the peers removed from it. Positive, finite.
 */
export interface StoreLimit {
  readonly addPeerPerMin: number;
  readonly removePeerPerMin: number;
}

/** One store's limit where it differs from the default; an absent rate is the default's. */
export interface StoreLimitOverride {
  readonly storeId: bigint;
  readonly addPeerPerMin?: number;
  readonly removePeerPerMin?: number;
}

/** The schedulers and checkers PD runs, by their TiKV names. */
export type SchedulerName = "balance-leader-scheduler" | "balance-region-scheduler" | "replica-checker";

/** Every {@link SchedulerName}, in listing order. */
export const SCHEDULER_NAMES: readonly SchedulerName[] = Object.freeze([
  "balance-leader-scheduler",
  "balance-region-scheduler",
  "replica-checker",
]);

const SCHEDULER_ALIASES: Readonly<Record<string, SchedulerName>> = {
  "balance-leader": "balance-leader-scheduler",
  "balance-region": "balance-region-scheduler",
  replica: "replica-checker",
};

/**
 * The scheduler named `name`: its full name (`balance-region-scheduler`) or
 * the short form (`balance-region`, `replica`); undefined for anything else.
 */
export function resolveSchedulerName(name: string): SchedulerName | undefined {
  if ((SCHEDULER_NAMES as readonly string[]).includes(name)) return name as SchedulerName;
  return SCHEDULER_ALIASES[name];
}

/**
 * What PD schedules by, changed at run time (`pd-cli config set`, `pd-cli
 * scheduler pause`) and persisted so that it survives a restart and a
 * leader change.
 */
export interface SchedulingConfig {
  /** Voters every region should have. Default 3. */
  readonly maxReplicas: number;
  /** The limit of every store without an override. Default 15 / 15 per minute. */
  readonly defaultStoreLimit: StoreLimit;
  /** Per-store overrides, by ascending store id. */
  readonly storeLimits: readonly StoreLimitOverride[];
  /** Paused schedulers and checkers, in {@link SCHEDULER_NAMES} order. */
  readonly pausedSchedulers: readonly SchedulerName[];
}

/** A change to a {@link SchedulingConfig}: the fields given replace the current ones. */
export interface SchedulingConfigPatch {
  readonly maxReplicas?: number;
  readonly defaultStoreLimit?: StoreLimit;
  /** Sets these stores' rates; a rate of 0 removes that rate's override. */
  readonly storeLimits?: readonly StoreLimitOverride[];
  /** Pauses (true) or resumes (false) schedulers. */
  readonly paused?: ReadonlyMap<SchedulerName, boolean>;
}

/** TiKV's defaults: 3 replicas, 15 add-peer and 15 remove-peer operations per store per minute, nothing paused. */
export const DEFAULT_SCHEDULING_CONFIG: SchedulingConfig = Object.freeze({
  maxReplicas: 3,
  defaultStoreLimit: Object.freeze({ addPeerPerMin: 15, removePeerPerMin: 15 }),
  storeLimits: Object.freeze([]),
  pausedSchedulers: Object.freeze([]),
});

/** Most voters a region may be asked to have. */
export const MAX_REPLICAS_LIMIT = 15;

/**
 * Why `config` is not usable, or undefined when it is: `maxReplicas` an
 * integer in 1..{@link MAX_REPLICAS_LIMIT}, every rate positive and finite
 * (an override's may be absent), overrides on non-zero distinct stores,
 * paused names known.
 */
export function schedulingConfigProblem(config: SchedulingConfig): string | undefined {
  if (!Number.isInteger(config.maxReplicas) || config.maxReplicas < 1 || config.maxReplicas > MAX_REPLICAS_LIMIT) {
    return `max-replicas must be an integer in 1..${MAX_REPLICAS_LIMIT}, got ${config.maxReplicas}`;
  }
  const rate = (what: string, v: number | undefined, optional: boolean): string | undefined => {
    if (v === undefined && optional) return undefined;
    return typeof v === "number" && Number.isFinite(v) && v > 0 ? undefined : `${what} must be a positive number, got ${v}`;
  };
  const d = config.defaultStoreLimit;
  const bad = rate("store limit add-peer", d.addPeerPerMin, false) ?? rate("store limit remove-peer", d.removePeerPerMin, false);
  if (bad !== undefined) return bad;
  const seen = new Set<bigint>();
  for (const o of config.storeLimits) {
    if (o.storeId <= 0n) return `store limit: store id must be non-zero, got ${o.storeId}`;
    if (seen.has(o.storeId)) return `store limit: store ${o.storeId} listed twice`;
    seen.add(o.storeId);
    const b =
      rate(`store ${o.storeId} limit add-peer`, o.addPeerPerMin, true) ?? rate(`store ${o.storeId} limit remove-peer`, o.removePeerPerMin, true);
    if (b !== undefined) return b;
  }
  for (const n of config.pausedSchedulers) {
    if (!(SCHEDULER_NAMES as readonly string[]).includes(n)) return `unknown scheduler ${JSON.stringify(n)}`;
  }
  return undefined;
}

/**
 * The configuration after `patch`, or a problem. Overrides are merged per
 * rate (0 removes a rate; an override left with no rate is dropped) and kept
 * by ascending store id; paused names in {@link SCHEDULER_NAMES} order.
 */
export function applySchedulingPatch(config: SchedulingConfig, patch: SchedulingConfigPatch): { config: SchedulingConfig } | { problem: string } {
  const overrides = new Map<bigint, { addPeerPerMin?: number; removePeerPerMin?: number }>();
  for (const o of config.storeLimits) overrides.set(o.storeId, { ...o });
  for (const o of patch.storeLimits ?? []) {
    const cur = { ...overrides.get(o.storeId) };
    for (const key of ["addPeerPerMin", "removePeerPerMin"] as const) {
      const v = o[key];
      if (v === undefined) continue;
      if (v === 0) delete cur[key];
      else cur[key] = v;
    }
    if (cur.addPeerPerMin === undefined && cur.removePeerPerMin === undefined) overrides.delete(o.storeId);
    else overrides.set(o.storeId, cur);
  }
  const paused = new Set<SchedulerName>(config.pausedSchedulers);
  for (const [name, p] of patch.paused ?? []) {
    if (p) paused.add(name);
    else paused.delete(name);
  }
  const next: SchedulingConfig = {
    maxReplicas: patch.maxReplicas ?? config.maxReplicas,
    defaultStoreLimit: patch.defaultStoreLimit ?? config.defaultStoreLimit,
    storeLimits: [...overrides.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([storeId, o]) => ({ storeId, ...o })),
    pausedSchedulers: SCHEDULER_NAMES.filter((n) => paused.has(n)),
  };
  const problem = schedulingConfigProblem(next);
  return problem === undefined ? { config: next } : { problem };
}

/** The limit in force for `storeId`: its override's rates, else the default's. */
export function storeLimitOf(config: SchedulingConfig, storeId: bigint): StoreLimit {
  const o = config.storeLimits.find((x) => x.storeId === storeId);
  return {
    addPeerPerMin: o?.addPeerPerMin ?? config.defaultStoreLimit.addPeerPerMin,
    removePeerPerMin: o?.removePeerPerMin ?? config.defaultStoreLimit.removePeerPerMin,
  };
}
