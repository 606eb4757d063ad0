import {
  credentials as grpcCredentials,
  Metadata,
  status as GrpcStatus,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { bytesToWire as keyToWire, membersFromWire, PDService, storeStatusFromWire } from "@nokv/pd-proto";
import {
  checkKey,
  checkUint64,
  idRangeFromWire,
  regionPageFromWire,
  regionFromWire,
  regionToWire,
  storeHeartbeatFromWire,
  storeStatsToWire,
  timestampRangeFromWire,
} from "./convert.js";
import { EndpointSet, parseEndpoints } from "./endpoints.js";
import { decodeHealthCheckResponse, encodeHealthCheckRequest, HEALTH_CHECK_PATH } from "./health.js";
import {
  PdClientError,
  abortedError,
  closedError,
  fromServiceError,
  invalidArgument,
} from "./errors.js";
import { backoffMs, resolveRetryPolicy, sleep, type RetryOptions, type RetryPolicy } from "./retry.js";
import { RouteCache, regionContains, type RouteCacheOptions } from "./route-cache.js";
import { MAX_TSO_BATCH, TsoBatcher, type TsoBatchingOptions } from "./tso-batcher.js";
import { TSO_STREAM_UNSUPPORTED, TsoStream } from "./tso-stream.js";
import type {
  GetRegionOptions,
  HealthCheckOptions,
  HealthStatus,
  IdRange,
  ListRegionsOptions,
  PdClientTlsOptions,
  PdMembers,
  RegionPage,
  StoreStatus,
  PdCallOptions,
  PdClientStats,
  Region,
  StoreHeartbeatResult,
  StoreStats,
  TimestampRange,
} from "./types.js";

/** Options of {@link createPdClient}. Give `addr`, `endpoints`, or both. */
export interface PdClientOptions {
  /** A PD endpoint `host:port`, or several separated by commas. */
  readonly addr?: string;
  /** PD endpoints `host:port`; the first is tried first. */
  readonly endpoints?: readonly string[];
  /** Default overall deadline of a call in ms, retries included. Default 2000. */
  readonly timeoutMs?: number;
  /** Retry policy, or `false` for a single attempt per call. */
  readonly retry?: RetryOptions | false;
  /** Route cache for `getRegionByKey`, or `false` to always ask PD. */
  readonly routeCache?: RouteCacheOptions | false;
  /** Timestamp batching, or `false` for one `Tso` request per call. */
  readonly tsoBatching?: TsoBatchingOptions | false;
  /**
   * Send timestamp requests on one `TsoStream` per endpoint (default `true`).
   * An endpoint that does not offer it (an older PD) is remembered and gets
   * unary `Tso` RPCs; `false` always uses unary RPCs.
   */
  readonly tsoStream?: boolean;
  /** Channel credentials. Default: insecure (plaintext), as NoKV's PD serves. */
  readonly credentials?: ChannelCredentials;
  /**
   * TLS (PEM contents): `caCert` to verify PD, `cert` + `key` for mutual TLS.
   * A friendlier alternative to `credentials`; give one or the other.
   */
  readonly tls?: PdClientTlsOptions;
  /** Extra grpc-js channel options, merged over the client's defaults. */
  readonly channelOptions?: ChannelOptions;
  /**
   * Monotonic clock in ms for route-cache expiry. Default `performance.now`.
   * Injectable so tests can move time without waiting.
   */
  readonly nowMs?: () => number;
}

/**
 * A typed client of NoKV's PD. Every method returns a promise; failures are
 * {@link PdClientError}s. Ids, epochs, counts and timestamps are `bigint`.
 */
export interface PdClient {
  /** The endpoints this client knows, leaders learned from redirects included. */
  readonly endpoints: readonly string[];
  /**
   * Waits until a connection to some PD endpoint is up (calls do this on their
   * own; use it to fail fast at start-up). Rejects with `DEADLINE_EXCEEDED`
   * naming every endpoint tried.
   */
  connect(options?: PdCallOptions): Promise<void>;
  /**
   * Reports a store's stats; resolves to PD's answer with the operations PD
   * wants the store to run (unvalidated). Retried on retryable errors.
   */
  storeHeartbeat(stats: StoreStats, options?: PdCallOptions): Promise<StoreHeartbeatResult>;
  /**
   * Reports a region; resolves to `accepted`. Retried on retryable errors (a
   * repeated heartbeat is harmless). A stale region rejects with
   * `STALE_EPOCH` or `RANGE_OVERLAP` (status `FAILED_PRECONDITION`, not retried).
   */
  regionHeartbeat(region: Region, options?: PdCallOptions): Promise<boolean>;
  /**
   * Removes a region from PD's catalog; resolves to whether it existed, and
   * drops it from the route cache. Retried only on `NOT_LEADER` (a retry after
   * a lost answer could wrongly report `false`).
   */
  removeRegion(regionId: bigint, options?: PdCallOptions): Promise<boolean>;
  /**
   * The region holding `key`, or `undefined` when PD has none (not-found is
   * not an error, and is not cached). Served from the route cache unless
   * `bypassCache`; answers from PD refresh the cache. Retried on retryable errors.
   */
  getRegionByKey(key: Uint8Array, options?: GetRegionOptions): Promise<Region | undefined>;
  /**
   * Reserves `count` (default 1; 0 means 1, as on the wire) consecutive ids.
   * Retried on retryable errors: a lost answer skips ids, never duplicates one.
   */
  allocId(count?: bigint, options?: PdCallOptions): Promise<IdRange>;
  /**
   * One timestamp from PD's sequence, unique across all callers. Concurrent
   * calls of one event-loop turn share one `Tso` RPC (unless batching is
   * off). Retried on retryable errors: a lost answer only skips timestamps,
   * it can never hand one out twice.
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
  /**
   * Closes the connections. Calls in flight and later calls reject with
   * `CLOSED`. Idempotent.
   */
  close(): void;
}

/** Default overall deadline of a call: 2 s. */
export const DEFAULT_TIMEOUT_MS = 2000;

type MethodKey = keyof typeof PDService;
type RequestOf<M extends MethodKey> = Parameters<(typeof PDService)[M]["requestSerialize"]>[0];
type ResponseOf<M extends MethodKey> = ReturnType<(typeof PDService)[M]["responseDeserialize"]>;

const METHOD_NAMES: Record<MethodKey, string> = {
  storeHeartbeat: "StoreHeartbeat",
  regionHeartbeat: "RegionHeartbeat",
  removeRegion: "RemoveRegion",
  getRegionByKey: "GetRegionByKey",
  allocId: "AllocID",
  tso: "Tso",
  tsoStream: "TsoStream",
  getMembers: "GetMembers",
  listStores: "ListStores",
  listRegions: "ListRegions",
  getRegionById: "GetRegionById",
};

/** Which failures a method may retry: all retryable ones, or only `NOT_LEADER`. */
type RetryScope = "retryable" | "not-leader";

interface Deadline {
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number" && "metadata" in err;
}

function checkTimeout(timeoutMs: number): number {
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0)) {
    throw invalidArgument(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

/**
 * Creates a PD client. Nothing connects until the first call (or
 * {@link PdClient.connect}); calls then wait for the connection up to their
 * deadline.
 *
 * @throws PdClientError `INVALID_ARGUMENT` when no endpoint is given (an empty
 *   `addr`) or an option is out of range.
 */
export function createPdClient(options: PdClientOptions): PdClient {
  return new GrpcPdClient(options);
}

class GrpcPdClient implements PdClient {
  private readonly set: EndpointSet;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly cache: RouteCache | undefined;
  private readonly batcher: TsoBatcher | undefined;
  private readonly nowMs: () => number;
  private readonly closeController = new AbortController();
  private readonly active = new Set<ClientUnaryCall>();
  /** Whether timestamp requests may use a `TsoStream`. */
  private readonly tsoStreaming: boolean;
  /** The one open `TsoStream` (to `tsoStream.endpoint`), if any. */
  private tsoStream: TsoStream | undefined;
  /** Endpoints that answered `TsoStream` with UNIMPLEMENTED: they get unary `Tso`. */
  private readonly tsoUnaryOnly = new Set<string>();
  private closed = false;
  private readonly counters = {
    rpcs: 0,
    retries: 0,
    leaderRedirects: 0,
    tsoRequests: 0,
    tsoRpcs: 0,
    tsoUnaryRpcs: 0,
    tsoStreamRequests: 0,
    tsoStreams: 0,
    regionRpcs: 0,
    routeCacheHits: 0,
    routeCacheMisses: 0,
  };

  constructor(options: PdClientOptions) {
    if (typeof options !== "object" || options === null) throw invalidArgument("options must be an object");
    if (options.credentials !== undefined && options.tls !== undefined) {
      throw invalidArgument("give either credentials or tls, not both");
    }
    this.set = new EndpointSet(
      parseEndpoints(options.addr, options.endpoints),
      options.credentials ?? (options.tls === undefined ? undefined : tlsCredentials(options.tls)),
      options.channelOptions,
    );
    this.timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.policy = resolveRetryPolicy(options.retry);
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.tsoStreaming = options.tsoStream ?? true;
    if (options.routeCache !== false) {
      const rc = options.routeCache ?? {};
      if (rc.ttlMs !== undefined && !(rc.ttlMs > 0)) throw invalidArgument("routeCache.ttlMs must be positive");
      if (rc.maxEntries !== undefined && !(Number.isInteger(rc.maxEntries) && rc.maxEntries > 0)) {
        throw invalidArgument("routeCache.maxEntries must be a positive integer");
      }
      this.cache = new RouteCache(rc);
    }
    if (options.tsoBatching !== false) {
      const maxBatch = options.tsoBatching?.maxBatchSize ?? MAX_TSO_BATCH;
      if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_TSO_BATCH) {
        throw invalidArgument(`tsoBatching.maxBatchSize must be an integer in [1, ${MAX_TSO_BATCH}]`);
      }
      this.batcher = new TsoBatcher(
        (count, deadlineMs, timeoutMs) => this.tsoRun(count, { deadlineMs, timeoutMs, signal: undefined }),
        maxBatch,
      );
    }
  }

  get endpoints(): readonly string[] {
    return [...this.set.all];
  }

  private deadline(options: PdCallOptions | undefined, method: string): Deadline {
    if (this.closed) throw closedError(method);
    const timeoutMs = options?.timeoutMs === undefined ? this.timeoutMs : checkTimeout(options.timeoutMs);
    const signal = options?.signal;
    if (signal?.aborted) throw abortedError(method, signal);
    return { timeoutMs, deadlineMs: Date.now() + timeoutMs, signal };
  }

  /** One attempt of `method` on `endpoint`, bounded by `deadlineMs`. */
  private attempt<M extends MethodKey>(
    method: M,
    endpoint: string,
    request: RequestOf<M>,
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ResponseOf<M>> {
    const def = PDService[method] as unknown as {
      path: string;
      requestSerialize: (value: RequestOf<M>) => Buffer;
      responseDeserialize: (value: Buffer) => ResponseOf<M>;
    };
    const client = this.set.client(endpoint);
    this.counters.rpcs += 1;
    if (method === "tso") {
      this.counters.tsoRpcs += 1;
      this.counters.tsoUnaryRpcs += 1;
    } else if (method === "getRegionByKey") {
      this.counters.regionRpcs += 1;
    }
    return new Promise<ResponseOf<M>>((resolve, reject) => {
      let call: ClientUnaryCall | undefined;
      let onAbort: (() => void) | undefined;
      call = client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        // Wait for the connection instead of failing fast while PD starts.
        new Metadata({ waitForReady: true }),
        { deadline: deadlineMs },
        (err, res) => {
          if (call !== undefined) this.active.delete(call);
          if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
          if (err) reject(err);
          else resolve(res as ResponseOf<M>);
        },
      );
      this.active.add(call);
      if (signal !== undefined) {
        const c = call;
        onAbort = () => c.cancel();
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  /**
   * One attempt of a timestamp request on `endpoint`: a request on the
   * endpoint's `TsoStream` (opened on first use, re-opened after it broke or
   * when the client moved to another endpoint), or a unary `Tso` RPC where
   * the endpoint has no `TsoStream`. Which endpoint is `run()`'s decision
   * (through the {@link EndpointSet}), exactly as for unary calls; a stream
   * failure rejects like a unary attempt would, so `run()` retries it.
   */
  private tsoAttempt(
    endpoint: string,
    request: RequestOf<"tso">,
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ResponseOf<"tso">> {
    if (!this.tsoStreaming || this.tsoUnaryOnly.has(endpoint)) return this.attempt("tso", endpoint, request, deadlineMs, signal);
    let stream = this.tsoStream;
    if (stream === undefined || stream.finished || stream.endpoint !== endpoint) {
      // Answers to requests still in flight on the old stream keep arriving.
      stream?.end();
      stream = new TsoStream(this.set.client(endpoint), endpoint);
      this.tsoStream = stream;
      this.counters.rpcs += 1;
      this.counters.tsoStreams += 1;
    }
    this.counters.tsoRpcs += 1;
    this.counters.tsoStreamRequests += 1;
    return stream.request(request.count, deadlineMs, signal).catch((err: unknown) => {
      if (err !== TSO_STREAM_UNSUPPORTED) throw err;
      // An older PD: it processed nothing, so the same attempt goes unary.
      this.tsoUnaryOnly.add(endpoint);
      return this.attempt("tso", endpoint, request, deadlineMs, signal);
    });
  }

  private deadlineError(
    method: string,
    d: Deadline,
    attempts: number,
    tried: readonly string[],
    last: PdClientError | undefined,
  ): PdClientError {
    const endpoint = last?.endpoint ?? this.set.current;
    const why = this.set.isConnected(endpoint)
      ? `no answer from ${endpoint}`
      : `could not connect to PD`;
    return new PdClientError(
      `pd ${method}: deadline of ${d.timeoutMs}ms exceeded after ${attempts} attempt${attempts === 1 ? "" : "s"}, ${why} (tried ${tried.join(", ")})`,
      {
        status: GrpcStatus.DEADLINE_EXCEEDED,
        code: "DEADLINE_EXCEEDED",
        retryable: true,
        method,
        endpoint,
        cause: last?.cause ?? last,
      },
    );
  }

  private gaveUp(err: PdClientError, attempts: number, tried: readonly string[]): PdClientError {
    if (attempts === 1) return err;
    return new PdClientError(`${err.message} (gave up after ${attempts} attempts; tried ${tried.join(", ")})`, {
      status: err.status,
      code: err.code,
      retryable: err.retryable,
      method: err.method,
      endpoint: err.endpoint,
      leaderAddr: err.leaderAddr,
      cause: err.cause,
    });
  }

  /**
   * Runs `method` with retries: bounded exponential backoff with jitter, all
   * inside the call's deadline. With several endpoints an attempt gets a
   * share of the remaining time, so an unreachable endpoint cannot eat the
   * whole deadline before the others are tried.
   */
  private async run<M extends MethodKey>(
    method: M,
    request: RequestOf<M>,
    d: Deadline,
    scope: RetryScope,
  ): Promise<ResponseOf<M>> {
    const name = METHOD_NAMES[method];
    const tried: string[] = [];
    let attempts = 0;
    let last: PdClientError | undefined;
    for (;;) {
      if (this.closed) throw closedError(name);
      if (d.signal?.aborted) throw abortedError(name, d.signal);
      const endpoint = this.set.current;
      if (!tried.includes(endpoint)) tried.push(endpoint);
      const now = Date.now();
      const remaining = d.deadlineMs - now;
      if (remaining <= 0) throw this.deadlineError(name, d, attempts, tried, last);
      let untried = 1;
      for (const e of this.set.all) if (!tried.includes(e)) untried += 1;
      attempts += 1;
      if (attempts > 1) this.counters.retries += 1;
      try {
        const attemptDeadlineMs = now + remaining / untried;
        return await (method === "tso"
          ? (this.tsoAttempt(endpoint, request as RequestOf<"tso">, attemptDeadlineMs, d.signal) as Promise<ResponseOf<M>>)
          : this.attempt(method, endpoint, request, attemptDeadlineMs, d.signal));
      } catch (raw) {
        if (this.closed) throw closedError(name);
        if (d.signal?.aborted) throw abortedError(name, d.signal);
        const err = isServiceError(raw)
          ? fromServiceError(raw, name, endpoint)
          : new PdClientError(`pd ${name}: ${raw instanceof Error ? raw.message : String(raw)}`, {
              status: GrpcStatus.INTERNAL,
              code: "INTERNAL",
              retryable: false,
              method: name,
              endpoint,
              cause: raw,
            });
        last = err;
        const redirected = this.set.onFailure(endpoint, err);
        if (redirected) this.counters.leaderRedirects += 1;
        const allowed = err.retryable && (scope === "retryable" || err.code === "NOT_LEADER");
        const timedOut = err.status === GrpcStatus.DEADLINE_EXCEEDED;
        if (!allowed || attempts >= this.policy.maxAttempts) {
          throw timedOut && Date.now() >= d.deadlineMs
            ? this.deadlineError(name, d, attempts, tried, err)
            : this.gaveUp(err, attempts, tried);
        }
        const delay = redirected ? 0 : backoffMs(this.policy, attempts);
        if (Date.now() + delay >= d.deadlineMs) {
          // No time left for another attempt: the deadline ended the call, whatever the last failure was.
          throw this.deadlineError(name, d, attempts, tried, err);
        }
        if (delay > 0) await sleep(delay, [d.signal, this.closeController.signal]);
      }
    }
  }

  async connect(options?: PdCallOptions): Promise<void> {
    const d = this.deadline(options, "connect");
    const endpoints = [...this.set.all];
    await new Promise<void>((resolve, reject) => {
      let failed = 0;
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(this.closed ? closedError("connect") : abortedError("connect", d.signal!));
      };
      d.signal?.addEventListener("abort", onAbort, { once: true });
      this.closeController.signal.addEventListener("abort", onAbort, { once: true });
      const finish = (): void => {
        d.signal?.removeEventListener("abort", onAbort);
        this.closeController.signal.removeEventListener("abort", onAbort);
      };
      for (const endpoint of endpoints) {
        this.set.client(endpoint).waitForReady(d.deadlineMs, (err) => {
          if (settled) return;
          if (err === undefined) {
            settled = true;
            finish();
            this.set.use(endpoint);
            resolve();
            return;
          }
          failed += 1;
          if (failed === endpoints.length) {
            settled = true;
            finish();
            reject(
              new PdClientError(
                `pd connect: could not connect to PD within ${d.timeoutMs}ms (tried ${endpoints.join(", ")})`,
                {
                  status: GrpcStatus.DEADLINE_EXCEEDED,
                  code: "DEADLINE_EXCEEDED",
                  retryable: true,
                  method: "connect",
                  endpoint: endpoints[0],
                  cause: err,
                },
              ),
            );
          }
        });
      }
    });
  }

  async storeHeartbeat(stats: StoreStats, options?: PdCallOptions): Promise<StoreHeartbeatResult> {
    const request = storeStatsToWire(stats);
    const d = this.deadline(options, "StoreHeartbeat");
    return storeHeartbeatFromWire(await this.run("storeHeartbeat", request, d, "retryable"));
  }

  async regionHeartbeat(region: Region, options?: PdCallOptions): Promise<boolean> {
    const request = { region: regionToWire(region) };
    const d = this.deadline(options, "RegionHeartbeat");
    return (await this.run("regionHeartbeat", request, d, "retryable")).accepted;
  }

  async removeRegion(regionId: bigint, options?: PdCallOptions): Promise<boolean> {
    const request = { regionId: checkUint64("regionId", regionId) };
    const d = this.deadline(options, "RemoveRegion");
    const res = await this.run("removeRegion", request, d, "not-leader");
    this.cache?.invalidateRegion(regionId);
    return res.removed;
  }

  async getRegionByKey(key: Uint8Array, options?: GetRegionOptions): Promise<Region | undefined> {
    checkKey("key", key);
    const cache = this.cache;
    if (cache !== undefined && options?.bypassCache !== true) {
      if (this.closed) throw closedError("GetRegionByKey");
      const hit = cache.lookup(key, this.nowMs());
      if (hit !== undefined) {
        this.counters.routeCacheHits += 1;
        return hit;
      }
      this.counters.routeCacheMisses += 1;
    }
    const d = this.deadline(options, "GetRegionByKey");
    const generation = cache?.generation ?? 0;
    const res = await this.run("getRegionByKey", { key: keyToWire(key) }, d, "retryable");
    if (res.notFound || res.region === undefined) {
      cache?.invalidateKey(key);
      return undefined;
    }
    const region = regionFromWire(res.region);
    // Only cache an answer that really holds the key: anything else is a PD bug
    // that must not poison the lookups of other keys.
    if (cache !== undefined && regionContains(region, key)) cache.insert(region, this.nowMs(), generation);
    return region;
  }

  async allocId(count: bigint = 1n, options?: PdCallOptions): Promise<IdRange> {
    const requested = checkUint64("count", count);
    const d = this.deadline(options, "AllocID");
    const res = await this.run("allocId", { count: requested }, d, "retryable");
    return idRangeFromWire(res, requested === 0n ? 1n : requested);
  }

  private async tsoRun(count: bigint, d: Deadline): Promise<TimestampRange> {
    const res = await this.run("tso", { count }, d, "retryable");
    return timestampRangeFromWire(res, count);
  }

  /** Checks a timestamp count and returns it as a number (it is at most 2^18). */
  private tsoCount(count: bigint): number {
    const c = checkUint64("count", count);
    if (c > BigInt(MAX_TSO_BATCH)) {
      throw invalidArgument(`count ${c} exceeds ${MAX_TSO_BATCH}, the most timestamps one Tso call grants`);
    }
    return c === 0n ? 1 : Number(c);
  }

  getTimestamp(options?: PdCallOptions): Promise<bigint> {
    return this.timestamps(1, options);
  }

  async getTimestamps(count: bigint, options?: PdCallOptions): Promise<TimestampRange> {
    const n = this.tsoCount(count);
    return { first: await this.timestamps(n, options), count: BigInt(n) };
  }

  /**
   * The hot path behind both timestamp methods. Not `async`: a batched call
   * costs the caller exactly one promise (the batcher's).
   */
  private timestamps(count: number, options: PdCallOptions | undefined): Promise<bigint> {
    const batcher = this.batcher;
    // A run larger than a batch may hold gets its own RPC (still <= 2^18).
    if (batcher === undefined || count > batcher.maxBatchSize) {
      let d: Deadline;
      try {
        d = this.deadline(options, "Tso");
      } catch (err) {
        return Promise.reject(err);
      }
      this.counters.tsoRequests += 1;
      return this.tsoRun(BigInt(count), d).then((range) => range.first);
    }
    // The batched path checks what deadline() checks without building a
    // Deadline or reading the clock: the batch computes its deadline once.
    if (this.closed) return Promise.reject(closedError("Tso"));
    if (options === undefined) {
      this.counters.tsoRequests += 1;
      return batcher.request(count, this.timeoutMs, undefined, undefined);
    }
    let timeoutMs = this.timeoutMs;
    try {
      if (options.timeoutMs !== undefined) timeoutMs = checkTimeout(options.timeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortedError("Tso", signal));
    this.counters.tsoRequests += 1;
    return batcher.request(count, timeoutMs, signal, signal === undefined ? undefined : () => abortedError("Tso", signal));
  }

  async listStores(options?: PdCallOptions): Promise<StoreStatus[]> {
    const d = this.deadline(options, "ListStores");
    return (await this.run("listStores", {}, d, "retryable")).stores.map(storeStatusFromWire);
  }

  async listRegions(options?: ListRegionsOptions): Promise<RegionPage> {
    const startKey = options?.startKey === undefined ? new Uint8Array() : checkKey("startKey", options.startKey);
    const limit = options?.limit === undefined ? 0n : checkUint64("limit", options.limit);
    const d = this.deadline(options, "ListRegions");
    return regionPageFromWire(await this.run("listRegions", { startKey: keyToWire(startKey), limit }, d, "retryable"));
  }

  async getRegionById(regionId: bigint, options?: PdCallOptions): Promise<Region | undefined> {
    const request = { regionId: checkUint64("regionId", regionId) };
    const d = this.deadline(options, "GetRegionById");
    const res = await this.run("getRegionById", request, d, "retryable");
    return res.notFound || res.region === undefined ? undefined : regionFromWire(res.region);
  }

  async getMembers(options?: PdCallOptions): Promise<PdMembers> {
    const d = this.deadline(options, "GetMembers");
    return membersFromWire(await this.run("getMembers", {}, d, "retryable"));
  }

  checkHealth(options?: HealthCheckOptions): Promise<HealthStatus> {
    let d: Deadline;
    try {
      d = this.deadline(options, "HealthCheck");
    } catch (err) {
      return Promise.reject(err);
    }
    const endpoint = options?.endpoint ?? this.set.current;
    const request = encodeHealthCheckRequest(options?.service ?? "");
    return new Promise<HealthStatus>((resolve, reject) => {
      const call = this.set.client(endpoint).makeUnaryRequest(
        HEALTH_CHECK_PATH,
        (b: Buffer) => b,
        decodeHealthCheckResponse,
        request,
        new Metadata({ waitForReady: true }),
        { deadline: d.deadlineMs },
        (err, res) => {
          this.active.delete(call);
          if (err) reject(fromServiceError(err, "HealthCheck", endpoint));
          else resolve(res ?? "UNKNOWN");
        },
      );
      this.active.add(call);
      d.signal?.addEventListener("abort", () => call.cancel(), { once: true });
    });
  }

  invalidateRegion(regionId: bigint): boolean {
    return this.cache?.invalidateRegion(regionId) ?? false;
  }

  invalidateKey(key: Uint8Array): boolean {
    return this.cache?.invalidateKey(checkKey("key", key)) ?? false;
  }

  stats(): PdClientStats {
    return {
      ...this.counters,
      routeCacheEvictions: this.cache?.evictions ?? 0,
      routeCacheSize: this.cache?.size ?? 0,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort();
    this.batcher?.rejectPending(closedError("Tso"));
    this.tsoStream?.cancel(closedError("Tso"));
    this.tsoStream = undefined;
    for (const call of this.active) call.cancel();
    this.active.clear();
    this.set.close();
    this.cache?.clear();
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
