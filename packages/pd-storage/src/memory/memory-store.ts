import { type AllocatorState, type ClusterSnapshot, PdError, type RegionEdit } from "@nokv/pd-core";
import type { Region, SchedulingConfig } from "@nokv/pd-model";
import type { Store } from "../store.js";

/**
 * A {@link Store} in memory: nothing survives the process. For tests and for
 * running PD without `--workdir`. Follows the same contract as the durable
 * backends (atomic appends, closed-store errors).
 */
export class MemoryStore implements Store {
  readonly description = "memory";
  readonly #regions = new Map<bigint, Region>();
  #allocator: AllocatorState = { idCurrent: 0n, tsCurrent: 0n };
  #scheduling: SchedulingConfig | undefined;
  #closed = false;

  async load(): Promise<ClusterSnapshot> {
    this.#checkOpen();
    return {
      regions: [...this.#regions.values()],
      allocator: this.#allocator,
      ...(this.#scheduling !== undefined && { schedulingConfig: this.#scheduling }),
    };
  }

  async saveSchedulingConfig(config: SchedulingConfig): Promise<void> {
    this.#checkOpen();
    this.#scheduling = config;
  }

  async appendRegionEdits(edits: readonly RegionEdit[]): Promise<void> {
    this.#checkOpen();
    for (const e of edits) {
      if (e.kind === "put") this.#regions.set(e.region.id, e.region);
      else this.#regions.delete(e.regionId);
    }
  }

  async saveAllocatorState(state: AllocatorState): Promise<void> {
    this.#checkOpen();
    this.#allocator = state;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new PdError("UNAVAILABLE", "memory store: closed");
  }
}

/** Creates an empty {@link MemoryStore}. */
export function createMemoryStore(): MemoryStore {
  return new MemoryStore();
}
