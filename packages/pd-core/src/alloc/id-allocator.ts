import { PdError } from "../errors.js";
import { MAX_ID_COUNT, MAX_UINT64 } from "@nokv/pd-model";
import type { Checkpointer } from "./checkpoint.js";

/** Most ids one request may take when no cap is given: the contract's cap, 2^20. */
export const DEFAULT_MAX_ID_COUNT = MAX_ID_COUNT;
/** Ids reserved ahead per ceiling write when no window is given. */
export const DEFAULT_ID_WINDOW = 1000n;

/** A run of consecutive values `[first, first + count)`. */
export interface Run {
  readonly first: bigint;
  readonly count: bigint;
}

/** Options of {@link IdAllocator}. */
export interface IdAllocatorOptions {
  readonly checkpoint: Checkpointer;
  /** Lowest id to hand out (`--id-start`). Default 1. */
  readonly start?: bigint;
  /** Most ids in one request. Default 2^20. */
  readonly maxCount?: bigint;
  /** Ids reserved ahead per ceiling write (at least the request's count). Default 1000. */
  readonly window?: bigint;
}

/** Checks and normalises a request's count (`0` means 1). */
export function normaliseCount(what: string, count: bigint, max: bigint): bigint {
  if (count === 0n) return 1n;
  if (count < 0n || count > max) {
    throw new PdError("INVALID_ARGUMENT", `${what}: count ${count} outside [1, ${max}]`);
  }
  return count;
}

/**
 * Hands out runs of unique, consecutive ids. The first run starts at
 * `max(start, restored ceiling + 1)`. Before handing out an id above the
 * durable ceiling it makes a new ceiling durable (current + max(window,
 * count)), so a crash may skip ids but never re-issues one; the disk sees
 * one write per window, not per call.
 */
export class IdAllocator {
  #next: bigint;
  readonly #checkpoint: Checkpointer;
  readonly #maxCount: bigint;
  readonly #window: bigint;

  constructor(options: IdAllocatorOptions) {
    this.#checkpoint = options.checkpoint;
    this.#maxCount = options.maxCount ?? DEFAULT_MAX_ID_COUNT;
    this.#window = options.window ?? DEFAULT_ID_WINDOW;
    const start = options.start ?? 1n;
    const afterCeiling = this.#checkpoint.durable.idCurrent + 1n;
    this.#next = start > afterCeiling ? start : afterCeiling;
    if (this.#next > MAX_UINT64 + 1n) throw new PdError("ALLOCATOR_EXHAUSTED", "id allocator: start is beyond 2^64-1");
  }

  /** The next id that would be handed out. */
  get next(): bigint {
    return this.#next;
  }

  /**
   * Makes sure no id at or below `id` is ever handed out: ids found in use
   * (a region or peer id a store reports, such as one bootstrapped from
   * `raft_config.json` rather than allocated here) must not be handed out
   * again. Resolves once the ceiling covering `id` is durable, at once when
   * `id` is already below the next id.
   *
   * @throws PdError `STORAGE` when the ceiling could not be made durable.
   */
  skipPast(id: bigint): Promise<void> | undefined {
    if (id < this.#next) return undefined;
    this.#next = id + 1n;
    return this.#checkpoint.raise("id", clamp(id + this.#window));
  }

  /**
   * Reserves `count` ids (0 means 1). Returns the run at once when it lies
   * under the durable ceiling, else a promise that resolves once a covering
   * ceiling is durable.
   *
   * @throws PdError `INVALID_ARGUMENT` for a count above the cap,
   *   `ALLOCATOR_EXHAUSTED` when the run would pass 2^64-1, `STORAGE` when
   *   the ceiling could not be made durable (the run is then skipped).
   */
  alloc(count: bigint): Run | Promise<Run> {
    const n = normaliseCount("alloc id", count, this.#maxCount);
    const first = this.#next;
    const last = first + n - 1n;
    if (last > MAX_UINT64) {
      throw new PdError("ALLOCATOR_EXHAUSTED", `id allocator: ${n} id(s) from ${first} would pass 2^64-1`);
    }
    this.#next = last + 1n;
    const run: Run = { first, count: n };
    const ceiling = this.#checkpoint.durable.idCurrent;
    const ahead = n > this.#window ? n : this.#window;
    if (last <= ceiling) {
      // Refill a window ahead of need so callers rarely wait for a write.
      if (ceiling - last < this.#window / 2n) this.#checkpoint.raiseInBackground("id", clamp(ceiling + this.#window));
      return run;
    }
    return this.#checkpoint.raise("id", clamp(first - 1n + ahead)).then(() => run);
  }
}

function clamp(v: bigint): bigint {
  return v > MAX_UINT64 ? MAX_UINT64 : v;
}
