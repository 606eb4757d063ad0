import { status as GrpcStatus } from "@grpc/grpc-js";
import { MAX_TSO_COUNT } from "@nokv/pd-model";
import { Deadline, monotonicNowMs } from "../call/deadline.js";
import { PdClientError } from "../errors.js";
import type { TimestampRange } from "../types.js";

/** The server's limit for one `Tso` call: 2^18 timestamps. */
export const MAX_TSO_BATCH = Number(MAX_TSO_COUNT);

/**
 * Default bound of the timestamp requests one client keeps pending (queued
 * or in flight): 100 000, about 45 MB of waiting callers. Beyond it a call
 * fails at once with `RESOURCE_EXHAUSTED` instead of queueing without bound
 * while PD is slow or away (as TiKV's client bounds its request channel).
 */
export const DEFAULT_MAX_PENDING_TSO_REQUESTS = 100_000;

/**
 * Sends one batch: asks PD for `count` consecutive timestamps before the
 * batch's deadline. Resolves to a run of at least `count`. The batcher knows
 * nothing about how a batch travels.
 */
export type TsoBatchTransport = (count: bigint, deadline: Deadline) => Promise<TimestampRange>;

/** Timestamp-batching settings of a client. */
export interface TsoBatchingOptions {
  /**
   * Most timestamps one request asks for; more demand in one tick becomes
   * several requests. Default and maximum: 2^18, the server's limit.
   */
  readonly maxBatchSize?: number;
  /**
   * Most `getTimestamp()` / `getTimestamps()` calls waiting at once (queued
   * or in flight). One more fails at once with `RESOURCE_EXHAUSTED`
   * (retryable: the queue drains as PD answers). Default 100 000.
   */
  readonly maxPendingRequests?: number;
}

/**
 * One pending batch. Waiters live in parallel arrays rather than one object
 * each: the TSO path is hot and this keeps it to one promise per caller.
 */
class Batch {
  size = 0;
  readonly resolves: Array<(first: bigint) => void> = [];
  readonly rejects: Array<(err: unknown) => void> = [];
  readonly offsets: number[] = [];
  constructor(readonly deadline: Deadline) {}
}

/**
 * Coalesces the timestamp requests of one event-loop turn into one request
 * per distinct timeout (normally exactly one), `count` = the sum of the
 * demands, and splits the returned run locally: each caller's values are a
 * sub-run of PD's run, so they are unique, and consecutive and increasing
 * within one caller; callers get their sub-runs in call order.
 *
 * A batch flushes on `setImmediate` (after the I/O callbacks of the current
 * turn, so requests from many sockets share it), or at once when it reaches
 * `maxBatchSize`. At most `maxPending` callers wait at once.
 */
export class TsoBatcher {
  /**
   * Batches not yet sent, by timeout. Replaced by a fresh Map on every flush
   * rather than cleared: `clear()` on a long-lived Map made V8's scavenger
   * keep every batch's waiters alive into the old generation (GC was 40 % of
   * a 1000-caller benchmark; with a fresh Map it is noise).
   */
  #pending = new Map<number, Batch>();
  #flushScheduled = false;
  /** Callers waiting (queued or in flight). */
  #waiting = 0;
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const batch of pending.values()) this.#dispatch(batch);
  };

  constructor(
    private readonly transport: TsoBatchTransport,
    readonly maxBatchSize: number = MAX_TSO_BATCH,
    readonly maxPending: number = DEFAULT_MAX_PENDING_TSO_REQUESTS,
    /** Observes each batch's latency in seconds (from its first request to its answer). */
    private readonly observe: (result: "ok" | "error", seconds: number) => void = () => {},
  ) {}

  /** Callers waiting right now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Reserves `count` (1..maxBatchSize) consecutive timestamps and resolves to
   * the first. `timeoutMs` is the caller's overall deadline (checked); `signal`
   * rejects this caller only (its values are then skipped, never reused), with
   * `onAbort()` or, without it, the signal's reason.
   */
  request(count: number, timeoutMs: number, signal: AbortSignal | undefined, onAbort: (() => unknown) | undefined): Promise<bigint> {
    if (this.#waiting >= this.maxPending) {
      return Promise.reject(
        new PdClientError(
          `pd Tso: ${this.maxPending} timestamp requests are pending (tsoBatching.maxPendingRequests); refused until PD answers some`,
          { status: GrpcStatus.RESOURCE_EXHAUSTED, code: "RESOURCE_EXHAUSTED", retryable: true, method: "Tso" },
        ),
      );
    }
    let batch = this.#pending.get(timeoutMs);
    if (batch !== undefined && batch.size + count > this.maxBatchSize) {
      this.#pending.delete(timeoutMs);
      this.#dispatch(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      // The batch's deadline is read once, for all its callers.
      batch = new Batch(Deadline.after(timeoutMs));
      this.#pending.set(timeoutMs, batch);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    }
    const b = batch;
    const offset = b.size;
    b.size += count;
    this.#waiting += 1;
    return new Promise<bigint>((resolve, reject) => {
      if (signal === undefined) {
        b.resolves.push(resolve);
        b.rejects.push(reject);
      } else {
        let settled = false;
        const abort = (): void => {
          if (settled) return;
          settled = true;
          // Still counted as waiting: its request stays in flight until the batch settles.
          reject(onAbort === undefined ? signal.reason : onAbort());
        };
        signal.addEventListener("abort", abort, { once: true });
        b.resolves.push((first) => {
          signal.removeEventListener("abort", abort);
          if (settled) return;
          settled = true;
          resolve(first);
        });
        b.rejects.push((err) => {
          signal.removeEventListener("abort", abort);
          if (settled) return;
          settled = true;
          reject(err);
        });
      }
      b.offsets.push(offset);
    });
  }

  /** Rejects every batch not yet sent (used by `close()`). */
  rejectPending(err: unknown): void {
    const pending = this.#pending;
    this.#pending = new Map();
    for (const batch of pending.values()) this.#settle(batch, err);
  }

  #dispatch(batch: Batch): void {
    this.transport(BigInt(batch.size), batch.deadline).then(
      (range) => {
        this.observe("ok", (monotonicNowMs() - (batch.deadline.atMs - batch.deadline.timeoutMs)) / 1000);
        this.#waiting -= batch.resolves.length;
        const { resolves, offsets } = batch;
        const first = range.first;
        // Offsets usually grow by one (single timestamps): step the bigint
        // instead of converting each offset.
        let ts = first;
        let prev = 0;
        for (let i = 0; i < resolves.length; i++) {
          const off = offsets[i]!;
          ts = off === prev + 1 ? ts + 1n : off === prev ? ts : first + BigInt(off);
          prev = off;
          resolves[i]!(ts);
        }
      },
      (err: unknown) => {
        this.observe("error", (monotonicNowMs() - (batch.deadline.atMs - batch.deadline.timeoutMs)) / 1000);
        this.#settle(batch, err);
      },
    );
  }

  #settle(batch: Batch, err: unknown): void {
    this.#waiting -= batch.rejects.length;
    for (const reject of batch.rejects) reject(err);
  }
}
