import type { AllocatorState, ClusterPersistence, ClusterSnapshot, RegionEdit } from "@nokv/pd-core";
import type { Region, SchedulingConfig } from "@nokv/pd-model";

/**
 * PD's persistence contract, implemented by every backend (memory,
 * local-file, and distributed ones). It is exactly what `@nokv/pd-core`'s
 * `Cluster` needs plus loading and closing.
 *
 * Guarantees every backend gives:
 * - `appendRegionEdits` resolves only once all its edits are durable; a
 *   rejected append leaves none of them visible, now or after a restart.
 *   Concurrent appends never interleave: each is one atomic unit.
 * - `saveAllocatorState` resolves only once the state is durable; a crash
 *   leaves either the old or the new state, never a torn one.
 * - `saveSchedulingConfig` likewise for the scheduling configuration
 *   (max-replicas, store limits, paused schedulers); `load` returns it as
 *   `schedulingConfig`, or leaves it out when none was ever saved.
 * - `load` returns what was acknowledged, and fails loudly (PdError
 *   `STORAGE` naming the file or key and the offset) on corruption rather
 *   than returning an empty or partial state.
 * - After `close`, writes reject with PdError `UNAVAILABLE`.
 */
export interface Store extends ClusterPersistence {
  /** Human-readable name for logs, e.g. `local-file /var/lib/nokv-pd`. */
  readonly description: string;
  /** The durable regions, allocator ceilings and scheduling configuration. */
  load(): Promise<ClusterSnapshot>;
  appendRegionEdits(edits: readonly RegionEdit[]): Promise<void>;
  saveAllocatorState(state: AllocatorState): Promise<void>;
  saveSchedulingConfig(config: SchedulingConfig): Promise<void>;
  /** Waits for in-flight writes, then releases files and locks. Idempotent. */
  close(): Promise<void>;
}

/** Convenience: durably stores one region (an append of one `put` edit). */
export function saveRegion(store: Store, region: Region): Promise<void> {
  return store.appendRegionEdits([{ kind: "put", region }]);
}

/** Convenience: durably deletes one region (an append of one `delete` edit). */
export function deleteRegion(store: Store, regionId: bigint): Promise<void> {
  return store.appendRegionEdits([{ kind: "delete", regionId }]);
}
