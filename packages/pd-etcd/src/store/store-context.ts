import type { Etcd3 } from "etcd3";
import type { ClusterKeys } from "../keys/key-layout.js";
import type { TermFence } from "./term-fence.js";

/** Counters of the etcd store, for metrics and tests. */
export interface EtcdStoreStats {
  /** Appends written as one transaction of region keys. */
  readonly directAppends: number;
  /** Appends too large for one transaction, written as a pending batch first. */
  readonly pendingAppends: number;
  /** Pending batches spread over region keys and removed. */
  readonly settledBatches: number;
  /** Successful allocator ceiling writes. */
  readonly allocatorWrites: number;
}

/**
 * What the store's protocols (the catalog chain, the pending batch, the
 * allocator ceilings) share: the client, the keys, the limits, the fence of
 * the current term and the counters. One per store.
 */
export interface StoreContext {
  readonly client: Etcd3;
  readonly keys: ClusterKeys;
  /** For error messages: `etcd <endpoints> /nokv/pd/<id>/`. */
  readonly description: string;
  /** Deadline of one etcd request, in ms. */
  readonly timeoutMs: number;
  /** etcd's `--max-txn-ops`. */
  readonly maxTxnOps: number;
  /** Budget of one transaction's keys and values, in bytes. */
  readonly maxTxnBytes: number;
  readonly fence: TermFence;
  readonly stats: { -readonly [K in keyof EtcdStoreStats]: EtcdStoreStats[K] };
}
