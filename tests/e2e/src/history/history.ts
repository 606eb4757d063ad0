import { performance } from "node:perf_hooks";

/** The epoch of a region as a client wrote or read it. */
export interface Epoch {
  readonly version: bigint;
  readonly confVersion: bigint;
}

/** What an operation asked for. */
export type Invocation =
  | { readonly kind: "tso"; readonly count: bigint }
  | { readonly kind: "allocId"; readonly count: bigint }
  /** A heartbeat of `regionId`, whose range holds `key` (workload regions never split), at `epoch`. */
  | { readonly kind: "regionHeartbeat"; readonly regionId: bigint; readonly key: string; readonly epoch: Epoch }
  /** A lookup of `key`, which the workload knows to belong to `regionId`. */
  | { readonly kind: "getRegionByKey"; readonly key: string; readonly regionId: bigint };

/** What an operation that succeeded returned. */
export type Completion =
  | { readonly kind: "tso"; readonly first: bigint; readonly count: bigint }
  | { readonly kind: "allocId"; readonly first: bigint; readonly count: bigint }
  | { readonly kind: "regionHeartbeat"; readonly accepted: boolean }
  | { readonly kind: "getRegionByKey"; readonly found: { readonly regionId: bigint; readonly epoch: Epoch } | undefined };

/**
 * One operation of one client, Jepsen-style: invoked at `invokeMs`,
 * completed at `completeMs` (both on the test process's monotonic clock,
 * which every PD's answers are timed against) with `ok` (the value it
 * returned), `fail` (it surely did not happen: the server refused it) or
 * `info` (unknown: a timeout — it may have happened).
 */
export interface Op {
  readonly index: number;
  readonly client: number;
  readonly invocation: Invocation;
  readonly invokeMs: number;
  completeMs?: number;
  outcome?: "ok" | "fail" | "info";
  completion?: Completion;
  /** The PD that answered (its address), when one did. */
  servedBy?: string;
  /** Why it failed, for reports. */
  error?: string;
}

/** A nemesis step as the run performed it, for the report and the availability windows. */
export interface NemesisEvent {
  readonly name: string;
  readonly startMs: number;
  /** When the fault was healed (the process restarted, the member resumed, the link restored). */
  healMs?: number;
  /** Free text: which PD or etcd member, how long. */
  readonly detail: string;
}

/** Records every operation of every client of a run, in invocation order. */
export class History {
  readonly ops: Op[] = [];
  readonly nemeses: NemesisEvent[] = [];
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The clock of the history (monotonic ms). */
  now(): number {
    return this.#now();
  }

  /** Records the invocation of an operation; complete it with {@link ok}, {@link fail} or {@link info}. */
  invoke(client: number, invocation: Invocation): Op {
    const op: Op = { index: this.ops.length, client, invocation, invokeMs: this.#now() };
    this.ops.push(op);
    return op;
  }

  ok(op: Op, completion: Completion, servedBy: string | undefined): void {
    this.#complete(op, "ok", servedBy);
    op.completion = completion;
  }

  /** The operation surely did not take effect (a refusal). */
  fail(op: Op, error: string, servedBy?: string): void {
    this.#complete(op, "fail", servedBy);
    op.error = error;
  }

  /** The operation's outcome is unknown (no answer). */
  info(op: Op, error: string): void {
    this.#complete(op, "info", undefined);
    op.error = error;
  }

  /** Starts a nemesis step now. */
  nemesis(name: string, detail: string): NemesisEvent {
    const e: NemesisEvent = { name, startMs: this.#now(), detail };
    this.nemeses.push(e);
    return e;
  }

  #complete(op: Op, outcome: "ok" | "fail" | "info", servedBy: string | undefined): void {
    if (op.outcome !== undefined) throw new Error(`op ${op.index} completed twice`);
    op.completeMs = this.#now();
    op.outcome = outcome;
    if (servedBy !== undefined) op.servedBy = servedBy;
  }
}
