import { setMaxListeners } from "node:events";
import { credentials as grpcCredentials, status as GrpcStatus, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import {
  membersFromWire,
  operatorInfoFromWire,
  schedulerInfoFromWire,
  schedulingConfigFromWire,
  storeStatusFromWire,
  bytesToWire as keyToWire,
} from "@nokv/pd-proto";
import { checkTimeoutMs, Deadline, monotonicNowMs } from "./call/deadline.js";
import { Invoker } from "./call/invoker.js";
import { resolveRetryPolicy, type RetryOptions } from "./call/retry.js";
import {
  checkKey,
  checkRegion,
  checkUint64,
  idRangeFromWire,
  regionFromWire,
  regionHeartbeatToWire,
  regionPageFromWire,
  schedulingChangeToWire,
  storeHeartbeatFromWire,
  storeHeartbeatToWire,
} from "./convert.js";
import { abortedError, closedError, invalidArgument, PdClientError, protocolError } from "./errors.js";
import { Channels, parseEndpoints } from "./leader/endpoints.js";
import { decodeHealthCheckResponse, encodeHealthCheckRequest, HEALTH_CHECK_PATH } from "./leader/health.js";
import { LeaderTracker } from "./leader/leader-tracker.js";
import { ClientMetrics, type PdClientMetrics, type PdClientMetricsObserver } from "./metrics/client-metrics.js";
import { RegionLocator, type RegionLocation } from "./route/region-locator.js";
import { RouteCache, type RouteCacheOptions } from "./route/route-cache.js";
import { DEFAULT_MAX_PENDING_TSO_REQUESTS, MAX_TSO_BATCH, TsoBatcher, type TsoBatchingOptions } from "./tso/tso-batcher.js";
import { TsoTransport } from "./tso/tso-transport.js";
import type {
  GetRegionOptions,
  HealthCheckOptions,
  HealthStatus,
  IdRange,
  ListOperatorsOptions,
  ListRegionsOptions,
  OperatorInfo,
  PdCallOptions,
  PdClientStats,
  PdClientTlsOptions,
  PdMembers,
  Region,
  RegionHeartbeatExtras,
  RegionPage,
  SchedulerInfo,
  SchedulingConfig,
  SchedulingConfigChange,
  StoreHeartbeat,
  StoreHeartbeatResult,
  StoreStatus,
  TimestampRange,
} from "./types.js";

/** Options of {@link createPdClient}. Give `addr`, `endpoints`, or both. */
export interface PdClientOptions {
  /** A PD endpoint `host:port`, or several separated by commas. */
  readonly addr?: string;
  /**
   * PD endpoints `host:port`; the first is tried first. Give every PD member:
   * the client also learns members from `GetMembers` and leader redirects.
   */
  readonly endpoints?: readonly string[];
  /**
   * Default overall deadline of a call in ms: retries, backoff and the wait
   * for a new leader included. Default 10 000 ({@link DEFAULT_TIMEOUT_MS}); at
   * most 2^31 - 1.
   */
  readonly timeoutMs?: number;
  /** Retry policy, or `false` for a single attempt per call. */
  readonly retry?: RetryOptions | false;
  /** Route cache for `getRegionByKey` and the range helpers, or `false` to always ask PD. */
  readonly routeCache?: RouteCacheOptions | false;
  /** Timestamp batching, or `false` for one `Tso` request per call. */
  readonly tsoBatching?: TsoBatchingOptions | false;
  /**
   * Send timestamp requests on one `TsoStream` to the leader (default
   * `true`). An endpoint that does not offer it (an older PD) is remembered
   * and gets unary `Tso` RPCs; `false` always uses unary RPCs.
   */
  readonly tsoStream?: boolean;
  /**
   * Channel credentials, from the application's own `@grpc/grpc-js` (a peer
   * dependency of this package, so there is one grpc-js). Default: insecure
   * (plaintext), as NoKV's PD serves.
   */
  readonly credentials?: ChannelCredentials;
  /**
   * TLS (PEM contents): `caCert` to verify PD, `cert` + `key` for mutual TLS.
   * A friendlier alternative to `credentials`; give one or the other.
   */
  readonly tls?: PdClientTlsOptions;
  /** Extra grpc-js channel options, merged over the client's defaults. */
  readonly channelOptions?: ChannelOptions;
  /** Receives every latency and TSO batch-size observation (e.g. to feed prom-client). */
  readonly metricsObserver?: PdClientMetricsObserver;
  /**
   * Monotonic clock in ms for route-cache expiry. Default `performance.now`.
   * Injectable so tests can move time without waiting.
   */
  readonly nowMs?: () => number;
}

/**
 * A typed client of NoKV's PD. Every method returns a promise; failures are
 * {@link PdClientError}s. Ids, epochs, counts and timestamps are `bigint`.
 *
 * Failover is a delay, not an error: when the PD leader dies, calls wait
 * (within their deadline) for the new leader and resume right after its
 * first answer.
 */
export interface PdClient {
  /** The endpoints this client knows, leaders and members learned included. */
  readonly endpoints: readonly string[];
  /**
   * Waits until a connection to some PD endpoint is up (calls do this on their
   * own; use it to fail fast at start-up). Rejects with `DEADLINE_EXCEEDED`
   * naming every endpoint tried.
   */
  connect(options?: PdCallOptions): Promise<void>;
  /**
   * Reports a store's stats (and, when given, the operation kinds it
   * executes: `capabilities`); resolves to PD's answer with the operations
   * PD wants the store to run (unvalidated: `@nokv/pd-adapter` types,
   * validates and de-duplicates them). Retried on retryable errors. A
   * heartbeat without `capabilities`, `usedSize`, `bytesWritten` and
   * `keysWritten` is byte for byte what NoKV's Go stores send.
   */
  storeHeartbeat(stats: StoreHeartbeat, options?: PdCallOptions): Promise<StoreHeartbeatResult>;
  /**
   * Reports a region and, in `extras`, what its leader knows of it (its
   * leader peer, approximate size and keys, bytes and keys written, down
   * and pending peers, learners; every peer named must be one of the
   * region's); resolves to `accepted`. Retried on retryable errors (a
   * repeated heartbeat is harmless). A stale region rejects with
   * `STALE_EPOCH` or `RANGE_OVERLAP` (status `FAILED_PRECONDITION`, not
   * retried). Without `extras` the request is what NoKV's Go stores send.
   */
  regionHeartbeat(region: Region, extras?: RegionHeartbeatExtras, options?: PdCallOptions): Promise<boolean>;
  /**
   * Removes a region from PD's catalog; resolves to whether it existed, and
   * drops it from the route cache. Retried only when PD surely did nothing
   * (`NOT_LEADER`, or no connection was made): a retry after a lost answer
   * could wrongly report `false`.
   */
  removeRegion(regionId: bigint, options?: PdCallOptions): Promise<boolean>;
  /**
   * The region holding `key`, or `undefined` when PD has none (not-found is
   * not an error, and is not cached). Served from the route cache unless
   * `bypassCache`; concurrent lookups of one key share one RPC; answers from
   * PD refresh the cache. Retried on retryable errors.
   */
  getRegionByKey(key: Uint8Array, options?: GetRegionOptions): Promise<Region | undefined>;
  /**
   * Like {@link PdClient.getRegionByKey}, with the leader peer a store named
   * through {@link PdClient.updateLeader} (PD does not tell leaders).
   */
  locateKey(key: Uint8Array, options?: PdCallOptions): Promise<RegionLocation | undefined>;
  /**
   * The regions covering `[startKey, endKey)` in key order (an empty
   * `endKey` is +infinity; an empty range has none): from the route cache
   * where it holds them, one lookup per missing region otherwise.
   */
  getRegionsInRange(startKey: Uint8Array, endKey: Uint8Array, options?: PdCallOptions): Promise<Region[]>;
  /**
   * The region just before the one holding `key` (whose end key is that
   * region's start key), or `undefined` before the first region. Cached.
   */
  getPrevRegion(key: Uint8Array, options?: PdCallOptions): Promise<Region | undefined>;
  /**
   * Feeds the regions of a store's "epoch not match" answer into the route
   * cache (as client-go's `OnRegionEpochNotMatch`): each replaces what it
   * overlaps unless the cache holds something newer, so a split costs no
   * extra round trip to PD. Returns whether any was taken.
   *
   * @throws PdClientError `INVALID_ARGUMENT` for a malformed region.
   */
  onEpochNotMatch(regions: readonly Region[]): boolean;
  /**
   * Records that a store named `storeId` as the leader of `regionId` (a
   * "not leader" answer), for {@link PdClient.locateKey}. Returns false when
   * the region is not cached; when the cached region has no peer on that
   * store, it is stale and is dropped (false too).
   */
  updateLeader(regionId: bigint, storeId: bigint): boolean;
  /**
   * Reserves `count` (default 1; 0 means 1, as on the wire) consecutive ids.
   * Retried on retryable errors: a lost answer skips ids, never duplicates one.
   */
  allocId(count?: bigint, options?: PdCallOptions): Promise<IdRange>;
  /**
   * One timestamp from PD's sequence, unique across all callers and above
   * every timestamp this client had handed out when the call was made.
   * Concurrent calls of one event-loop turn share one request (unless
   * batching is off). Retried on retryable errors: a lost answer only skips
   * timestamps, it can never hand one out twice.
   */
  getTimestamp(options?: PdCallOptions): Promise<bigint>;
  /**
   * `count` consecutive timestamps (1..2^18; 0 means 1), batched like
   * {@link PdClient.getTimestamp}. Larger runs throw `INVALID_ARGUMENT`: one
   * `Tso` call cannot grant more.
   */
  getTimestamps(count: bigint, options?: PdCallOptions): Promise<TimestampRange>;
  /**
   * The stores PD knows, with their last stats and liveness, by ascending id
   * (`ListStores`; leader only, retried on retryable errors).
   */
  listStores(options?: PdCallOptions): Promise<StoreStatus[]>;
  /**
   * One page of regions in key order from the region holding `startKey`
   * (`ListRegions`). Follow `nextStartKey` for the next page. Limits above
   * PD's maximum fail with `INVALID_ARGUMENT`.
   */
  listRegions(options?: ListRegionsOptions): Promise<RegionPage>;
  /** The region with this id, or `undefined` when PD has none (`GetRegionById`; not cached). */
  getRegionById(regionId: bigint, options?: PdCallOptions): Promise<Region | undefined>;
  /** PD's members and the current leader (`GetMembers`, answered by every member). */
  getMembers(options?: PdCallOptions): Promise<PdMembers>;
  /**
   * PD's operators (`pb.PDScheduling/ListOperators`, leader only): those in
   * flight, oldest first, or with `history` those that ended, newest first.
   * Retried on retryable errors.
   */
  listOperators(options?: ListOperatorsOptions): Promise<OperatorInfo[]>;
  /** The schedulers and checkers, and whether each is paused (`ListSchedulers`). */
  listSchedulers(options?: PdCallOptions): Promise<SchedulerInfo[]>;
  /**
   * Pauses or resumes a scheduler or checker by name (full, or the short
   * forms `balance-leader`, `balance-region`, `replica`); resolves once the
   * change is durable, with the scheduler's full name. An unknown name
   * rejects with `INVALID_ARGUMENT`. Retried on retryable errors (setting
   * the same state twice is harmless).
   */
  setSchedulerPaused(name: string, paused: boolean, options?: PdCallOptions): Promise<SchedulerInfo>;
  /** The scheduling configuration in force: max-replicas, store limits, paused schedulers (`GetSchedulingConfig`). */
  getSchedulingConfig(options?: PdCallOptions): Promise<SchedulingConfig>;
  /**
   * Changes the scheduling configuration (the fields `change` gives);
   * resolves once durable, with the configuration now in force. A change PD
   * refuses (`maxReplicas` outside 1..15, a rate that is not positive,
   * nothing to change) rejects with `INVALID_ARGUMENT` and changes nothing.
   * Retried on retryable errors: a change sets values, so applying it twice
   * is applying it once.
   */
  setSchedulingConfig(change: SchedulingConfigChange, options?: PdCallOptions): Promise<SchedulingConfig>;
  /**
   * Asks the standard gRPC health service (`grpc.health.v1.Health/Check`) of
   * one endpoint: a single attempt within the deadline, no retries.
   */
  checkHealth(options?: HealthCheckOptions): Promise<HealthStatus>;
  /** Drops the cached region with this id (e.g. after a stale-epoch error). Returns whether one was cached. */
  invalidateRegion(regionId: bigint): boolean;
  /** Drops the cached region holding `key`. Returns whether one was cached. */
  invalidateKey(key: Uint8Array): boolean;
  /** A snapshot of the client's counters. */
  stats(): PdClientStats;
  /** A snapshot of the latency (per method) and TSO batch-size histograms. */
  metrics(): PdClientMetrics;
  /**
   * Closes the connections. Calls in flight and later calls reject with
   * `CLOSED`. Idempotent.
   */
  close(): void;
}

/**
 * Default overall deadline of a call: 10 s. It is the failover budget: a PD
 * leader killed outright is replaced after its lease (2 s by default, 3 s or
 * more advised) plus an election, and calls wait for that instead of
 * failing; 10 s covers leases up to about 7 s.
 */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Creates a PD client. Nothing connects until the first call (or
 * {@link PdClient.connect}).
 *
 * @throws PdClientError `INVALID_ARGUMENT` when no endpoint is given (an empty
 *   `addr`) or an option is out of range.
 */
export function createPdClient(options: PdClientOptions): PdClient {
  return new GrpcPdClient(options);
}

class GrpcPdClient implements PdClient {
  readonly #timeoutMs: number;
  readonly #channels: Channels;
  readonly #tracker: LeaderTracker;
  readonly #invoker: Invoker;
  readonly #cache: RouteCache | undefined;
  readonly #locator: RegionLocator;
  readonly #tso: TsoTransport;
  readonly #batcher: TsoBatcher | undefined;
  readonly #metrics: ClientMetrics;
  readonly #nowMs: () => number;
  readonly #closer = new AbortController();
  #tsoRequests = 0;

  constructor(options: PdClientOptions) {
    if (typeof options !== "object" || options === null) throw invalidArgument("options must be an object");
    if (options.credentials !== undefined && options.tls !== undefined) {
      throw invalidArgument("give either credentials or tls, not both");
    }
    const endpoints = parseEndpoints(options.addr, options.endpoints);
    this.#timeoutMs = checkTimeoutMs(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const policy = resolveRetryPolicy(options.retry);
    this.#nowMs = options.nowMs ?? monotonicNowMs;
    if (options.routeCache !== false) {
      const rc = options.routeCache ?? {};
      if (rc.ttlMs !== undefined && !(rc.ttlMs > 0)) throw invalidArgument("routeCache.ttlMs must be positive");
      if (rc.ttlJitterMs !== undefined && !(rc.ttlJitterMs >= 0 && Number.isFinite(rc.ttlJitterMs))) {
        throw invalidArgument("routeCache.ttlJitterMs must be a finite number >= 0");
      }
      if (rc.maxEntries !== undefined && !(Number.isInteger(rc.maxEntries) && rc.maxEntries > 0)) {
        throw invalidArgument("routeCache.maxEntries must be a positive integer");
      }
      this.#cache = new RouteCache(rc);
    }
    let batching: { maxBatch: number; maxPending: number } | undefined;
    if (options.tsoBatching !== false) {
      const maxBatch = options.tsoBatching?.maxBatchSize ?? MAX_TSO_BATCH;
      if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_TSO_BATCH) {
        throw invalidArgument(`tsoBatching.maxBatchSize must be an integer in [1, ${MAX_TSO_BATCH}]`);
      }
      const maxPending = options.tsoBatching?.maxPendingRequests ?? DEFAULT_MAX_PENDING_TSO_REQUESTS;
      if (!Number.isInteger(maxPending) || maxPending < 1) {
        throw invalidArgument("tsoBatching.maxPendingRequests must be a positive integer");
      }
      batching = { maxBatch, maxPending };
    }
    // Every call in flight listens to the close signal (and removes its
    // listener when it settles): thousands at once are normal, not a leak.
    setMaxListeners(0, this.#closer.signal);
    const credentials = options.credentials ?? (options.tls === undefined ? undefined : tlsCredentials(options.tls));
    this.#channels = new Channels(credentials, options.channelOptions);
    this.#tracker = new LeaderTracker(endpoints, this.#channels);
    this.#metrics = new ClientMetrics(options.metricsObserver);
    this.#invoker = new Invoker(this.#channels, this.#tracker, policy, this.#metrics, this.#closer.signal);
    this.#locator = new RegionLocator(this.#invoker, this.#cache, this.#nowMs);
    this.#tso = new TsoTransport(this.#invoker, this.#channels, this.#metrics, options.tsoStream ?? true);
    if (batching !== undefined) {
      this.#batcher = new TsoBatcher(
        (count, deadline) => this.#tso.request(count, deadline),
        batching.maxBatch,
        batching.maxPending,
        (result, seconds) => this.#metrics.observeRequest("Tso", result, seconds),
      );
    }
  }

  get endpoints(): readonly string[] {
    return [...this.#tracker.endpoints];
  }

  /** The deadline of a call starting now; throws what a call that may not start rejects with. */
  #deadline(options: PdCallOptions | undefined, method: string): Deadline {
    if (this.#closer.signal.aborted) throw closedError(method);
    const timeoutMs = options?.timeoutMs === undefined ? this.#timeoutMs : checkTimeoutMs(options.timeoutMs);
    const signal = options?.signal;
    if (signal?.aborted) throw abortedError(method, signal);
    return Deadline.after(timeoutMs, signal);
  }

  async connect(options?: PdCallOptions): Promise<void> {
    const d = this.#deadline(options, "connect");
    const endpoints = [...this.#tracker.endpoints];
    const closeSignal = this.#closer.signal;
    await new Promise<void>((resolve, reject) => {
      let failed = 0;
      let settled = false;
      const finish = (): void => {
        settled = true;
        d.signal?.removeEventListener("abort", onAbort);
        closeSignal.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        if (settled) return;
        finish();
        reject(closeSignal.aborted ? closedError("connect") : abortedError("connect", d.signal!));
      };
      d.signal?.addEventListener("abort", onAbort, { once: true });
      closeSignal.addEventListener("abort", onAbort, { once: true });
      for (const endpoint of endpoints) {
        this.#channels.client(endpoint).waitForReady(d.grpcDeadline(), (err) => {
          if (settled) return;
          if (err === undefined) {
            finish();
            resolve();
            return;
          }
          failed += 1;
          if (failed === endpoints.length) {
            finish();
            reject(
              new PdClientError(`pd connect: could not connect to PD within ${d.timeoutMs}ms (tried ${endpoints.join(", ")})`, {
                status: GrpcStatus.DEADLINE_EXCEEDED,
                code: "DEADLINE_EXCEEDED",
                retryable: true,
                method: "connect",
                endpoint: endpoints[0],
                cause: err,
              }),
            );
          }
        });
      }
    });
  }

  async storeHeartbeat(stats: StoreHeartbeat, options?: PdCallOptions): Promise<StoreHeartbeatResult> {
    const request = storeHeartbeatToWire(stats);
    const d = this.#deadline(options, "StoreHeartbeat");
    return storeHeartbeatFromWire(await this.#invoker.unary("storeHeartbeat", request, d, "retryable"));
  }

  async regionHeartbeat(region: Region, extras?: RegionHeartbeatExtras, options?: PdCallOptions): Promise<boolean> {
    const request = regionHeartbeatToWire(region, extras);
    const d = this.#deadline(options, "RegionHeartbeat");
    return (await this.#invoker.unary("regionHeartbeat", request, d, "retryable")).accepted;
  }

  async removeRegion(regionId: bigint, options?: PdCallOptions): Promise<boolean> {
    const request = { regionId: checkUint64("regionId", regionId) };
    const d = this.#deadline(options, "RemoveRegion");
    const res = await this.#invoker.unary("removeRegion", request, d, "not-leader");
    this.#cache?.invalidateRegion(regionId);
    return res.removed;
  }

  async getRegionByKey(key: Uint8Array, options?: GetRegionOptions): Promise<Region | undefined> {
    checkKey("key", key);
    if (this.#closer.signal.aborted) throw closedError("GetRegionByKey");
    if (options?.bypassCache !== true) {
      // The hot path: a cache hit reads no clock beyond the cache's and builds no deadline.
      const hit = this.#locator.cached(key);
      if (hit !== undefined) return hit;
    }
    const d = this.#deadline(options, "GetRegionByKey");
    return options?.bypassCache === true ? this.#locator.regionAt(key, d, true) : this.#locator.shared(key, d);
  }

  async locateKey(key: Uint8Array, options?: PdCallOptions): Promise<RegionLocation | undefined> {
    checkKey("key", key);
    const d = this.#deadline(options, "GetRegionByKey");
    return this.#locator.locate(key, d);
  }

  async getRegionsInRange(startKey: Uint8Array, endKey: Uint8Array, options?: PdCallOptions): Promise<Region[]> {
    checkKey("startKey", startKey);
    checkKey("endKey", endKey);
    const d = this.#deadline(options, "GetRegionByKey");
    return this.#locator.regionsInRange(startKey, endKey, d);
  }

  async getPrevRegion(key: Uint8Array, options?: PdCallOptions): Promise<Region | undefined> {
    checkKey("key", key);
    const d = this.#deadline(options, "GetRegionByKey");
    return this.#locator.prevRegion(key, d);
  }

  onEpochNotMatch(regions: readonly Region[]): boolean {
    if (!Array.isArray(regions)) throw invalidArgument("regions must be an array");
    const checked = regions.map((r, i) => checkRegion(r, `regions[${i}]`));
    const cache = this.#cache;
    if (cache === undefined || this.#closer.signal.aborted) return false;
    let taken = false;
    for (const r of checked) if (cache.insert(r, this.#nowMs())) taken = true;
    return taken;
  }

  updateLeader(regionId: bigint, storeId: bigint): boolean {
    checkUint64("regionId", regionId);
    checkUint64("storeId", storeId);
    return this.#cache?.updateLeader(regionId, storeId) ?? false;
  }

  async allocId(count: bigint = 1n, options?: PdCallOptions): Promise<IdRange> {
    const requested = checkUint64("count", count);
    const d = this.#deadline(options, "AllocID");
    const res = await this.#invoker.unary("allocId", { count: requested }, d, "retryable");
    return idRangeFromWire(res, requested === 0n ? 1n : requested);
  }

  /** Checks a timestamp count and returns it as a number (it is at most 2^18). */
  #tsoCount(count: bigint): number {
    const c = checkUint64("count", count);
    if (c > BigInt(MAX_TSO_BATCH)) {
      throw invalidArgument(`count ${c} exceeds ${MAX_TSO_BATCH}, the most timestamps one Tso call grants`);
    }
    return c === 0n ? 1 : Number(c);
  }

  getTimestamp(options?: PdCallOptions): Promise<bigint> {
    return this.#timestamps(1, options);
  }

  async getTimestamps(count: bigint, options?: PdCallOptions): Promise<TimestampRange> {
    const n = this.#tsoCount(count);
    return { first: await this.#timestamps(n, options), count: BigInt(n) };
  }

  /**
   * The hot path behind both timestamp methods. Not `async`: a batched call
   * costs the caller exactly one promise (the batcher's).
   */
  #timestamps(count: number, options: PdCallOptions | undefined): Promise<bigint> {
    const batcher = this.#batcher;
    // A run larger than a batch may hold gets its own request (still <= 2^18).
    if (batcher === undefined || count > batcher.maxBatchSize) {
      let d: Deadline;
      try {
        d = this.#deadline(options, "Tso");
      } catch (err) {
        return Promise.reject(err);
      }
      this.#tsoRequests += 1;
      const started = monotonicNowMs();
      return this.#tso.request(BigInt(count), d).then(
        (range) => {
          this.#metrics.observeRequest("Tso", "ok", (monotonicNowMs() - started) / 1000);
          return range.first;
        },
        (err: unknown) => {
          this.#metrics.observeRequest("Tso", "error", (monotonicNowMs() - started) / 1000);
          throw err;
        },
      );
    }
    // The batched path checks what #deadline() checks without building a
    // Deadline or reading the clock: the batch computes its deadline once.
    if (this.#closer.signal.aborted) return Promise.reject(closedError("Tso"));
    if (options === undefined) {
      this.#tsoRequests += 1;
      return batcher.request(count, this.#timeoutMs, undefined, undefined);
    }
    let timeoutMs = this.#timeoutMs;
    try {
      if (options.timeoutMs !== undefined) timeoutMs = checkTimeoutMs(options.timeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortedError("Tso", signal));
    this.#tsoRequests += 1;
    return batcher.request(count, timeoutMs, signal, signal === undefined ? undefined : () => abortedError("Tso", signal));
  }

  async listStores(options?: PdCallOptions): Promise<StoreStatus[]> {
    const d = this.#deadline(options, "ListStores");
    return (await this.#invoker.unary("listStores", {}, d, "retryable")).stores.map(storeStatusFromWire);
  }

  async listRegions(options?: ListRegionsOptions): Promise<RegionPage> {
    const startKey = options?.startKey === undefined ? new Uint8Array() : checkKey("startKey", options.startKey);
    const limit = options?.limit === undefined ? 0n : checkUint64("limit", options.limit);
    const d = this.#deadline(options, "ListRegions");
    return regionPageFromWire(await this.#invoker.unary("listRegions", { startKey: keyToWire(startKey), limit }, d, "retryable"));
  }

  async getRegionById(regionId: bigint, options?: PdCallOptions): Promise<Region | undefined> {
    const request = { regionId: checkUint64("regionId", regionId) };
    const d = this.#deadline(options, "GetRegionById");
    const res = await this.#invoker.unary("getRegionById", request, d, "retryable");
    return res.notFound || res.region === undefined ? undefined : regionFromWire(res.region);
  }

  async getMembers(options?: PdCallOptions): Promise<PdMembers> {
    const d = this.#deadline(options, "GetMembers");
    return membersFromWire(await this.#invoker.unary("getMembers", {}, d, "retryable"));
  }

  async listOperators(options?: ListOperatorsOptions): Promise<OperatorInfo[]> {
    const request = { history: options?.history === true };
    const d = this.#deadline(options, "ListOperators");
    return (await this.#invoker.unary("listOperators", request, d, "retryable")).operators.map(operatorInfoFromWire);
  }

  async listSchedulers(options?: PdCallOptions): Promise<SchedulerInfo[]> {
    const d = this.#deadline(options, "ListSchedulers");
    return (await this.#invoker.unary("listSchedulers", {}, d, "retryable")).schedulers.map(schedulerInfoFromWire);
  }

  async setSchedulerPaused(name: string, paused: boolean, options?: PdCallOptions): Promise<SchedulerInfo> {
    if (typeof name !== "string") throw invalidArgument("scheduler name must be a string");
    if (typeof paused !== "boolean") throw invalidArgument("paused must be a boolean");
    const d = this.#deadline(options, "SetSchedulerPaused");
    const res = await this.#invoker.unary("setSchedulerPaused", { name, paused }, d, "retryable");
    if (res.scheduler === undefined) throw protocolError("SetSchedulerPaused", "pd answered without the scheduler");
    return schedulerInfoFromWire(res.scheduler);
  }

  async getSchedulingConfig(options?: PdCallOptions): Promise<SchedulingConfig> {
    const d = this.#deadline(options, "GetSchedulingConfig");
    const res = await this.#invoker.unary("getSchedulingConfig", {}, d, "retryable");
    if (res.config === undefined) throw protocolError("GetSchedulingConfig", "pd answered without the configuration");
    return schedulingConfigFromWire(res.config);
  }

  async setSchedulingConfig(change: SchedulingConfigChange, options?: PdCallOptions): Promise<SchedulingConfig> {
    const request = schedulingChangeToWire(change);
    const d = this.#deadline(options, "SetSchedulingConfig");
    const res = await this.#invoker.unary("setSchedulingConfig", request, d, "retryable");
    if (res.config === undefined) throw protocolError("SetSchedulingConfig", "pd answered without the configuration");
    return schedulingConfigFromWire(res.config);
  }

  async checkHealth(options?: HealthCheckOptions): Promise<HealthStatus> {
    const d = this.#deadline(options, "HealthCheck");
    const endpoint = options?.endpoint ?? this.#tracker.target() ?? this.#tracker.endpoints[0]!;
    const request = encodeHealthCheckRequest(options?.service ?? "");
    const def = { path: HEALTH_CHECK_PATH, requestSerialize: (b: Buffer) => b, responseDeserialize: decodeHealthCheckResponse };
    return (await this.#invoker.health(endpoint, def, request, d)) ?? "UNKNOWN";
  }

  invalidateRegion(regionId: bigint): boolean {
    return this.#cache?.invalidateRegion(regionId) ?? false;
  }

  invalidateKey(key: Uint8Array): boolean {
    return this.#cache?.invalidateKey(checkKey("key", key)) ?? false;
  }

  stats(): PdClientStats {
    const inv = this.#invoker.counters;
    const tso = this.#tso.counters;
    const loc = this.#locator.counters;
    return {
      rpcs: inv.rpcs,
      retries: inv.retries,
      leaderRedirects: inv.leaderRedirects,
      tsoRequests: this.#tsoRequests,
      tsoRpcs: tso.tsoRpcs,
      tsoUnaryRpcs: inv.tsoUnaryRpcs,
      tsoStreamRequests: tso.tsoStreamRequests,
      tsoStreams: tso.tsoStreams,
      regionRpcs: inv.regionRpcs,
      routeCacheHits: loc.routeCacheHits,
      routeCacheMisses: loc.routeCacheMisses,
      routeCacheEvictions: this.#cache?.evictions ?? 0,
      routeCacheSize: this.#cache?.size ?? 0,
      regionLookupsJoined: loc.regionLookupsJoined,
      tsoFallbacks: tso.tsoFallbacks,
      tsoPending: this.#batcher?.waiting ?? 0,
      leaderChanges: this.#tracker.counters.leaderChanges,
      leaderProbes: this.#tracker.counters.leaderProbes,
    };
  }

  metrics(): PdClientMetrics {
    return this.#metrics.snapshot();
  }

  close(): void {
    if (this.#closer.signal.aborted) return;
    // Everything in flight listens to this signal: unary attempts cancel,
    // waits for a leader and backoffs end, and each call reports CLOSED.
    this.#closer.abort();
    this.#batcher?.rejectPending(closedError("Tso"));
    this.#tso.close(closedError("Tso"));
    this.#tracker.close();
    this.#channels.close();
    this.#cache?.clear();
  }
}

/** grpc-js credentials from PEM contents. */
function tlsCredentials(tls: PdClientTlsOptions): ChannelCredentials {
  const pem = (v: Uint8Array | string | undefined): Buffer | null =>
    v === undefined ? null : typeof v === "string" ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw invalidArgument("tls: give cert and key together (a client certificate needs its key)");
  }
  return grpcCredentials.createSsl(pem(tls.caCert), pem(tls.key), pem(tls.cert));
}
