import { createPdAdapter, type PdAdapterCall } from "@nokv/pd-adapter";
import { createPdClient, type PdClient, type SchedulingConfigChange } from "@nokv/pd-client";
import { type Cluster, stepTimeoutMs } from "@nokv/pd-core";
import type { OperatorKind } from "@nokv/pd-model";
import { type SimClock, virtualClock, wallClock } from "./engine/clock.js";
import type { Random } from "./engine/random.js";
import { SimCluster, type SimClusterOptions, type Violation } from "./cluster/sim-cluster.js";
import { type PdSettings, type PdTarget, startInProcessPd, startPdProcess } from "./pd/pd-target.js";

/** Size and seed of a run. */
export interface CaseParams {
  readonly stores: number;
  readonly regions: number;
  readonly seed: number;
  /** Overrides the case's time limit (simulated ms). */
  readonly timeLimitMs?: number;
}

/** Something that happens to the cluster at a given time. */
export interface CaseEvent {
  readonly atMs: number;
  readonly label: string;
  readonly run: (sim: SimCluster) => void;
}

/** What a case asks of the run: the cluster, PD, the script, and when it has succeeded. */
export interface CasePlan {
  readonly cluster: Partial<SimClusterOptions>;
  readonly pd: PdSettings;
  /** Where PD runs: the server library on virtual time, or `pd-cli pd` on the wall clock. */
  readonly mode: "in-process" | "process";
  /** Scheduling config set before the run (store limits), through pd-client. */
  readonly config?: SchedulingConfigChange;
  readonly tickMs: number;
  readonly timeLimitMs: number;
  readonly events: readonly CaseEvent[];
  /** Writes: every `everyMs`, `count` writes of `bytes`, at key positions from `pick`. */
  readonly writes?: { readonly everyMs: number; readonly untilMs: number; readonly count: number; readonly bytes: bigint; readonly pick: (r: Random) => number };
  /** Holds once the case has succeeded; checked every `checkMs` after the last event. */
  readonly predicate: (sim: SimCluster, pd: PdState) => boolean;
  /** Extra measurements for the report, from the finished run. */
  readonly goals?: (run: FinishedRun) => Record<string, number | string | boolean>;
}

/** PD's state as the runner sees it (in process: the model; a process: its RPCs). */
export interface PdState {
  readonly operatorsInFlight: number;
}

/** A case of the simulator. */
export interface SimCase {
  readonly name: string;
  readonly description: string;
  /** The size `pd-sim run` uses without `--stores` / `--regions`. */
  readonly defaults: { readonly stores: number; readonly regions: number };
  /** The size `npm test` runs. */
  readonly small: { readonly stores: number; readonly regions: number };
  plan(p: CaseParams): CasePlan;
}

/** One sample of the cluster over time. */
export interface Sample {
  readonly atMs: number;
  readonly regionCounts: Readonly<Record<string, number>>;
  readonly leaderCounts: Readonly<Record<string, number>>;
  /** Regions with fewer caught-up voters on live stores than max-replicas (ground truth). */
  readonly underReplicated: number;
  /** PD's own gauge, when PD runs in process. */
  readonly pdUnderReplicated: number | undefined;
  readonly operatorsInFlight: number;
}

/** What a run produced, before the report. */
export interface FinishedRun {
  readonly name: string;
  readonly params: CaseParams;
  readonly mode: "in-process" | "process";
  readonly predicateHeld: boolean;
  /** Simulated ms from the start to when the predicate first held (undefined: never). */
  readonly convergedAtMs: number | undefined;
  readonly simulatedMs: number;
  readonly wallMs: number;
  readonly events: ReadonlyArray<{ readonly atMs: number; readonly label: string }>;
  readonly operators: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly violations: readonly Violation[];
  readonly raced: number;
  readonly samples: readonly Sample[];
  readonly sim: SimCluster;
  readonly plan: CasePlan;
  readonly cost: { readonly storeHeartbeats: number; readonly meanMs: number; readonly maxMs: number } | undefined;
  readonly storeLimitHits: Readonly<Record<string, number>> | undefined;
}

const toRecord = (m: Map<bigint, number>) => Object.fromEntries([...m].map(([k, v]) => [k.toString(), v]));

function defaults(p: CaseParams, c: Partial<SimClusterOptions>): SimClusterOptions {
  return {
    stores: p.stores,
    regions: p.regions,
    replicas: 3,
    regionSizeBytes: 96n << 20n,
    sizeJitter: 0,
    capacityBytes: 4n << 40n,
    capabilities: ["leader-transfer", "add-peer", "add-learner", "promote-learner", "remove-peer"],
    storeHeartbeatMs: 10_000,
    regionHeartbeatMs: 0,
    electionMs: 10_000,
    opDelayMs: 500,
    catchUpBaseMs: 1_000,
    snapshotBytesPerMs: 50 * 1024 * 1024 / 1000,
    splitSizeBytes: 0n,
    placeOn: p.stores,
    leaders: "spread",
    seed: p.seed,
    ...c,
  };
}

/** Operators by kind and event, from PD's counters (in process) or its history (a process). */
async function operatorCounts(target: PdTarget, client: PdClient): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  const bump = (kind: string, event: string, n: number) => {
    out[kind] ??= {};
    out[kind][event] = (out[kind][event] ?? 0) + n;
  };
  if (target.cluster !== undefined) {
    for (const [kind, event, n] of target.cluster.scheduling.operators.counters()) bump(kind, event, n);
    return out;
  }
  for (const op of await client.listOperators({ history: true })) {
    bump(op.kind, "create", 1);
    bump(op.kind, op.state === "cancelled" ? "cancelled" : op.state, 1);
  }
  for (const op of await client.listOperators()) bump(op.kind, "create", 1);
  return out;
}

/** Checks that no operator in flight is older than the sum of its step timeouts (plus a heartbeat of slack). */
function checkOperatorsEnd(cluster: Cluster, sim: SimCluster): void {
  const now = sim.now;
  for (const op of cluster.scheduling.operators.list()) {
    const bound = op.steps.reduce((t, s) => t + stepTimeoutMs(s, op.weight, cluster.scheduling.limits), 0) + 30_000;
    const age = now - op.createdMonoMs;
    if (age > bound) sim.violation("operator-did-not-end", `operator ${op.id} (${op.kind}) on region ${op.regionId} is ${age} ms old, its steps allow ${bound}`);
  }
}

/**
 * Runs one case: starts PD (in process on virtual time, or `pd-cli pd` on
 * the wall clock), builds the cluster, plays the script, and stops once the
 * predicate holds (after the last event) or the time limit passes.
 */
export async function runCase(c: SimCase, params: CaseParams): Promise<FinishedRun> {
  const planned = c.plan(params);
  const plan: CasePlan = params.timeLimitMs === undefined ? planned : { ...planned, timeLimitMs: params.timeLimitMs };
  const clock: SimClock = plan.mode === "in-process" ? virtualClock() : wallClock();
  const wallStart = performance.now();
  const target = plan.mode === "in-process" ? await startInProcessPd(clock, plan.pd) : await startPdProcess(plan.pd);
  // One client, one adapter per simulated store over it: what a TypeScript store would run.
  const client = createPdClient({ addr: target.addr, timeoutMs: 10_000, routeCache: false, tsoBatching: false });
  // A failed PD call fails the run: the adapter reports instead of rejecting.
  const failures: Array<{ call: PdAdapterCall; err: unknown }> = [];
  const checkCalls = (): void => {
    const f = failures[0];
    if (f !== undefined) throw new Error(`pd-sim: ${f.call} failed: ${f.err instanceof Error ? f.err.message : String(f.err)}`, { cause: f.err });
  };
  let inFlight: { regionId: bigint; id: bigint }[] = [];
  const cluster = () => target.cluster;
  const link = {
    allocIds: async (count: bigint) => (await client.allocId(count)).firstId,
    createAdapter: (capabilities: SimClusterOptions["capabilities"]) =>
      createPdAdapter({
        client,
        ...(capabilities !== undefined && { capabilities }),
        // Each step is delivered once per heartbeat's answer; a large cluster's answers are bounded by the store limits.
        maxQueuedOperations: 1 << 16,
        onError: (call, err) => void failures.push({ call, err }),
      }),
  };
  const sim: SimCluster = new SimCluster(defaults(params, plan.cluster), link, {
    storeUp: (id): boolean => {
      const cl = cluster();
      if (cl !== undefined) return cl.storeLiveness(id) === "up";
      const s = sim.stores.get(id);
      return s !== undefined && sim.now - s.lastHeartbeatMs < plan.pd.disconnectedAfterMs;
    },
    operatorInFlight: (regionId, id) => {
      const cl = cluster();
      if (cl !== undefined) return cl.scheduling.operators.get(regionId)?.id === id;
      return inFlight.some((o) => o.regionId === regionId && o.id === id);
    },
  });
  const samples: Sample[] = [];
  const events = [...plan.events].sort((a, b) => a.atMs - b.atMs);
  const happened: Array<{ atMs: number; label: string }> = [];
  const lastEventMs = events.at(-1)?.atMs ?? 0;
  // At most every 30 simulated seconds, at least 400 samples over the time limit.
  const sampleMs = Math.max(plan.tickMs, Math.min(30_000, Math.round(plan.timeLimitMs / 400)));
  let nextSample = 0;
  let nextWrite = plan.writes === undefined ? Infinity : plan.writes.everyMs;
  let converged: number | undefined;
  try {
    await sim.bootstrap();
    if (plan.config !== undefined) await client.setSchedulingConfig(plan.config);
    const flush = async () => {
      const hbs = sim.regionHeartbeatsDue();
      for (let i = 0; i < hbs.length; i += 256) {
        await Promise.all(hbs.slice(i, i + 256).map((hb) => hb.store.adapter.submitRegionHeartbeat(hb.region, hb.extras)));
        checkCalls();
      }
    };
    for (let t = 0; t <= plan.timeLimitMs; t += plan.tickMs) {
      await clock.advanceTo(t);
      sim.runUntil(t);
      while (events.length > 0 && events[0]!.atMs <= t) {
        const e = events.shift()!;
        e.run(sim);
        happened.push({ atMs: t, label: e.label });
      }
      if (plan.writes !== undefined && t >= nextWrite && t <= plan.writes.untilMs) {
        nextWrite += plan.writes.everyMs;
        await sim.write(plan.writes.count, plan.writes.bytes, plan.writes.pick);
      }
      await flush();
      for (const s of sim.storesDue(t)) {
        await s.adapter.submitStoreHeartbeat(sim.storeHeartbeat(s));
        checkCalls();
        sim.receive(s, s.adapter.plan());
      }
      if (t >= nextSample) {
        nextSample += sampleMs;
        const cl = cluster();
        if (cl === undefined) inFlight = (await client.listOperators()).map((o) => ({ regionId: o.regionId, id: o.id }));
        else checkOperatorsEnd(cl, sim);
        samples.push({
          atMs: t,
          regionCounts: toRecord(sim.regionCounts()),
          leaderCounts: toRecord(sim.leaderCounts()),
          underReplicated: sim.underReplicated(),
          pdUnderReplicated: cl?.scheduling.underReplicatedRegions,
          operatorsInFlight: cl?.scheduling.operators.size ?? inFlight.length,
        });
      }
      if (t >= lastEventMs && events.length === 0) {
        const cl = cluster();
        const state: PdState = { operatorsInFlight: cl?.scheduling.operators.size ?? (await client.listOperators()).length };
        if (plan.predicate(sim, state)) {
          converged = t;
          break;
        }
      }
    }
    const cl = cluster();
    if (cl === undefined) inFlight = (await client.listOperators()).map((o) => ({ regionId: o.regionId, id: o.id }));
    const cost = cl?.scheduling.cost();
    const operators = await operatorCounts(target, client);
    const final = sim.now;
    samples.push({
      atMs: final,
      regionCounts: toRecord(sim.regionCounts()),
      leaderCounts: toRecord(sim.leaderCounts()),
      underReplicated: sim.underReplicated(),
      pdUnderReplicated: cl?.scheduling.underReplicatedRegions,
      operatorsInFlight: cl?.scheduling.operators.size ?? inFlight.length,
    });
    return {
      name: c.name,
      params,
      mode: plan.mode,
      predicateHeld: converged !== undefined,
      convergedAtMs: converged,
      simulatedMs: final,
      wallMs: performance.now() - wallStart,
      events: happened,
      operators,
      violations: sim.violations,
      raced: sim.raced,
      samples,
      sim,
      plan,
      cost: cost === undefined ? undefined : { storeHeartbeats: cost.storeHeartbeats, meanMs: cost.totalMs / Math.max(1, cost.storeHeartbeats), maxMs: cost.maxMs },
      storeLimitHits: cl?.scheduling.limiter.hits(),
    };
  } finally {
    for (const s of sim.stores.values()) s.adapter.close();
    client.close();
    await target.close();
  }
}

/** max/min of the values (min at least 1). */
export function maxMinRatio(values: Iterable<number>): number {
  const v = [...values];
  if (v.length === 0) return 1;
  return Math.max(...v) / Math.max(1, Math.min(...v));
}

/** Re-exported for cases. */
export type { OperatorKind };
