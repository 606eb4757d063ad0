import { status as GrpcStatus } from "@grpc/grpc-js";
import { decodePdError, PDSchedulingService, PDService } from "@nokv/pd-proto";
import {
  abortedError,
  closedError,
  fromServiceError,
  isServiceError,
  PdClientError,
} from "../errors.js";
import type { Channels, UnaryMethod } from "../leader/endpoints.js";
import type { LeaderTracker } from "../leader/leader-tracker.js";
import type { ClientMetrics } from "../metrics/client-metrics.js";
import { Deadline, monotonicNowMs } from "./deadline.js";
import { backoffMs, sleep, type RetryPolicy } from "./retry.js";

/**
 * The longest one attempt may wait for an answer when another endpoint
 * could serve instead, in ms (tikv/pd's client uses 3 s per PD RPC). A
 * leader that is alive but silent (paused, partitioned) is then given up
 * and the members asked, instead of holding callers for their whole
 * deadline. With one endpoint there is nowhere else to go: no cap.
 */
export const ATTEMPT_TIMEOUT_MS = 2000;

/**
 * The longest pause between attempts while the leader moves (`NOT_LEADER`,
 * `UNAVAILABLE`), in ms: a new leader that is still loading its state is
 * asked again soon, so callers resume within this of its first answer.
 */
export const LEADER_RETRY_MAX_BACKOFF_MS = 50;

/** Which failures a method may retry: all retryable ones, or only those where PD surely did nothing. */
export type RetryScope = "retryable" | "not-leader";

/**
 * Every unary method the client calls, by its key in the generated
 * definitions: `pb.PD`'s (the contract NoKV's stores and gateways share) and
 * `pb.PDScheduling`'s (PD-lite's scheduling control, served beside it on the
 * same port by the same leader). The two services have no key in common.
 */
const UNARY_METHODS = (() => {
  const { tsoStream: _stream, ...pd } = PDService;
  return { ...pd, ...PDSchedulingService };
})();
type UnaryMethods = typeof UNARY_METHODS;

/** The unary methods, by their key in the generated `PDService` or `PDSchedulingService`. */
export type PdMethod = keyof UnaryMethods;
type RequestOf<M extends PdMethod> = Parameters<UnaryMethods[M]["requestSerialize"]>[0];
type ResponseOf<M extends PdMethod> = ReturnType<UnaryMethods[M]["responseDeserialize"]>;

/**
 * The RPC name of each method, as errors and metrics name it. Exhaustive
 * over both services: a method added to either fails to compile until it
 * is named here.
 */
export const METHOD_NAMES: Record<PdMethod, string> = {
  storeHeartbeat: "StoreHeartbeat",
  regionHeartbeat: "RegionHeartbeat",
  removeRegion: "RemoveRegion",
  getRegionByKey: "GetRegionByKey",
  allocId: "AllocID",
  tso: "Tso",
  getMembers: "GetMembers",
  listStores: "ListStores",
  listRegions: "ListRegions",
  getRegionById: "GetRegionById",
  listOperators: "ListOperators",
  listSchedulers: "ListSchedulers",
  setSchedulerPaused: "SetSchedulerPaused",
  getSchedulingConfig: "GetSchedulingConfig",
  setSchedulingConfig: "SetSchedulingConfig",
};

/**
 * One attempt of a call on `endpoint`. Rejects with a {@link PdClientError}
 * (or a raw grpc-js error, which the invoker maps); `unreachable` errors
 * are tagged with {@link markUnreachable}.
 */
export type Attempt<T> = (endpoint: string, deadline: Deadline) => Promise<T>;

const unreachableErrors = new WeakSet<PdClientError>();

/** Tags an attempt's error as "the endpoint gave no answer" (the tracker marks it down). */
export function markUnreachable(err: PdClientError): PdClientError {
  unreachableErrors.add(err);
  return err;
}

/** Counters the invoker keeps for `stats()`. */
export interface InvokerCounters {
  rpcs: number;
  retries: number;
  leaderRedirects: number;
  regionRpcs: number;
  tsoUnaryRpcs: number;
}

/**
 * Runs every call of the client: one attempt at a time on the endpoint the
 * {@link LeaderTracker} names, failures mapped to {@link PdClientError},
 * retries with backoff inside the call's deadline, and cleanup of every
 * listener and timer it adds, whatever ends the call (answer, error,
 * deadline, the caller's signal, `close()`).
 *
 * Attempts fail fast (no wait-for-ready): an endpoint that refuses or drops
 * the connection is reported down at once and the call moves on or waits
 * for a leader, instead of waiting out its deadline on a dead address.
 * `maxAttempts` counts the attempts a PD answered; time spent waiting for a
 * reachable leader is bounded by the deadline alone.
 */
export class Invoker {
  readonly #channels: Channels;
  readonly #tracker: LeaderTracker;
  readonly #policy: RetryPolicy;
  readonly #metrics: ClientMetrics;
  readonly #closeSignal: AbortSignal;
  readonly counters: InvokerCounters = { rpcs: 0, retries: 0, leaderRedirects: 0, regionRpcs: 0, tsoUnaryRpcs: 0 };

  constructor(channels: Channels, tracker: LeaderTracker, policy: RetryPolicy, metrics: ClientMetrics, closeSignal: AbortSignal) {
    this.#channels = channels;
    this.#tracker = tracker;
    this.#policy = policy;
    this.#metrics = metrics;
    this.#closeSignal = closeSignal;
  }

  get closed(): boolean {
    return this.#closeSignal.aborted;
  }

  /** Throws `CLOSED` or `CANCELLED` when the call may not go on. */
  checkLive(method: string, signal: AbortSignal | undefined): void {
    if (this.#closeSignal.aborted) throw closedError(method);
    if (signal?.aborted) throw abortedError(method, signal);
  }

  /** A unary PD call with retries, timed into the latency histogram. */
  async unary<M extends PdMethod>(method: M, request: RequestOf<M>, deadline: Deadline, scope: RetryScope): Promise<ResponseOf<M>> {
    const name = METHOD_NAMES[method];
    const def = UNARY_METHODS[method] as unknown as UnaryMethod<RequestOf<M>, ResponseOf<M>>;
    const started = monotonicNowMs();
    try {
      // GetMembers is answered by every member: an answer proves nothing about leadership.
      const leaderOnly = method !== "getMembers";
      const res = await this.retrying(name, deadline, scope, (endpoint, d) => this.unaryAttempt(method, def, endpoint, request, d), leaderOnly);
      this.#metrics.observeRequest(name, "ok", (monotonicNowMs() - started) / 1000);
      return res;
    } catch (err) {
      this.#metrics.observeRequest(name, "error", (monotonicNowMs() - started) / 1000);
      throw err;
    }
  }

  /** One fail-fast unary attempt of a PD method on `endpoint`. */
  unaryAttempt<M extends PdMethod>(
    method: M,
    def: UnaryMethod<RequestOf<M>, ResponseOf<M>>,
    endpoint: string,
    request: RequestOf<M>,
    d: Deadline,
  ): Promise<ResponseOf<M>> {
    const name = METHOD_NAMES[method];
    this.counters.rpcs += 1;
    if (method === "getRegionByKey") this.counters.regionRpcs += 1;
    else if (method === "tso") this.counters.tsoUnaryRpcs += 1;
    const capMs = this.#tracker.endpoints.length > 1 ? ATTEMPT_TIMEOUT_MS : Infinity;
    return this.#channels
      .unary(endpoint, def, request, { deadline: d.grpcDeadline(capMs), waitForReady: false, signals: [d.signal, this.#closeSignal] })
      .catch((raw: unknown) => {
        throw this.#mapAttemptError(raw, name, endpoint, d, capMs);
      });
  }

  /**
   * The standard health check (`grpc.health.v1.Health/Check`) of one
   * endpoint: a single attempt that waits for the connection up to the
   * deadline, like `grpc-health-probe`.
   */
  async health<Req, Res>(endpoint: string, def: UnaryMethod<Req, Res>, request: Req, d: Deadline): Promise<Res> {
    const name = "HealthCheck";
    this.checkLive(name, d.signal);
    const started = monotonicNowMs();
    try {
      const res = await this.#channels.unary(endpoint, def, request, {
        deadline: d.grpcDeadline(),
        waitForReady: true,
        signals: [d.signal, this.#closeSignal],
      });
      this.#metrics.observeRequest(name, "ok", (monotonicNowMs() - started) / 1000);
      return res;
    } catch (raw) {
      this.#metrics.observeRequest(name, "error", (monotonicNowMs() - started) / 1000);
      this.checkLive(name, d.signal);
      throw isServiceError(raw) ? fromServiceError(raw, name, endpoint) : internalError(name, endpoint, raw);
    }
  }

  #mapAttemptError(raw: unknown, name: string, endpoint: string, d: Deadline, capMs: number): PdClientError {
    if (!isServiceError(raw)) return raw instanceof PdClientError ? raw : internalError(name, endpoint, raw);
    const err = fromServiceError(raw, name, endpoint);
    if (decodePdError(raw).code === undefined && raw.code === GrpcStatus.UNAVAILABLE) return markUnreachable(err);
    // Cut short by the per-attempt cap while the call still has time: the
    // endpoint is silent and another may serve.
    if (raw.code === GrpcStatus.DEADLINE_EXCEEDED && capMs !== Infinity && !d.expired) return markUnreachable(err);
    return err;
  }

  /**
   * Runs `attempt` until it succeeds, a failure may not be retried, or the
   * deadline passes. Between attempts: nothing after a redirect or a leader
   * change; a wait for the tracker while no endpoint is usable; backoff
   * otherwise (short while the leader moves).
   */
  async retrying<T>(name: string, d: Deadline, scope: RetryScope, attempt: Attempt<T>, leaderOnly = true): Promise<T> {
    const tried: string[] = [];
    let attempts = 0;
    let answered = 0;
    let last: PdClientError | undefined;
    for (;;) {
      this.checkLive(name, d.signal);
      if (d.expired) throw this.#deadlineError(name, d, attempts, tried, last);
      const generation = this.#tracker.generation;
      const endpoint = this.#tracker.target();
      if (endpoint === undefined) {
        if (last !== undefined && this.#policy.maxAttempts === 1) throw last;
        await this.#tracker.changed(generation, d.atMs, d.signal);
        continue;
      }
      if (!tried.includes(endpoint)) tried.push(endpoint);
      attempts += 1;
      if (attempts > 1) this.counters.retries += 1;
      try {
        const res = await attempt(endpoint, d);
        if (leaderOnly) this.#tracker.confirm(endpoint);
        return res;
      } catch (raw) {
        this.checkLive(name, d.signal);
        const err = raw instanceof PdClientError ? raw : isServiceError(raw) ? fromServiceError(raw, name, endpoint) : internalError(name, endpoint, raw);
        last = err;
        const unreachable = unreachableErrors.has(err);
        if (!unreachable) answered += 1;
        const outcome = err.retryable ? this.#tracker.report(endpoint, err, unreachable) : "backoff";
        if (outcome === "redirected") this.counters.leaderRedirects += 1;
        // A request that never reached PD (unreachable) or that PD refused
        // because it does not lead did nothing: always safe to send again.
        const allowed = err.retryable && (scope === "retryable" || err.code === "NOT_LEADER" || (unreachable && neverSent(err)));
        if (!allowed || this.#policy.maxAttempts === 1) {
          throw err.status === GrpcStatus.DEADLINE_EXCEEDED && d.expired ? this.#deadlineError(name, d, attempts, tried, err) : gaveUp(err, attempts, tried);
        }
        if (answered >= this.#policy.maxAttempts) throw gaveUp(err, attempts, tried);
        if (outcome === "redirected" || outcome === "wait" || this.#tracker.generation !== generation) continue;
        const leaderMoving = err.code === "UNAVAILABLE" || err.code === "NOT_LEADER";
        const delay = Math.min(backoffMs(this.#policy, answered), leaderMoving ? LEADER_RETRY_MAX_BACKOFF_MS : Infinity);
        if (monotonicNowMs() + delay >= d.atMs) throw this.#deadlineError(name, d, attempts, tried, err);
        await sleep(delay, [d.signal, this.#closeSignal]);
      }
    }
  }

  #deadlineError(name: string, d: Deadline, attempts: number, tried: readonly string[], last: PdClientError | undefined): PdClientError {
    const endpoint = last?.endpoint ?? this.#tracker.leader ?? tried[0] ?? this.#tracker.endpoints[0];
    const why =
      attempts === 0
        ? "no PD endpoint was reachable and no leader was known"
        : endpoint !== undefined && this.#channels.isReady(endpoint)
          ? `no answer from ${endpoint}`
          : "could not connect to PD";
    const triedText = tried.length > 0 ? tried.join(", ") : this.#tracker.endpoints.join(", ");
    return new PdClientError(
      `pd ${name}: deadline of ${d.timeoutMs}ms exceeded after ${attempts} attempt${attempts === 1 ? "" : "s"}, ${why} (tried ${triedText})`,
      {
        status: GrpcStatus.DEADLINE_EXCEEDED,
        code: "DEADLINE_EXCEEDED",
        retryable: true,
        method: name,
        endpoint,
        cause: last?.cause ?? last,
      },
    );
  }
}

/**
 * Whether an unreachable endpoint's failure happened before the request
 * left (no connection could be made): grpc-js says so in its own status
 * text. Used only to retry calls that must not run twice.
 */
function neverSent(err: PdClientError): boolean {
  return /No connection established/i.test(err.message);
}

function gaveUp(err: PdClientError, attempts: number, tried: readonly string[]): PdClientError {
  if (attempts <= 1) return err;
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

/** Something other than a gRPC status failed an attempt (a decoding error): a PD bug or a broken answer. */
export function internalError(name: string, endpoint: string, raw: unknown): PdClientError {
  return new PdClientError(`pd ${name}: ${raw instanceof Error ? raw.message : String(raw)}`, {
    status: GrpcStatus.INTERNAL,
    code: "INTERNAL",
    retryable: false,
    method: name,
    endpoint,
    cause: raw,
  });
}
