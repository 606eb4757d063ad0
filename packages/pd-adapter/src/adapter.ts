import { setMaxListeners } from "node:events";
import {
  createPdClient,
  DEFAULT_TIMEOUT_MS,
  EXECUTABLE_OPERATION_KINDS,
  type ExecutableOperationKind,
  PdClientError,
  type PdClient,
  type PdClientOptions,
  type Region,
  type RegionHeartbeatExtras,
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
  /**
   * Deadline of each PD call in ms, retries and the wait for a new PD leader
   * included. Default: pd-client's default (10 000), so a PD failover delays
   * a heartbeat instead of failing it.
   */
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
  /**
   * The operation kinds this store executes, sent with every store
   * heartbeat (its capabilities). Without them — what NoKV's Go stores are —
   * the heartbeat is the original request, byte for byte, and PD sends
   * leader transfers only, as it always did. With them PD also plans
   * membership changes the store's regions need (repair, balance) and sends
   * each step, with an operator id and the region epoch it was planned
   * against, to the store leading the region; the adapter delivers only the
   * kinds listed. List every kind (`EXECUTABLE_OPERATION_KINDS`) to take
   * part in all of PD's scheduling.
   */
  readonly capabilities?: readonly ExecutableOperationKind[];
  /**
   * Operations with an operator id remembered after `plan()` delivered
   * them, so that PD's repeats of a step (it sends one again until it sees
   * it take effect) are delivered once. The oldest are forgotten first.
   * Default 4096.
   */
  readonly maxRememberedOperations?: number;
}

/**
 * The store-side scheduler sink: forwards heartbeats to PD and queues the
 * operations PD answers with until the store asks for them with `plan()`:
 * typed per kind, validated, and de-duplicated (by operator id and step, so
 * a step PD repeats is delivered once until the store forgets it).
 *
 * Every method resolves, never rejects: PD failures go to `onError`. Zero ids
 * are ignored without an RPC, as NoKV's Go adapter does.
 */
export interface PdAdapter {
  /** The PD client in use. */
  readonly client: PdClient;
  /** The capabilities sent with every store heartbeat; undefined: none (a NoKV Go store's behaviour). */
  readonly capabilities: readonly ExecutableOperationKind[] | undefined;
  /**
   * Sends a store heartbeat (with the adapter's capabilities, when it has
   * them; `usedSize`, `bytesWritten` and `keysWritten` when the stats give
   * them) and queues the valid operations PD returns. Resolves to the number
   * of operations newly queued (0 on error, when aborted, or when `storeId`
   * is 0).
   */
  submitStoreHeartbeat(stats: StoreStats, options?: PdAdapterCallOptions): Promise<number>;
  /**
   * Sends a region heartbeat, with what the region's leader knows of it
   * (`extras`: leader peer, approximate size and keys, bytes and keys
   * written, down and pending peers, learners; see pd-client's
   * `regionHeartbeat`). PD schedules a region's membership only once its
   * leader reports the peers' state (`downPeers`, `pendingPeers`,
   * `learnerPeerIds`, empty lists meaning none). Resolves to PD's `accepted`
   * (false on error, when aborted, or for id 0).
   */
  submitRegionHeartbeat(region: Region, extras?: RegionHeartbeatExtras, options?: PdAdapterCallOptions): Promise<boolean>;
  /** Removes a region from PD. Resolves to whether PD had it (false on error, when aborted, or for id 0). */
  removeRegion(regionId: bigint, options?: PdAdapterCallOptions): Promise<boolean>;
  /** Drains the queue: the pending operations, oldest first. */
  plan(): Operation[];
  /**
   * Forgets that `op` was delivered: the store could not carry it out (it
   * was not the leader any more, the epoch differed, raft refused it), so
   * PD's next repeat of it is delivered again. Returns whether it was
   * remembered. Only operations with an operator id are remembered.
   */
  forgetOperation(op: Operation): boolean;
  /** A snapshot of the adapter's counters. */
  stats(): PdAdapterStats;
  /**
   * Stops the adapter: calls in flight end at once (resolving 0 / false) and
   * later calls are ignored (no RPC). Closes the client only if the adapter
   * created it. Idempotent.
   */
  close(): void;
}

/** Options of one adapter call. */
export interface PdAdapterCallOptions {
  /**
   * Ends the call at once when aborted: it resolves 0 / false and nothing
   * goes to `onError` (a stop is not a failure). Pass the heartbeat loop's
   * tick signal, so that `loop.stop()` never waits for PD.
   */
  readonly signal?: AbortSignal;
}

/** Default bound of the operation queue. */
export const DEFAULT_MAX_QUEUED_OPERATIONS = 1024;

/** Default number of delivered operations remembered to drop PD's repeats. */
export const DEFAULT_MAX_REMEMBERED_OPERATIONS = 4096;

/** Default deadline of one adapter call, in ms: pd-client's default, which covers a PD failover. */
export const DEFAULT_ADAPTER_TIMEOUT_MS = DEFAULT_TIMEOUT_MS;

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
 * @throws TypeError when both `client` and an address are given, or a
 *   capability is not an operation kind or is listed twice.
 * @throws RangeError when `timeoutMs`, `maxQueuedOperations` or
 *   `maxRememberedOperations` is out of range.
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
  const maxRemembered = options.maxRememberedOperations ?? DEFAULT_MAX_REMEMBERED_OPERATIONS;
  if (!Number.isInteger(maxRemembered) || maxRemembered < 1) {
    throw new RangeError(`pd adapter: maxRememberedOperations must be a positive integer, got ${maxRemembered}`);
  }
  const capabilities = options.capabilities === undefined ? undefined : checkCapabilities(options.capabilities);
  const executes = capabilities === undefined ? undefined : new Set(capabilities);
  const owned = options.client === undefined;
  const client =
    options.client ??
    createPdClient({
      ...options.clientOptions,
      ...(options.addr !== undefined ? { addr: options.addr } : {}),
      ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}),
    });
  const onError = options.onError ?? warnOnError;
  // Aborted by close(): calls in flight end at once, owned client or not.
  const closing = new AbortController();
  // Every call in flight listens to it, and stops listening when it ends.
  setMaxListeners(0, closing.signal);

  let queue: Operation[] = [];
  let queuedKeys = new Set<string>();
  // Delivered operations with an operator id, oldest first (a Set iterates in insertion order).
  const delivered = new Set<string>();
  let closed = false;
  const counters = { enqueued: 0, dropped: 0, deduplicated: 0, invalid: 0, errors: 0 };

  /** Runs one client call under the caller's signal and close(); either ends it quietly. */
  const call = async <T>(
    name: PdAdapterCall,
    signal: AbortSignal | undefined,
    fallback: T,
    run: (o: { timeoutMs: number; signal: AbortSignal }) => Promise<T>,
  ): Promise<T> => {
    if (signal?.aborted) return fallback;
    const linked = linkSignals(signal, closing.signal);
    try {
      return await run({ timeoutMs, signal: linked.signal });
    } catch (err) {
      const stopped = err instanceof PdClientError && (err.code === "CANCELLED" || err.code === "CLOSED") && (linked.signal.aborted || closed);
      if (!stopped) report(name, err);
      return fallback;
    } finally {
      linked.detach();
    }
  };
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
    if (queuedKeys.has(key) || delivered.has(key)) {
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
    capabilities,

    async submitStoreHeartbeat(stats: StoreStats, options?: PdAdapterCallOptions): Promise<number> {
      if (closed || stats.storeId === 0n) return 0;
      const heartbeat = capabilities === undefined ? stats : { ...stats, capabilities };
      const res = await call("StoreHeartbeat", options?.signal, undefined, (o) => client.storeHeartbeat(heartbeat, o));
      if (res === undefined) return 0;
      const { operations } = res;
      let added = 0;
      for (const raw of operations) {
        const op = operationFromPd(raw, executes);
        if (op === undefined) counters.invalid += 1;
        else if (enqueue(op)) added += 1;
      }
      return added;
    },

    async submitRegionHeartbeat(region: Region, extras?: RegionHeartbeatExtras, options?: PdAdapterCallOptions): Promise<boolean> {
      if (closed || region.id === 0n) return false;
      return call("RegionHeartbeat", options?.signal, false, (o) => client.regionHeartbeat(region, extras, o));
    },

    async removeRegion(regionId: bigint, options?: PdAdapterCallOptions): Promise<boolean> {
      if (closed || regionId === 0n) return false;
      return call("RemoveRegion", options?.signal, false, (o) => client.removeRegion(regionId, o));
    },

    plan(): Operation[] {
      const out = queue;
      queue = [];
      queuedKeys = new Set();
      for (const op of out) {
        if (op.operatorId === undefined) continue;
        delivered.add(operationKey(op));
        if (delivered.size > maxRemembered) delivered.delete(delivered.values().next().value!);
      }
      return out;
    },

    forgetOperation(op: Operation): boolean {
      return delivered.delete(operationKey(op));
    },

    stats(): PdAdapterStats {
      return { queued: queue.length, ...counters };
    },

    close(): void {
      if (closed) return;
      closed = true;
      closing.abort();
      if (owned) client.close();
    },
  };
}

/** Checks the capabilities option: operation kinds, each once; returns a frozen copy. */
function checkCapabilities(kinds: readonly ExecutableOperationKind[]): readonly ExecutableOperationKind[] {
  if (!Array.isArray(kinds)) throw new TypeError("pd adapter: capabilities must be an array of operation kinds");
  const out: ExecutableOperationKind[] = [];
  for (const k of kinds) {
    if (!EXECUTABLE_OPERATION_KINDS.includes(k)) {
      throw new TypeError(`pd adapter: capability ${JSON.stringify(k)} is not an operation kind (${EXECUTABLE_OPERATION_KINDS.join(", ")})`);
    }
    if (out.includes(k)) throw new TypeError(`pd adapter: capability ${k} is listed twice`);
    out.push(k);
  }
  return Object.freeze(out);
}

/**
 * A signal that fires when either given signal does, and `detach()` to drop
 * its listeners once the call is over (a long-lived signal such as a
 * loop's must not collect one listener per call). `AbortSignal.any` would do
 * this from Node 20.3; the package supports every Node 20.
 */
function linkSignals(a: AbortSignal | undefined, b: AbortSignal): { signal: AbortSignal; detach: () => void } {
  if (a === undefined) return { signal: b, detach: () => {} };
  const both = new AbortController();
  const abort = (): void => both.abort(a.aborted ? a.reason : b.reason);
  if (a.aborted || b.aborted) {
    abort();
    return { signal: both.signal, detach: () => {} };
  }
  a.addEventListener("abort", abort, { once: true });
  b.addEventListener("abort", abort, { once: true });
  return {
    signal: both.signal,
    detach: () => {
      a.removeEventListener("abort", abort);
      b.removeEventListener("abort", abort);
    },
  };
}
