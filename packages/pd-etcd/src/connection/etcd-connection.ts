import { performance } from "node:perf_hooks";
import { PdError } from "@nokv/pd-core";
import { Etcd3, type IOptions, isRecoverableError } from "etcd3";

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

/** A new etcd client over `endpoints` with PD's per-endpoint fault policy ({@link createHostPolicy}). */
export function createEtcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({ hosts: [...endpoints], faultHandling: { host: () => createHostPolicy(endpoints.length) } });
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions["faultHandling"]>["host"]>>;

/** Consecutive recoverable failures after which an endpoint is skipped. */
export const HOST_FAILURES_TO_SKIP = 3;
/** How long a failing endpoint is skipped, in ms. */
export const HOST_SKIP_MS = 1000;

/**
 * The per-endpoint fault policy of the clients we create. etcd3's default
 * opens a circuit for 5 s after 3 failures in a row: with one endpoint that
 * is a 5 s outage after a blip (longer than a 2 s leader lease), and a bad
 * request (too large) counts as a failure too. Here a single endpoint is
 * always tried; with several, an endpoint that failed 3 times in a row
 * (recoverable failures only) is skipped for 1 s (the client then goes to
 * the next endpoint).
 *
 * The skip is measured on `nowMs`, a monotonic clock by default
 * (`performance.now`): a wall clock stepped back during an outage would
 * otherwise keep the endpoint skipped for as long as the step.
 */
export function createHostPolicy(endpointCount: number, nowMs: () => number = () => performance.now()): HostPolicy {
  let failures = 0;
  let skipUntil = Number.NEGATIVE_INFINITY;
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal; attempt: number }) => T | Promise<T>): Promise<T> {
      if (endpointCount > 1 && nowMs() < skipUntil) {
        throw new Error(`etcd endpoint skipped for ${HOST_SKIP_MS} ms after ${HOST_FAILURES_TO_SKIP} failures`);
      }
      try {
        const result = await fn({ signal: new AbortController().signal, attempt: 0 });
        failures = 0;
        return result;
      } catch (err) {
        if (err instanceof Error && isRecoverableError(err) && ++failures >= HOST_FAILURES_TO_SKIP) {
          failures = 0;
          skipUntil = nowMs() + HOST_SKIP_MS;
        }
        throw err;
      }
    },
  };
  return policy as unknown as HostPolicy;
}

/**
 * Per-call gRPC options: an absolute deadline (covers etcd3's internal
 * retries too). gRPC takes deadlines as wall-clock dates and turns them into
 * a relative timeout when the call starts, microseconds later, so a clock
 * step cannot stretch it.
 */
export function callOptions(timeoutMs: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + timeoutMs) };
}
