import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { PdError } from "@nokv/pd-core";
import { Etcd3, GRPCResourceExhastedError, type IOptions, isRecoverableError } from "etcd3";
import { EndpointHealth } from "./endpoint-health.js";

/** gRPC call options as the etcd client takes them. */
export type CallOptions = NonNullable<Parameters<Etcd3["kv"]["range"]>[1]>;

export { EndpointHealth, HOST_FAILURES_TO_SKIP, HOST_SKIP_MS, HUNG_SKIP_MAX_MS, HUNG_SKIP_MS, hostKey } from "./endpoint-health.js";

/**
 * How a PD component reaches etcd: either endpoints (it then creates, owns
 * and closes its own client) or an existing `Etcd3` client that the caller
 * owns and closes (an elected member shares one between its election, its
 * stores and its registration).
 */
export type EtcdConnectionOptions =
  | { readonly endpoints: readonly string[]; readonly client?: undefined }
  | { readonly client: Etcd3; readonly endpoints?: undefined };

/** A client plus whether closing the component should close it. */
export interface EtcdConnection {
  readonly client: Etcd3;
  readonly owned: boolean;
}

/** Options of {@link createEtcdClient}. */
export interface EtcdClientOptions {
  /**
   * Deadline of one attempt of a request on one etcd member, in ms: past it
   * the member counts as hung and the request is tried on another one.
   * Default {@link DEFAULT_ATTEMPT_TIMEOUT_MS}.
   */
  readonly attemptTimeoutMs?: number;
  /** Monotonic clock in ms for the endpoint skips. Default `performance.now`. */
  readonly nowMs?: () => number;
}

/** Deadline of one attempt on one member when none is given, in ms. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 1000;

interface ClientTraits {
  readonly health: EndpointHealth;
  readonly attemptTimeoutMs: number;
}

/** What PD knows about the clients it created (clients made elsewhere have no entry). */
const traits = new WeakMap<Etcd3, ClientTraits>();

/**
 * Resolves {@link EtcdConnectionOptions}.
 *
 * @throws PdError `INVALID_ARGUMENT` when neither or both are given, or the endpoint list is empty.
 */
export function connectEtcd(options: EtcdConnectionOptions, what: string): EtcdConnection {
  if (options.client !== undefined) {
    if (options.endpoints !== undefined) throw new PdError("INVALID_ARGUMENT", `${what}: give endpoints or client, not both`);
    return { client: options.client, owned: false };
  }
  const endpoints = options.endpoints;
  if (endpoints === undefined || endpoints.length === 0) {
    throw new PdError("INVALID_ARGUMENT", `${what}: needs at least one etcd endpoint or a client`);
  }
  return { client: createEtcdClient(endpoints), owned: true };
}

/**
 * A new etcd client over `endpoints` that does not stay with a member that
 * hangs: every member's calls and streams go through one
 * {@link EndpointHealth} (a member that fails or does not answer in time is
 * skipped for a while), and {@link etcdRequest} gives each attempt its own
 * deadline and tries the next attempt elsewhere. etcd3's own retries are
 * off: they would share one deadline with the first attempt.
 */
export function createEtcdClient(endpoints: readonly string[], options: EtcdClientOptions = {}): Etcd3 {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  if (!Number.isFinite(attemptTimeoutMs) || attemptTimeoutMs < 1) {
    throw new PdError("INVALID_ARGUMENT", `etcd client: attemptTimeoutMs must be >= 1, got ${attemptTimeoutMs}`);
  }
  const health = new EndpointHealth(endpoints, options.nowMs);
  const noRetry = { execute: <T>(fn: (context: { signal: AbortSignal; attempt: number }) => T | Promise<T>) => fn({ signal: new AbortController().signal, attempt: 0 }) };
  const client = new Etcd3({
    hosts: [...endpoints],
    faultHandling: {
      host: (host) => health.policy(host),
      global: noRetry as unknown as NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>,
    },
  });
  traits.set(client, { health, attemptTimeoutMs });
  return client;
}

/** The endpoint health of a client made by {@link createEtcdClient}; undefined for any other client. */
export function endpointHealthOf(client: Etcd3): EndpointHealth | undefined {
  return traits.get(client)?.health;
}

/** The per-attempt deadline of `client`, in ms ({@link DEFAULT_ATTEMPT_TIMEOUT_MS} for a client made elsewhere). */
export function attemptTimeoutOf(client: Etcd3): number {
  return traits.get(client)?.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
}

/**
 * Tells `client`'s endpoint health that the member behind `stream` (a
 * keepalive or watch stream it opened) went silent, so that the next
 * stream or request goes elsewhere. A no-op for a client made elsewhere.
 */
export function reportSilent(client: Etcd3, stream: unknown): void {
  const host = EndpointHealth.hostOf(stream);
  if (host !== undefined) traits.get(client)?.health.hung(host);
}

/** Shortest attempt worth sending, in ms: below it, a deadline would fail before the member could answer. */
const MIN_ATTEMPT_MS = 50;
/** Pause between attempts, in ms (a refused connection fails at once; this keeps a retry loop from spinning). */
const RETRY_PAUSE_MS = 25;

/**
 * Runs one etcd request: each attempt with its own deadline (the client's
 * attempt timeout, or what is left of `budgetMs`), a recoverable failure
 * (refused, reset, past its deadline) tried again — on another member,
 * since the endpoint health skips the one that failed — until `budgetMs`
 * (monotonic) is spent. Every PD write tolerates being applied by an
 * attempt whose answer was lost: each compares the state it builds on.
 *
 * @throws the client's last error.
 */
export async function etcdRequest<T>(client: Etcd3, budgetMs: number, call: (options: CallOptions) => Promise<T>): Promise<T> {
  const attemptMs = attemptTimeoutOf(client);
  const deadline = performance.now() + budgetMs;
  for (;;) {
    const left = deadline - performance.now();
    const thisAttempt = Math.max(1, Math.min(attemptMs, left));
    try {
      return await call(callOptions(thisAttempt));
    } catch (err) {
      const after = deadline - performance.now();
      // Resource exhaustion (a request above etcd's size limit) would fail again anywhere.
      const retryable = err instanceof Error && isRecoverableError(err) && !(err instanceof GRPCResourceExhastedError);
      if (!retryable || after < MIN_ATTEMPT_MS + RETRY_PAUSE_MS) throw err;
      await sleep(RETRY_PAUSE_MS);
    }
  }
}

/**
 * Per-call gRPC options: a deadline `timeoutMs` from now. gRPC takes
 * deadlines as wall-clock dates and turns them into a relative timeout when
 * the call starts, microseconds later, so a clock step cannot stretch it.
 */
export function callOptions(timeoutMs: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + timeoutMs) };
}
