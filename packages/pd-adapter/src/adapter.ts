import {
  createPdClient,
  type PdClient,
  type PdClientOptions,
  type Region,
  type StoreStats,
} from "@nokv/pd-client";
import { operationFromPd, operationKey } from "./convert.js";
import type { Operation, PdAdapterCall, PdAdapterStats } from "./types.js";

/**
 * Options of {@link createPdAdapter}: either a `client` to use, or `addr` /
 * `endpoints` (plus `clientOptions`) for a client the adapter creates and owns.
 */
export interface PdAdapterOptions {
  /** An existing client. The adapter does not close it. */
  readonly client?: PdClient;
  /** PD endpoint(s) `host:port` for a client the adapter creates (comma-separated allowed). */
  readonly addr?: string;
  /** PD endpoints for a client the adapter creates. */
  readonly endpoints?: readonly string[];
  /** Further options of the client the adapter creates. */
  readonly clientOptions?: Omit<PdClientOptions, "addr" | "endpoints">;
  /** Deadline of each PD call in ms, retries included. Default 2000. */
  readonly timeoutMs?: number;
  /**
   * Receives every failed call (the adapter never throws or rejects for a PD
   * failure). Default: one `console.warn` line. Exceptions it throws are ignored.
   */
  readonly onError?: (call: PdAdapterCall, err: unknown) => void;
  /**
   * Most operations kept for `plan()`. When full, the oldest is dropped and
   * counted in `stats().dropped`. Default 1024.
   */
  readonly maxQueuedOperations?: number;
}

/**
 * The store-side scheduler sink: forwards heartbeats to PD and queues the
 * operations PD answers with until the store asks for them with `plan()`.
 *
 * Every method resolves, never rejects: PD failures go to `onError`. Zero ids
 * are ignored without an RPC, as NoKV's Go adapter does.
 */
export interface PdAdapter {
  /** The PD client in use. */
  readonly client: PdClient;
  /**
   * Sends a store heartbeat and queues the valid leader transfers PD returns.
   * Resolves to the number of operations newly queued (0 on error or when
   * `storeId` is 0).
   */
  submitStoreHeartbeat(stats: StoreStats): Promise<number>;
  /** Sends a region heartbeat. Resolves to PD's `accepted` (false on error or id 0). */
  submitRegionHeartbeat(region: Region): Promise<boolean>;
  /** Removes a region from PD. Resolves to whether PD had it (false on error or id 0). */
  removeRegion(regionId: bigint): Promise<boolean>;
  /** Drains the queue: the pending operations, oldest first. */
  plan(): Operation[];
  /** A snapshot of the adapter's counters. */
  stats(): PdAdapterStats;
  /**
   * Stops the adapter: later calls are ignored (no RPC). Closes the client
   * only if the adapter created it. Idempotent.
   */
  close(): void;
}

/** Default bound of the operation queue. */
export const DEFAULT_MAX_QUEUED_OPERATIONS = 1024;

/** Default deadline of one adapter call, in ms. */
export const DEFAULT_ADAPTER_TIMEOUT_MS = 2000;

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, " ");
}

/** The default `onError`: one warning line per failure. */
export function warnOnError(call: PdAdapterCall, err: unknown): void {
  console.warn(`pd adapter: ${call} failed: ${oneLine(err)}`);
}

/**
 * Creates a {@link PdAdapter}.
 *
 * @throws TypeError when both `client` and an address are given.
 * @throws RangeError when `timeoutMs` or `maxQueuedOperations` is out of range.
 * @throws PdClientError `INVALID_ARGUMENT` when no client and no address is given.
 */
export function createPdAdapter(options: PdAdapterOptions): PdAdapter {
  const hasAddress = options.addr !== undefined || options.endpoints !== undefined;
  if (options.client !== undefined && hasAddress) {
    throw new TypeError("pd adapter: pass either `client` or `addr`/`endpoints`, not both");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_ADAPTER_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError(`pd adapter: timeoutMs must be positive, got ${timeoutMs}`);
  const maxQueued = options.maxQueuedOperations ?? DEFAULT_MAX_QUEUED_OPERATIONS;
  if (!Number.isInteger(maxQueued) || maxQueued < 1) {
    throw new RangeError(`pd adapter: maxQueuedOperations must be a positive integer, got ${maxQueued}`);
  }
  const owned = options.client === undefined;
  const client =
    options.client ??
    createPdClient({
      ...options.clientOptions,
      ...(options.addr !== undefined ? { addr: options.addr } : {}),
      ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}),
    });
  const onError = options.onError ?? warnOnError;
  const callOptions = { timeoutMs };

  let queue: Operation[] = [];
  let queuedKeys = new Set<string>();
  let closed = false;
  const counters = { enqueued: 0, dropped: 0, deduplicated: 0, invalid: 0, errors: 0 };

  const report = (call: PdAdapterCall, err: unknown): void => {
    counters.errors += 1;
    try {
      onError(call, err);
    } catch {
      // A failing error handler must not turn a heartbeat into a crash.
    }
  };

  const enqueue = (op: Operation): boolean => {
    const key = operationKey(op);
    if (queuedKeys.has(key)) {
      counters.deduplicated += 1;
      return false;
    }
    if (queue.length >= maxQueued) {
      const oldest = queue.shift();
      if (oldest !== undefined) queuedKeys.delete(operationKey(oldest));
      counters.dropped += 1;
    }
    queue.push(op);
    queuedKeys.add(key);
    counters.enqueued += 1;
    return true;
  };

  return {
    client,

    async submitStoreHeartbeat(stats: StoreStats): Promise<number> {
      if (closed || stats.storeId === 0n) return 0;
      let operations;
      try {
        ({ operations } = await client.storeHeartbeat(stats, callOptions));
      } catch (err) {
        report("StoreHeartbeat", err);
        return 0;
      }
      let added = 0;
      for (const raw of operations) {
        const op = operationFromPd(raw);
        if (op === undefined) counters.invalid += 1;
        else if (enqueue(op)) added += 1;
      }
      return added;
    },

    async submitRegionHeartbeat(region: Region): Promise<boolean> {
      if (closed || region.id === 0n) return false;
      try {
        return await client.regionHeartbeat(region, callOptions);
      } catch (err) {
        report("RegionHeartbeat", err);
        return false;
      }
    },

    async removeRegion(regionId: bigint): Promise<boolean> {
      if (closed || regionId === 0n) return false;
      try {
        return await client.removeRegion(regionId, callOptions);
      } catch (err) {
        report("RemoveRegion", err);
        return false;
      }
    },

    plan(): Operation[] {
      const out = queue;
      queue = [];
      queuedKeys = new Set();
      return out;
    },

    stats(): PdAdapterStats {
      return { queued: queue.length, ...counters };
    },

    close(): void {
      if (closed) return;
      closed = true;
      if (owned) client.close();
    },
  };
}
