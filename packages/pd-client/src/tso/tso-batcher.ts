import { MAX_TSO_COUNT } from "@nokv/pd-model";
import type { TimestampRange } from "./types.js";

/** The server's limit for one `Tso` call: 2^18 timestamps. */
export const MAX_TSO_BATCH = Number(MAX_TSO_COUNT);

/**
 * Sends one batch: asks PD for `count` consecutive timestamps before the
 * absolute deadline `deadlineMs` (epoch ms; `timeoutMs` is the budget it was
 * computed from, for error messages). Resolves to a run of at least `count`.
 * This is the seam for a future streaming `Tso`: the batcher knows nothing
 * about how a batch travels.
 */
export type TsoBatchTransport = (count: bigint, deadlineMs: number, timeoutMs: number) => Promise<TimestampRange>;

/** Timestamp-batching settings of a client. */
export interface TsoBatchingOptions {
  /**
   * Most timestamps one `Tso` RPC asks for; more demand in one tick becomes
   * several RPCs. Default and maximum: 2^18, the server's limit.
   */
  readonly maxBatchSize?: number;
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
  constructor(
    readonly deadlineMs: number,
    readonly timeoutMs: number,
  ) {}
}

/**
 * Coalesces the timestamp requests of one event-loop turn into one RPC per
 * distinct timeout (normally exactly one), `count` = the sum of the demands,
 * and splits the returned run locally: each caller's values are a
 * sub-run of PD's run, so they are unique, and consecutive and increasing
 * within one caller; callers get their sub-runs in call order.
 *
 * A batch flushes on `setImmediate` (after the I/O callbacks of the current
 * turn, so requests from many sockets share it), or at once when it reaches
 * `maxBatchSize`.
 */
export class TsoBatcher {
  /**
   * Batches not yet sent, by timeout. Replaced by a fresh Map on every flush
   * rather than cleared: `clear()` on a long-lived Map made V8's scavenger
   * keep every batch's waiters alive into the old generation (GC was 40 % of
   * a 1000-caller benchmark; with a fresh Map it is noise).
   */
  private pending = new Map<number, Batch>();
  private flushScheduled = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const batch of pending.values()) this.dispatch(batch);
  };

  constructor(
    private readonly transport: TsoBatchTransport,
    readonly maxBatchSize: number = MAX_TSO_BATCH,
  ) {}

  /**
   * Reserves `count` (1..maxBatchSize) consecutive timestamps and resolves to
   * the first. `timeoutMs` is the caller's overall deadline; `signal` rejects
   * this caller only (its values are then skipped, never reused), with
   * `onAbort()` or, without it, the signal's reason.
   */
  request(
    count: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    onAbort: (() => unknown) | undefined,
  ): Promise<bigint> {
    let batch = this.pending.get(timeoutMs);
    if (batch !== undefined && batch.size + count > this.maxBatchSize) {
      this.pending.delete(timeoutMs);
      this.dispatch(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = new Batch(Date.now() + timeoutMs, timeoutMs);
      this.pending.set(timeoutMs, batch);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    }
    const b = batch;
    const offset = b.size;
    b.size += count;
    return new Promise<bigint>((resolve, reject) => {
      if (signal === undefined) {
        b.resolves.push(resolve);
        b.rejects.push(reject);
      } else {
        const abort = (): void => reject(onAbort === undefined ? signal.reason : onAbort());
        signal.addEventListener("abort", abort, { once: true });
        b.resolves.push((first) => {
          signal.removeEventListener("abort", abort);
          resolve(first);
        });
        b.rejects.push((err) => {
          signal.removeEventListener("abort", abort);
          reject(err);
        });
      }
      b.offsets.push(offset);
    });
  }

  /** Rejects every batch not yet sent (used by `close()`). */
  rejectPending(err: unknown): void {
    const pending = this.pending;
    this.pending = new Map();
    for (const batch of pending.values()) {
      for (const reject of batch.rejects) reject(err);
    }
  }

  private dispatch(batch: Batch): void {
    this.transport(BigInt(batch.size), batch.deadlineMs, batch.timeoutMs).then(
      (range) => {
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
        for (const reject of batch.rejects) reject(err);
      },
    );
  }
}
