import type { Epoch, NemesisEvent, Op } from "./history.js";

/** One broken promise found in a history. */
export interface Violation {
  readonly kind: "duplicate" | "client-order" | "real-time" | "lost-write" | "stale-read" | "invented-read" | "wrong-region";
  readonly message: string;
}

/** The unavailability around one nemesis step. */
export interface NemesisWindow {
  readonly name: string;
  readonly detail: string;
  /** The longest stretch without a successful Tso that ended while this step was the latest to have begun (and at most `settleMs` after it healed), in ms. */
  readonly windowMs: number;
}

/** What {@link checkHistory} found. */
export interface CheckResult {
  readonly violations: readonly Violation[];
  /** Operations by kind and outcome, e.g. `tso ok 1234`. */
  readonly counts: Readonly<Record<string, number>>;
  /** The longest stretch of the whole run without a successful Tso, in ms. */
  readonly longestTsoGapMs: number;
  readonly windows: readonly NemesisWindow[];
  /** Distinct PDs that answered reads of acknowledged regions, and how many such reads each answered. */
  readonly verifiedReadsByPd: Readonly<Record<string, number>>;
}

/** Options of {@link checkHistory}. */
export interface CheckOptions {
  /** How long after a step healed its window still counts, in ms. Default 5000. */
  readonly settleMs?: number;
  /**
   * The clients whose Tso completions measure availability (those that issue
   * nothing else: a mixed client waiting on a slow write issues no Tso
   * meanwhile). Default: every client.
   */
  readonly availabilityClients?: ReadonlySet<number>;
  /** At most this many violations of each kind are listed. Default 20. */
  readonly maxPerKind?: number;
}

const atLeast = (a: Epoch, b: Epoch) => a.version >= b.version && a.confVersion >= b.confVersion;
const fmtEpoch = (e: Epoch) => `{v:${e.version} c:${e.confVersion}}`;
const where = (op: Op) => `op #${op.index} (client ${op.client}${op.servedBy === undefined ? "" : `, ${op.servedBy}`})`;

/**
 * Checks a history of Tso, AllocID, RegionHeartbeat and GetRegionByKey
 * operations against what PD promises, across every PD and leader change:
 *
 * - **no value handed out twice**: the runs of every successful Tso, and of
 *   every successful AllocID, are pairwise disjoint;
 * - **timestamps increase per client**: a client's successive timestamps
 *   grow (clients issue one operation at a time);
 * - **real-time order**: a Tso invoked after another one completed returns
 *   a larger timestamp (linearizability of the oracle);
 * - **acknowledged writes stay visible**: a lookup invoked after a
 *   heartbeat was acknowledged finds that region with at least that epoch,
 *   whichever PD leads by then — and never an epoch nobody wrote;
 * - **availability**: the longest stretch without a successful Tso, over
 *   the run and around each nemesis step (measured, not judged).
 *
 * Operations whose outcome is unknown (timeouts) constrain nothing but may
 * explain what a later read sees.
 */
export function checkHistory(ops: readonly Op[], nemeses: readonly NemesisEvent[] = [], options: CheckOptions = {}): CheckResult {
  const settleMs = options.settleMs ?? 5000;
  const maxPerKind = options.maxPerKind ?? 20;
  const violations: Violation[] = [];
  const perKind = new Map<string, number>();
  const report = (kind: Violation["kind"], message: string) => {
    const n = perKind.get(kind) ?? 0;
    perKind.set(kind, n + 1);
    if (n < maxPerKind) violations.push({ kind, message });
  };

  const counts: Record<string, number> = {};
  for (const op of ops) {
    const key = `${op.invocation.kind} ${op.outcome ?? "open"}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }

  const okTso = ops.filter((o) => o.outcome === "ok" && o.completion?.kind === "tso");
  const okIds = ops.filter((o) => o.outcome === "ok" && o.completion?.kind === "allocId");

  // No value twice.
  for (const [what, list] of [["timestamp", okTso], ["id", okIds]] as const) {
    const runs = list
      .map((op) => ({ op, first: (op.completion as { first: bigint }).first, count: (op.completion as { count: bigint }).count }))
      .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (let i = 1; i < runs.length; i++) {
      const prev = runs[i - 1]!;
      const cur = runs[i]!;
      if (cur.first <= prev.first + prev.count - 1n) {
        report("duplicate", `${what} ${cur.first} handed out twice: ${where(prev.op)} got [${prev.first}, +${prev.count}), ${where(cur.op)} got [${cur.first}, +${cur.count})`);
      }
    }
  }

  // Per client, timestamps increase.
  const lastByClient = new Map<number, { op: Op; last: bigint }>();
  for (const op of [...okTso].sort((a, b) => a.invokeMs - b.invokeMs)) {
    const c = op.completion as { first: bigint; count: bigint };
    const prev = lastByClient.get(op.client);
    if (prev !== undefined && c.first <= prev.last) {
      report("client-order", `client ${op.client}: timestamp ${c.first} (${where(op)}) is not above its previous ${prev.last} (${where(prev.op)})`);
    }
    lastByClient.set(op.client, { op, last: c.first + c.count - 1n });
  }

  // Real-time order: sweep invocations in time, keeping the largest value completed before.
  const byInvoke = [...okTso].sort((a, b) => a.invokeMs - b.invokeMs);
  const byComplete = [...okTso].sort((a, b) => a.completeMs! - b.completeMs!);
  let j = 0;
  let maxDone: { op: Op; last: bigint } | undefined;
  for (const op of byInvoke) {
    while (j < byComplete.length && byComplete[j]!.completeMs! < op.invokeMs) {
      const d = byComplete[j++]!;
      const c = d.completion as { first: bigint; count: bigint };
      const last = c.first + c.count - 1n;
      if (maxDone === undefined || last > maxDone.last) maxDone = { op: d, last };
    }
    const first = (op.completion as { first: bigint }).first;
    if (maxDone !== undefined && first <= maxDone.last) {
      report(
        "real-time",
        `timestamp ${first} (${where(op)}, invoked at ${op.invokeMs.toFixed(1)} ms) is not above ${maxDone.last} (${where(maxDone.op)}, completed at ${maxDone.op.completeMs!.toFixed(1)} ms)`,
      );
    }
  }

  // Acknowledged region writes, and what reads may see.
  const acks = new Map<bigint, Op[]>();
  const written = new Map<bigint, Epoch[]>();
  for (const op of ops) {
    const inv = op.invocation;
    if (inv.kind !== "regionHeartbeat") continue;
    (written.get(inv.regionId) ?? written.set(inv.regionId, []).get(inv.regionId)!).push(inv.epoch);
    if (op.outcome === "ok" && op.completion?.kind === "regionHeartbeat" && op.completion.accepted) {
      (acks.get(inv.regionId) ?? acks.set(inv.regionId, []).get(inv.regionId)!).push(op);
    }
  }
  for (const list of acks.values()) list.sort((a, b) => a.completeMs! - b.completeMs!);
  const verifiedReadsByPd: Record<string, number> = {};
  for (const op of ops) {
    const inv = op.invocation;
    if (inv.kind !== "getRegionByKey" || op.outcome !== "ok" || op.completion?.kind !== "getRegionByKey") continue;
    const found = op.completion.found;
    let required: { op: Op; epoch: Epoch } | undefined;
    for (const a of acks.get(inv.regionId) ?? []) {
      if (a.completeMs! >= op.invokeMs) break;
      const e = (a.invocation as { epoch: Epoch }).epoch;
      if (required === undefined || atLeast(e, required.epoch)) required = { op: a, epoch: e };
    }
    if (required !== undefined) verifiedReadsByPd[op.servedBy ?? "?"] = (verifiedReadsByPd[op.servedBy ?? "?"] ?? 0) + 1;
    if (found === undefined) {
      if (required !== undefined) {
        report("lost-write", `region ${inv.regionId} acknowledged at ${fmtEpoch(required.epoch)} (${where(required.op)}) is missing for key ${inv.key} in ${where(op)}`);
      }
      continue;
    }
    if (found.regionId !== inv.regionId) {
      report("wrong-region", `key ${inv.key} of region ${inv.regionId} routed to region ${found.regionId} in ${where(op)}`);
      continue;
    }
    if (required !== undefined && !atLeast(found.epoch, required.epoch)) {
      report("stale-read", `region ${inv.regionId} read at ${fmtEpoch(found.epoch)} in ${where(op)}, after ${fmtEpoch(required.epoch)} was acknowledged (${where(required.op)})`);
    }
    const epochs = written.get(inv.regionId) ?? [];
    if (!epochs.some((e) => e.version === found.epoch.version && e.confVersion === found.epoch.confVersion)) {
      report("invented-read", `region ${inv.regionId} read at ${fmtEpoch(found.epoch)} in ${where(op)}, an epoch no client wrote`);
    }
  }

  // Availability: stretches between successful Tso completions.
  const probes = options.availabilityClients;
  const done = okTso.filter((o) => probes === undefined || probes.has(o.client)).map((o) => o.completeMs!).sort((a, b) => a - b);
  // (Loops, not Math.min(...spread): a long run records hundreds of thousands of operations.)
  let first = ops.length === 0 ? 0 : Number.POSITIVE_INFINITY;
  let lastAt = 0;
  for (const o of ops) {
    if (o.invokeMs < first) first = o.invokeMs;
    const end = o.completeMs ?? o.invokeMs;
    if (end > lastAt) lastAt = end;
  }
  const points = [first, ...done, lastAt];
  let longestTsoGapMs = 0;
  for (let i = 1; i < points.length; i++) longestTsoGapMs = Math.max(longestTsoGapMs, points[i]! - points[i - 1]!);
  // Each stretch is the doing of the step in effect when it ended: the last
  // one that had begun by then (a stretch ending more than `settleMs` after
  // that step healed is nobody's).
  const windowMs = nemeses.map(() => 0);
  const byStart = nemeses.map((n, i) => ({ n, i })).sort((x, y) => x.n.startMs - y.n.startMs);
  for (let p = 1; p < points.length; p++) {
    const a = points[p - 1]!;
    const b = points[p]!;
    let owner: { n: NemesisEvent; i: number } | undefined;
    for (const s of byStart) {
      if (s.n.startMs < b) owner = s;
      else break;
    }
    if (owner === undefined || b > (owner.n.healMs ?? lastAt) + settleMs) continue;
    windowMs[owner.i] = Math.max(windowMs[owner.i]!, b - a);
  }
  const windows: NemesisWindow[] = nemeses.map((n, i) => ({ name: n.name, detail: n.detail, windowMs: Math.round(windowMs[i]!) }));

  for (const [kind, n] of perKind) {
    if (n > maxPerKind) violations.push({ kind: kind as Violation["kind"], message: `… and ${n - maxPerKind} more of this kind` });
  }
  return { violations, counts, longestTsoGapMs: Math.round(longestTsoGapMs), windows, verifiedReadsByPd };
}
