import {
  CompareResult,
  CompareTarget,
  type Etcd3,
  type ICompare,
  type IKeyValue,
  type IRequestOp,
  type ITxnRequest,
  type ITxnResponse,
} from "etcd3";
import { etcdRequest } from "./etcd-connection.js";

// The pieces every PD transaction is built from. Every write PD makes is one
// etcd transaction whose compares say which state it builds on (a term's
// leader key, the catalog chain, the allocator key's revision); these
// builders keep those transactions short and readable.

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

/**
 * Runs one transaction within `budgetMs`, each attempt with its own
 * deadline and a retry on another member (see `etcdRequest`): every
 * transaction of PD compares the state it builds on, so an attempt that
 * applied without an answer cannot apply twice.
 */
export function txn(client: Etcd3, request: ITxnRequest, budgetMs: number): Promise<ITxnResponse> {
  return etcdRequest(client, budgetMs, (options) => client.kv.txn(request, options));
}
