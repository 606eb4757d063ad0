import type { StoreStats } from "@nokv/pd-model";
import { PdError } from "../errors.js";

/** A store as PD knows it: its last reported stats and when they arrived. */
export interface StoreInfo extends StoreStats {
  /** Wall-clock ms of the last heartbeat: for people and reports, never for deciding. */
  readonly lastHeartbeatMs: number;
  /** Monotonic ms of the last heartbeat: what liveness is measured from (a wall clock can step). */
  readonly lastHeartbeatMonoMs: number;
}

/**
 * The stores that have sent heartbeats since start-up. Store state is soft:
 * it is rebuilt from heartbeats after a restart, never persisted.
 */
export class StoreRegistry {
  readonly #stores = new Map<bigint, StoreInfo>();
  readonly #nowMs: () => number;
  readonly #monoMs: () => number;

  /** `nowMs`: the wall clock (reported times); `monoMs`: a monotonic clock (elapsed time). */
  constructor(nowMs: () => number = Date.now, monoMs: () => number = () => performance.now()) {
    this.#nowMs = nowMs;
    this.#monoMs = monoMs;
  }

  /**
   * Records a heartbeat.
   *
   * @throws PdError `INVALID_ARGUMENT` for store id 0.
   */
  heartbeat(stats: StoreStats): StoreInfo {
    if (stats.storeId === 0n) throw new PdError("INVALID_ARGUMENT", "store id must be non-zero");
    const info: StoreInfo = {
      storeId: stats.storeId,
      regionNum: stats.regionNum,
      leaderNum: stats.leaderNum,
      capacity: stats.capacity,
      available: stats.available,
      ...(stats.usedSize !== undefined && { usedSize: stats.usedSize }),
      ...(stats.bytesWritten !== undefined && { bytesWritten: stats.bytesWritten }),
      ...(stats.keysWritten !== undefined && { keysWritten: stats.keysWritten }),
      lastHeartbeatMs: this.#nowMs(),
      lastHeartbeatMonoMs: this.#monoMs(),
    };
    this.#stores.set(stats.storeId, info);
    return info;
  }

  /** The store with this id, if it has sent a heartbeat. */
  get(storeId: bigint): StoreInfo | undefined {
    return this.#stores.get(storeId);
  }

  /** Every known store, by ascending id. */
  list(): StoreInfo[] {
    return [...this.#stores.values()].sort((a, b) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0));
  }

  /** Number of known stores. */
  get size(): number {
    return this.#stores.size;
  }
}
