import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { waitUntil } from "@nokv/testkit";
import { type CheckResult, checkHistory } from "./checker.js";
import { HaCluster } from "./ha-cluster.js";
import { History } from "./history.js";
import { ALL_NEMESES, type Nemesis, type NemesisTimings } from "./nemeses.js";
import { Workload } from "./workload.js";

/** Options of {@link runHistory}. */
export interface HistoryRunOptions {
  /** How many times the whole schedule runs. */
  readonly rounds: number;
  /** Clients issuing the mix of operations. */
  readonly clients: number;
  /** Clients issuing only Tso: what the availability windows measure. Default 2. */
  readonly tsoClients?: number;
  readonly timings: NemesisTimings;
  /** Traffic without faults between two steps (and before the first), in ms. */
  readonly quietMs: number;
  readonly nemeses?: readonly Nemesis[];
  readonly seed?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** What a run recorded and what the checker made of it. */
export interface HistoryRunResult {
  readonly history: History;
  readonly check: CheckResult;
  readonly durationMs: number;
  /** The checker's findings and numbers as printable lines. */
  readonly report: string[];
}

/**
 * One Jepsen-style run: three PDs on a three-member etcd, clients recording
 * every operation, the nemeses applied one after another with quiet traffic
 * in between, every written region read back after each step (so each
 * leader is checked against every acknowledged write), then the history
 * checked.
 */
export async function runHistory(options: HistoryRunOptions): Promise<HistoryRunResult> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const cluster = await HaCluster.start({ pds: 3, etcdMembers: 3 });
  const history = new History();
  const tsoClients = options.tsoClients ?? 2;
  const work = new Workload(history, cluster.addrs, options.clients, tsoClients, options.seed ?? 1);
  const verifier = options.clients + tsoClients; // the read-back sweeps record as one more client
  try {
    work.start();
    await waitUntil("traffic", () => history.ops.some((o) => o.outcome === "ok" && o.invocation.kind === "regionHeartbeat"), { timeoutMs: 20_000 });
    await sleep(options.quietMs);
    for (let round = 0; round < options.rounds; round++) {
      for (const n of options.nemeses ?? ALL_NEMESES) {
        const t0 = performance.now();
        await n.run(cluster, history, options.timings, round);
        await cluster.leader(30_000);
        await work.verify(verifier);
        log(`round ${round + 1}: ${n.name} done in ${Math.round(performance.now() - t0)} ms`);
        await sleep(options.quietMs);
      }
    }
  } finally {
    await work.stop();
    await cluster.stop();
  }
  const tsoOnly = new Set(Array.from({ length: tsoClients }, (_, i) => options.clients + i));
  const check = checkHistory(history.ops, history.nemeses, { availabilityClients: tsoOnly });
  const report = [
    `operations: ${Object.entries(check.counts).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `longest stretch without a successful Tso (${tsoClients} Tso-only clients): ${check.longestTsoGapMs} ms`,
    ...check.windows.map((w) => `  ${w.name} (${w.detail}): ${w.windowMs} ms without Tso`),
    `reads of acknowledged regions by PD: ${Object.entries(check.verifiedReadsByPd).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    check.violations.length === 0 ? "violations: none" : `violations (${check.violations.length}):`,
    ...check.violations.map((v) => `  ${v.kind}: ${v.message}`),
  ];
  return { history, check, durationMs: performance.now() - started, report };
}
