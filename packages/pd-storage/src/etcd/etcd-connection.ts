import { PdError } from "@nokv/pd-core";
import {
  CompareResult,
  CompareTarget,
  Etcd3,
  type ICompare,
  type IOptions,
  isRecoverableError,
  type IKeyValue,
  type IRequestOp,
  type ITxnRequest,
  type ITxnResponse,
} from "etcd3";

/**
 * How a PD component reaches etcd: either endpoints (it then creates, owns
 * and closes its own client) or an existing `Etcd3` client that the caller
 * owns and closes (share one between the store and the leader election).
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
  return {
    client: new Etcd3({ hosts: [...endpoints], faultHandling: { host: () => hostPolicy(endpoints.length) } }),
    owned: true,
  };
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions["faultHandling"]>["host"]>>;

const HOST_FAILURES_TO_SKIP = 3;
const HOST_SKIP_MS = 1000;

/**
 * The per-endpoint fault policy of the clients we create. etcd3's default
 * opens a circuit for 5 s after 3 failures in a row: with one endpoint that
 * is a 5 s outage after a blip (longer than a 2 s leader lease), and a bad
 * request (too large) counts as a failure too. Here a single endpoint is
 * always tried; with several, an endpoint that failed 3 times in a row is
 * skipped for 1 s (the client then goes to the next endpoint).
 */
function hostPolicy(endpointCount: number): HostPolicy {
  let failures = 0;
  let skipUntil = 0;
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal; attempt: number }) => T | Promise<T>): Promise<T> {
      if (endpointCount > 1 && Date.now() < skipUntil) {
        throw new Error(`etcd endpoint skipped for ${HOST_SKIP_MS} ms after ${HOST_FAILURES_TO_SKIP} failures`);
      }
      try {
        const result = await fn({ signal: new AbortController().signal, attempt: 0 });
        failures = 0;
        return result;
      } catch (err) {
        if (err instanceof Error && isRecoverableError(err) && ++failures >= HOST_FAILURES_TO_SKIP) {
          failures = 0;
          skipUntil = Date.now() + HOST_SKIP_MS;
        }
        throw err;
      }
    },
  };
  return policy as unknown as HostPolicy;
}

/** Per-call gRPC options: an absolute deadline (covers etcd3's internal retries too). */
export function callOptions(timeoutMs: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + timeoutMs) };
}

/** Wraps anything thrown by the etcd client as PdError `STORAGE`; PdErrors pass through. */
export { storageError } from "../storage-error.js";

const buf = (s: string | Buffer): Buffer => (typeof s === "string" ? Buffer.from(s) : s);

/** Compare: the key's create revision equals `revision` ("0": the key does not exist). */
export function createRevisionIs(key: string, revision: string): ICompare {
  return { key: buf(key), target: CompareTarget.Create, result: CompareResult.Equal, create_revision: revision };
}

/** Compare: the key's mod revision equals `revision` ("0": the key does not exist). */
export function modRevisionIs(key: string, revision: string): ICompare {
  return { key: buf(key), target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: revision };
}

/** Txn op: put `value` at `key`, optionally bound to a lease. */
export function putOp(key: string, value: string | Buffer, lease?: string): IRequestOp {
  return { request_put: { key: buf(key), value: buf(value), ...(lease !== undefined && { lease }) } };
}

/** Txn op: delete one key. */
export function deleteOp(key: string): IRequestOp {
  return { request_delete_range: { key: buf(key) } };
}

/** Txn op: read one key. */
export function getOp(key: string): IRequestOp {
  return { request_range: { key: buf(key) } };
}

/** The key-value that the `i`-th op (a single-key read) of a txn response returned, if the key existed. */
export function rangeResult(res: ITxnResponse, i: number): IKeyValue | undefined {
  return res.responses[i]?.response_range?.kvs[0];
}

/** Runs one transaction. */
export function txn(client: Etcd3, request: ITxnRequest, timeoutMs: number): Promise<ITxnResponse> {
  return client.kv.txn(request, callOptions(timeoutMs));
}
