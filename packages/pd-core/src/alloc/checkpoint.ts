import { PdError } from "../errors.js";

/**
 * The allocators' durable ceilings: no id above `idCurrent` and no timestamp
 * above `tsCurrent` has ever been handed out. Stored in `PD_STATE.json` by the
 * local-file backend (Go PD's field names).
 */
export interface AllocatorState {
  readonly idCurrent: bigint;
  readonly tsCurrent: bigint;
}

/** Where ceilings are made durable; pd-storage implements it. Resolves only once durable. */
export interface CheckpointStore {
  saveAllocatorState(state: AllocatorState): Promise<void>;
}

type Kind = "id" | "ts";
interface Waiter {
  readonly kind: Kind;
  readonly target: bigint;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Keeps both allocator ceilings durable with as few writes as possible.
 * Raises that arrive while a write is in flight are merged into the next
 * write (group commit); each caller's promise resolves only once a write
 * covering its target is durable. Ceilings never go down, not even in memory
 * after a failed write.
 */
export class Checkpointer {
  #durable: AllocatorState;
  #wantedId: bigint;
  #wantedTs: bigint;
  #waiters: Waiter[] = [];
  #writing = false;
  #writes = 0;
  readonly #store: CheckpointStore;
  readonly #onBackgroundError: (err: unknown) => void;

  constructor(store: CheckpointStore, restored: AllocatorState, onBackgroundError?: (err: unknown) => void) {
    this.#store = store;
    this.#durable = restored;
    this.#wantedId = restored.idCurrent;
    this.#wantedTs = restored.tsCurrent;
    this.#onBackgroundError = onBackgroundError ?? (() => {});
  }

  /** The ceilings known durable. */
  get durable(): AllocatorState {
    return this.#durable;
  }

  /** Number of completed durable writes (for benchmarks and tests). */
  get writes(): number {
    return this.#writes;
  }

  /**
   * Resolves once the `kind` ceiling is durably at least `target`.
   *
   * @throws PdError `STORAGE` when the write failed (the ceiling is then unchanged).
   */
  raise(kind: Kind, target: bigint): Promise<void> {
    const durable = kind === "id" ? this.#durable.idCurrent : this.#durable.tsCurrent;
    if (target <= durable) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#want(kind, target);
      this.#waiters.push({ kind, target, resolve, reject });
      this.#kick();
    });
  }

  /** Like {@link raise} without waiting; a failure goes to the background error handler. */
  raiseInBackground(kind: Kind, target: bigint): void {
    if (this.#writing) {
      // Folded into the next write, which the in-flight one will start.
      this.#want(kind, target);
      return;
    }
    this.raise(kind, target).catch(this.#onBackgroundError);
  }

  #want(kind: Kind, target: bigint): void {
    if (kind === "id") {
      if (target > this.#wantedId) this.#wantedId = target;
    } else if (target > this.#wantedTs) {
      this.#wantedTs = target;
    }
  }

  #kick(): void {
    if (this.#writing) return;
    this.#writing = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      while (
        this.#waiters.length > 0 ||
        this.#wantedId > this.#durable.idCurrent ||
        this.#wantedTs > this.#durable.tsCurrent
      ) {
        const next: AllocatorState = { idCurrent: this.#wantedId, tsCurrent: this.#wantedTs };
        const waiting = this.#waiters;
        this.#waiters = [];
        try {
          await this.#store.saveAllocatorState(next);
        } catch (cause) {
          const err =
            cause instanceof PdError
              ? cause
              : new PdError("STORAGE", `allocator checkpoint: write failed: ${(cause as Error)?.message ?? cause}`, {
                  cause,
                });
          for (const w of waiting) w.reject(err);
          if (this.#waiters.length === 0) return;
          continue;
        }
        this.#writes++;
        this.#durable = next;
        for (const w of waiting) w.resolve();
        // Raises that arrived during this write and are covered by it need no
        // write of their own (an allocator that ran into its ceiling while the
        // background refill was in flight waits for that refill, not for a
        // second, identical write).
        if (this.#waiters.length > 0) {
          const uncovered: Waiter[] = [];
          for (const w of this.#waiters) {
            if (w.target <= (w.kind === "id" ? next.idCurrent : next.tsCurrent)) w.resolve();
            else uncovered.push(w);
          }
          this.#waiters = uncovered;
        }
      }
    } finally {
      this.#writing = false;
    }
  }
}
