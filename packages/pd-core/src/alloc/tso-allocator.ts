import { PdError } from "../errors.js";
import { MAX_TSO_COUNT, MAX_UINT64, TSO_LOGICAL_BITS } from "@nokv/pd-model";
import type { Checkpointer } from "./checkpoint.js";
import { normaliseCount, type Run } from "./id-allocator.js";

/** Most timestamps one request may take when no cap is given: the contract's cap, 2^18, one millisecond's worth. */
export const DEFAULT_MAX_TSO_COUNT = MAX_TSO_COUNT;
/** Physical time reserved ahead per ceiling write when no window is given, in ms. */
export const DEFAULT_TSO_WINDOW_MS = 3000;

/** Options of {@link TsoAllocator}. */
export interface TsoAllocatorOptions {
  readonly checkpoint: Checkpointer;
  /** Lowest timestamp to hand out (`--ts-start`). Default 1. */
  readonly start?: bigint;
  /** Most timestamps in one request. Default 2^18. */
  readonly maxCount?: bigint;
  /** Physical time reserved ahead per ceiling write, in ms. Default 3000. */
  readonly windowMs?: number;
  /** Wall clock in ms. Default `Date.now`. */
  readonly nowMs?: () => number;
}

/**
 * The timestamp oracle: hybrid `physical_ms << 18 | logical`, run as a
 * counter that never falls behind `now_ms << 18`. A run of `count` values is
 * consecutive integers; values only ever go up, also when the wall clock
 * steps back. Durability works like {@link IdAllocator}: the ceiling is kept
 * `windowMs` of physical time ahead, written before any value above it is
 * handed out.
 */
export class TsoAllocator {
  #last: bigint;
  readonly #checkpoint: Checkpointer;
  readonly #maxCount: bigint;
  readonly #windowTs: bigint;
  readonly #nowMs: () => number;

  constructor(options: TsoAllocatorOptions) {
    this.#checkpoint = options.checkpoint;
    this.#maxCount = options.maxCount ?? DEFAULT_MAX_TSO_COUNT;
    this.#windowTs = BigInt(options.windowMs ?? DEFAULT_TSO_WINDOW_MS) << TSO_LOGICAL_BITS;
    this.#nowMs = options.nowMs ?? Date.now;
    const start = options.start ?? 1n;
    const ceiling = this.#checkpoint.durable.tsCurrent;
    // At the very end of the space PD still starts (routing and ids keep
    // working); every Tso then answers ALLOCATOR_EXHAUSTED.
    const floor = start - 1n > ceiling ? start - 1n : ceiling;
    this.#last = floor > MAX_UINT64 ? MAX_UINT64 : floor;
  }

  /** The last timestamp reserved (0 before the first). */
  get last(): bigint {
    return this.#last;
  }

  /**
   * Reserves `count` consecutive timestamps (0 means 1), each above every
   * value handed out before and at least `now_ms << 18`. Returns the run at
   * once when it lies under the durable ceiling, else a promise.
   *
   * @throws PdError `INVALID_ARGUMENT` above the cap, `ALLOCATOR_EXHAUSTED`
   *   past 2^64-1, `STORAGE` when the ceiling could not be made durable.
   */
  alloc(count: bigint): Run | Promise<Run> {
    const n = normaliseCount("tso", count, this.#maxCount);
    const now = BigInt(this.#nowMs()) << TSO_LOGICAL_BITS;
    const afterLast = this.#last + 1n;
    const first = now > afterLast ? now : afterLast;
    const last = first + n - 1n;
    if (last > MAX_UINT64) {
      throw new PdError("ALLOCATOR_EXHAUSTED", `tso: ${n} timestamp(s) from ${first} would pass 2^64-1`);
    }
    this.#last = last;
    const run: Run = { first, count: n };
    const ceiling = this.#checkpoint.durable.tsCurrent;
    if (last <= ceiling) {
      if (ceiling - last < this.#windowTs / 3n) this.#checkpoint.raiseInBackground("ts", this.#target(now, ceiling));
      return run;
    }
    return this.#checkpoint.raise("ts", this.#target(now, last)).then(() => run);
  }

  /** A window of physical time beyond both `now` and `floor`. */
  #target(now: bigint, floor: bigint): bigint {
    const ahead = (now > floor ? now : floor) + this.#windowTs;
    return ahead > MAX_UINT64 ? MAX_UINT64 : ahead;
  }
}
