import { maxMinRatio, type FinishedRun } from "../runner.js";

/** The JSON `pd-sim run --json` prints: one object per run. */
export interface RunReport {
  readonly case: string;
  /** The predicate held and no invariant broke. */
  readonly ok: boolean;
  readonly predicateHeld: boolean;
  readonly mode: "in-process" | "process";
  readonly params: { readonly stores: number; readonly regions: number; readonly seed: number };
  /** Simulated ms the run lasted (to convergence, or the time limit). */
  readonly simulatedMs: number;
  /** Simulated ms from the start to when the predicate first held. */
  readonly convergedAtMs: number | null;
  readonly wallMs: number;
  readonly events: ReadonlyArray<{ readonly atMs: number; readonly label: string }>;
  /** Operators by kind, then by event (create, success, timeout, cancelled, replaced). */
  readonly operators: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly invariantViolations: number;
  /** The first violations, for the reader. */
  readonly violations: ReadonlyArray<{ readonly atMs: number; readonly invariant: string; readonly detail: string }>;
  /** Majorities lost only to a store that died after PD last heard from it. */
  readonly racedWithUndetectedDeath: number;
  readonly final: {
    readonly regions: Readonly<Record<string, number>>;
    readonly leaders: Readonly<Record<string, number>>;
    readonly maxMinRegionRatio: number;
    readonly maxAddsPerRegion: number;
  };
  /** `[simulated ms, regions under-replicated (truth), PD's gauge]`, about 20 points. */
  readonly underReplicatedOverTime: ReadonlyArray<readonly [number, number, number | null]>;
  readonly scheduling: { readonly storeHeartbeats: number; readonly meanMsPerStoreHeartbeat: number; readonly maxMs: number } | null;
  readonly storeLimitHits: Readonly<Record<string, number>> | null;
  readonly simulatedStores: { readonly operationsReceived: number; readonly operationsApplied: number; readonly operationsRefused: number; readonly splits: number };
  readonly goals: Readonly<Record<string, number | string | boolean>>;
}

function downsample<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (n - 1))]!);
  return out;
}

/** The report of a finished run. */
export function buildReport(run: FinishedRun): RunReport {
  const last = run.samples.at(-1)!;
  return {
    case: run.name,
    ok: run.predicateHeld && run.violations.length === 0,
    predicateHeld: run.predicateHeld,
    mode: run.mode,
    params: { stores: run.params.stores, regions: run.params.regions, seed: run.params.seed },
    simulatedMs: run.simulatedMs,
    convergedAtMs: run.convergedAtMs ?? null,
    wallMs: Math.round(run.wallMs),
    events: run.events,
    operators: run.operators,
    invariantViolations: run.violations.length,
    violations: run.violations.slice(0, 20),
    racedWithUndetectedDeath: run.raced,
    final: {
      regions: last.regionCounts,
      leaders: last.leaderCounts,
      maxMinRegionRatio: Number(maxMinRatio(Object.values(last.regionCounts)).toFixed(4)),
      maxAddsPerRegion: run.sim.maxAddsPerRegion(),
    },
    underReplicatedOverTime: downsample(run.samples, 20).map((s) => [s.atMs, s.underReplicated, s.pdUnderReplicated ?? null] as const),
    scheduling:
      run.cost === undefined
        ? null
        : { storeHeartbeats: run.cost.storeHeartbeats, meanMsPerStoreHeartbeat: Number(run.cost.meanMs.toFixed(4)), maxMs: Number(run.cost.maxMs.toFixed(3)) },
    storeLimitHits: run.storeLimitHits ?? null,
    simulatedStores: {
      operationsReceived: run.sim.counts.opsReceived,
      operationsApplied: run.sim.counts.opsApplied,
      operationsRefused: run.sim.counts.opsRefused,
      splits: run.sim.counts.splits,
    },
    goals: run.plan.goals?.(run) ?? {},
  };
}

/** `1h2m3s` for people. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${m}m${s % 60}s` : `${m}m${s % 60}s`;
}

/** The report as a table for people. */
export function formatReport(r: RunReport): string[] {
  const lines: string[] = [];
  const p = r.params;
  lines.push(`case ${r.case} (${r.mode}, ${p.stores} stores, ${p.regions} regions, seed ${p.seed}): ${r.ok ? "OK" : "FAILED"}`);
  const conv = r.convergedAtMs === null ? "never (time limit)" : `at ${formatDuration(r.convergedAtMs)} simulated`;
  lines.push(`  converged        ${conv}; ran ${formatDuration(r.simulatedMs)} simulated in ${formatDuration(r.wallMs)} wall`);
  if (r.events.length > 0) lines.push(`  events           ${r.events.map((e) => `${formatDuration(e.atMs)}: ${e.label}`).join("; ")}`);
  const events = ["create", "success", "timeout", "cancelled", "replaced"];
  lines.push(`  operators        ${"KIND".padEnd(22)}${events.map((e) => e.toUpperCase().padStart(10)).join("")}`);
  for (const [kind, counts] of Object.entries(r.operators).sort()) {
    lines.push(`                   ${kind.padEnd(22)}${events.map((e) => String(counts[e] ?? 0).padStart(10)).join("")}`);
  }
  const regions = Object.values(r.final.regions);
  const leaders = Object.values(r.final.leaders);
  lines.push(
    `  regions/store    max ${Math.max(...regions)}, min ${Math.min(...regions)} (ratio ${r.final.maxMinRegionRatio}); leaders max ${Math.max(...leaders)}, min ${Math.min(...leaders)}; most peers added to one region ${r.final.maxAddsPerRegion}`,
  );
  lines.push(`  under-replicated ${r.underReplicatedOverTime.map(([t, n]) => `${formatDuration(t)}:${n}`).join(" ")}`);
  lines.push(`  invariants       ${r.invariantViolations} violation(s)${r.racedWithUndetectedDeath > 0 ? `; ${r.racedWithUndetectedDeath} race(s) with a death PD could not see yet` : ""}`);
  for (const v of r.violations) lines.push(`                   ${formatDuration(v.atMs)} ${v.invariant}: ${v.detail}`);
  if (r.scheduling !== null) {
    lines.push(`  scheduling cost  ${r.scheduling.storeHeartbeats} store heartbeats, mean ${r.scheduling.meanMsPerStoreHeartbeat} ms, max ${r.scheduling.maxMs} ms`);
  }
  if (r.storeLimitHits !== null) lines.push(`  store limit hits add-peer ${r.storeLimitHits["add-peer"] ?? 0}, remove-peer ${r.storeLimitHits["remove-peer"] ?? 0}`);
  if (Object.keys(r.goals).length > 0) lines.push(`  goals            ${Object.entries(r.goals).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  return lines;
}
