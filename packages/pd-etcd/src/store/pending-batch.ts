import { PdError, type RegionEdit } from "@nokv/pd-core";
import { decodeEdits, encodeEdits } from "@nokv/pd-storage";
import type { IKeyValue, IRequestOp } from "etcd3";
import { deleteOp, putOp } from "../connection/txn.js";
import type { LeaderFence } from "../election/leader-guard.js";
import type { CatalogChain } from "./catalog-chain.js";
import { editOps } from "./region-values.js";
import type { StoreContext } from "./store-context.js";

/** What one transaction operation costs beyond its key and value, in bytes (a conservative estimate). */
const TXN_OP_OVERHEAD_BYTES = 32;

/**
 * The pending-batch protocol: how an append too large for one transaction
 * (more than `maxTxnOps - 1` keys or `maxTxnBytes`, e.g. a group commit of
 * 256 heartbeats under etcd's default of 128 operations) stays atomic.
 *
 * The whole batch is written as one `catalog/pending` value, in one link of
 * the catalog chain: that write is the commit point, and `load` applies a
 * pending batch on top of the region keys. The store then spreads it over
 * the region keys in links of at most `maxTxnOps` operations and deletes it,
 * before any later region write. Splitting the batch itself over several
 * transactions would not do: a split result written without the delete of
 * its parent would leave overlapping regions, which the next leader would
 * refuse to load. Only a batch above `maxTxnBytes` as a whole is refused.
 */
export class PendingBatch {
  readonly #ctx: StoreContext;
  readonly #chain: CatalogChain;
  /** True once we know `catalog/pending` is absent. */
  #settled = false;
  /** The content of `catalog/pending`, when we wrote or read it. */
  #edits: RegionEdit[] | undefined;

  constructor(ctx: StoreContext, chain: CatalogChain) {
    this.#ctx = ctx;
    this.#chain = chain;
  }

  /** True once `catalog/pending` is known to be absent. */
  get settled(): boolean {
    return this.#settled;
  }

  /** True when whether (and what) a batch is pending must be read from etcd first. */
  get unknown(): boolean {
    return !this.#settled && this.#edits === undefined;
  }

  /** After a load: the batch it found (applied on top of the regions), or none. */
  reset(pending: RegionEdit[] | undefined): void {
    this.#settled = pending === undefined;
    this.#edits = pending;
  }

  /** Takes what {@link CatalogChain.readHead} found at `catalog/pending`. */
  adoptHead(pendingKv: IKeyValue | undefined): void {
    if (pendingKv === undefined) {
      this.#settled = true;
      this.#edits = undefined;
    } else if (this.#edits === undefined) {
      this.#edits = decodeEdits(pendingKv.value, `etcd key ${this.#ctx.keys.catalogPending}`);
    }
  }

  /**
   * Commits `edits` as one pending batch; resolves with the revision of that
   * commit. The caller spreads it afterwards.
   *
   * @throws PdError `STORAGE` when the batch exceeds the transaction budget
   *   (nothing written) or the chain's write failed; `NOT_LEADER` when the fence failed.
   */
  async commit(fence: LeaderFence | undefined, edits: RegionEdit[]): Promise<bigint> {
    const { keys, maxTxnBytes, description } = this.#ctx;
    const record = encodeEdits(edits);
    const size = keys.catalogPending.length + record.length + TXN_OP_OVERHEAD_BYTES;
    if (size > maxTxnBytes) {
      throw new PdError(
        "STORAGE",
        `${description}: an append of ${edits.length} region edit(s) takes ${size} bytes, above the ${maxTxnBytes}-byte transaction budget; nothing was written`,
      );
    }
    // Until the write is answered, whether a batch is pending is unknown.
    this.#settled = false;
    this.#edits = undefined;
    const revision = await this.#chain.commit(fence, [putOp(keys.catalogPending, record)]);
    this.#edits = edits;
    this.#ctx.stats.pendingAppends++;
    return revision;
  }

  /** Spreads the pending batch over the region keys and deletes it, link by link of the chain. */
  async spread(fence: LeaderFence | undefined): Promise<void> {
    const { keys, maxTxnOps, maxTxnBytes } = this.#ctx;
    // Each chunk leaves room for the chain's token; the last also deletes the batch.
    const chunks = chunkOps(editOps(keys, this.#edits!), maxTxnOps - 1, maxTxnBytes - 256);
    const last = chunks.at(-1);
    if (last !== undefined && fitsOneTxn(this.#ctx, last, 2)) last.push(deleteOp(keys.catalogPending));
    else chunks.push([deleteOp(keys.catalogPending)]);
    for (const chunk of chunks) await this.#chain.commit(fence, chunk);
    this.#settled = true;
    this.#edits = undefined;
    this.#ctx.stats.settledBatches++;
  }
}

/** True when `ops` plus `extra` more operations fit one transaction of the store's budget. */
export function fitsOneTxn(ctx: StoreContext, ops: readonly IRequestOp[], extra: number): boolean {
  if (ops.length + extra > ctx.maxTxnOps) return false;
  return opsBytes(ops) + extra * (TXN_OP_OVERHEAD_BYTES + 64) <= ctx.maxTxnBytes;
}

/** Splits `ops` into runs of at most `maxOps` operations and `maxBytes` bytes (a larger op alone). */
function chunkOps(ops: readonly IRequestOp[], maxOps: number, maxBytes: number): IRequestOp[][] {
  const chunks: IRequestOp[][] = [];
  let current: IRequestOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = opsBytes([op]);
    if (current.length > 0 && (current.length + 1 > maxOps || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function opsBytes(ops: readonly IRequestOp[]): number {
  let n = 0;
  for (const op of ops) {
    const put = op.request_put;
    const del = op.request_delete_range;
    n += TXN_OP_OVERHEAD_BYTES + (put?.key?.length ?? 0) + (put?.value?.length ?? 0) + (del?.key?.length ?? 0);
  }
  return n;
}
