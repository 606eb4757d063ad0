import type { TimestampRange } from "./types.js";

/** The server's limit for one `Tso` call: 2^18 timestamps. */
export const MAX_TSO_BATCH = 1 << 18;

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
  private readonly pending = new Map<number, Batch>();
  private flushScheduled = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const batch of this.pending.values()) this.dispatch(batch);
    this.pending.clear();
  };

  constructor(
    private readonly transport: TsoBatchTransport,
    readonly maxBatchSize: number = MAX_TSO_BATCH,
  ) {}

  /**
   * Reserves `count` (1..maxBatchSize) consecutive timestamps and resolves to
   * the first. `timeoutMs` is the caller's overall deadline; `signal` rejects
   * this caller only (its values are then skipped, never reused).
   */
  request(count: number, timeoutMs: number, signal: AbortSignal | undefined, onAbort: () => unknown): Promise<bigint> {
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
        const abort = (): void => reject(onAbort());
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
    for (const batch of this.pending.values()) {
      for (const reject of batch.rejects) reject(err);
    }
    this.pending.clear();
  }

  private dispatch(batch: Batch): void {
    this.transport(BigInt(batch.size), batch.deadlineMs, batch.timeoutMs).then(
      (range) => {
        const { resolves, offsets } = batch;
        for (let i = 0; i < resolves.length; i++) resolves[i]!(range.first + BigInt(offsets[i]!));
      },
      (err: unknown) => {
        for (const reject of batch.rejects) reject(err);
      },
    );
  }
}
