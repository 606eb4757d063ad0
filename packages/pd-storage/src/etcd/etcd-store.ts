import { setTimeout as delay } from "node:timers/promises";
import { randomUUID } from "node:crypto";
import { type AllocatorState, type ClusterSnapshot, PdError, type RegionEdit } from "@nokv/pd-core";
import { MAX_UINT64, type Region, type SchedulingConfig } from "@nokv/pd-model";
import type { Etcd3, IKeyValue, IRequestOp, ITxnResponse } from "etcd3";
import type { Store } from "../store.js";
import { formatFlatCheckpoints, parseAllocatorState } from "../local-file/pd-state-file.js";
import { decodeEdits, encodeEdits } from "../local-file/region-codec.js";
import { decodeSchedulingConfig, encodeSchedulingConfig } from "../scheduling/scheduling-config-codec.js";
import {
  callOptions,
  connectEtcd,
  createRevisionIs,
  deleteOp,
  type EtcdConnectionOptions,
  getOp,
  modRevisionIs,
  putOp,
  rangeResult,
  storageError,
  txn,
} from "./etcd-connection.js";
import { type ClusterKeys, clusterKeys, parseRegionKey, prefixRangeEnd } from "./key-layout.js";
import { type LeaderFence, type LeaderGuard, parseLeaderValue } from "./leader-guard.js";

/** Options of {@link openEtcdStore}: `endpoints` or `client`, plus these. */
export type EtcdStoreOptions = EtcdConnectionOptions & {
  /** Names this PD cluster's keys: `/nokv/pd/<clusterId>/…`. */
  readonly clusterId: string;
  /**
   * Fences every write on this member's leader term (see {@link LeaderGuard});
   * usually the `LeaderElection` of the same cluster. Without it the
   * store writes unconditionally: run only one PD per cluster id then.
   */
  readonly leaderGuard?: LeaderGuard;
  /** Deadline of one etcd request, in ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** etcd's `--max-txn-ops` (operations per transaction). Default 128, etcd's default. */
  readonly maxTxnOps?: number;
  /** Budget of one transaction's keys and values, in bytes; keep it under etcd's `--max-request-bytes` (1.5 MiB by default). Default 1 MiB. */
  readonly maxTxnBytes?: number;
  /** Region keys read per request by `load`. Default 512. */
  readonly loadPageSize?: number;
};

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

const TXN_OP_OVERHEAD_BYTES = 32;
const IN_DOUBT_RETRY_MS = 100;

interface InDoubt {
  /** The commit revision the unanswered write compared against. */
  readonly base: string;
  /** The token it would have written. */
  readonly token: string;
  /** The token of our fencing write, the same for every attempt to settle this doubt. */
  readonly fenceToken: string;
  readonly cause: unknown;
}

type Outcome = "committed" | "not-committed";

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function checkAllocatorState(state: AllocatorState): void {
  for (const [name, v] of [["idCurrent", state.idCurrent], ["tsCurrent", state.tsCurrent]] as const) {
    if (typeof v !== "bigint" || v < 0n || v > MAX_UINT64) {
      throw new PdError("INVALID_ARGUMENT", `allocator state: ${name} ${String(v)} is not a uint64`);
    }
  }
}

/**
 * The etcd {@link Store}: several PD members share one etcd cluster, and the
 * elected leader reads and writes PD's state under `/nokv/pd/<cluster-id>/`
 * (layout in {@link ClusterKeys}).
 *
 * Regions: one key per region, the value being the local-file backend's
 * binary payload of a one-`put` batch. An append is ONE etcd transaction
 * (atomic all-or-nothing) of puts and deletes, the same region's edits
 * collapsed to the last one (etcd refuses a key twice in one transaction).
 * An append that does not fit one transaction (more than `maxTxnOps - 1`
 * keys or `maxTxnBytes`, e.g. a group commit of 256 heartbeats under etcd's
 * default of 128 operations) is written as one `catalog/pending` value in one
 * transaction: that write is the commit point, `load` applies a pending batch
 * on top of the region keys, and the store then spreads it over the region
 * keys in transactions of at most `maxTxnOps` and removes it, before any
 * later region write. Atomicity thus holds for every append, whatever its
 * size; only a batch above `maxTxnBytes` as a whole is refused (`STORAGE`).
 * Splitting a batch over several transactions would not do: a split result
 * written without the delete of its parent would leave overlapping regions,
 * which the next leader would refuse to load.
 *
 * Every region write also compares and replaces `catalog/commit` (a unique
 * token), so the catalog's writes form a compare-and-swap chain: a write
 * applies only on top of the state this store loaded or last wrote. A write
 * whose answer is lost (a timeout, an etcd member dying) is settled by
 * reading the chain back (our token: committed) or by moving the chain past
 * it (then it can never apply); a retried or delayed duplicate can never
 * apply twice. A write found committed after it was reported failed, or a
 * catalog changed by another writer, turns the store's region writes off
 * (`STORAGE`) until `load` is called again.
 *
 * Allocator ceilings: `alloc`, `{"id_current":N,"ts_current":M}` with exact
 * digits. `saveAllocatorState` writes the field-wise maximum of the stored and
 * the given state in a compare-and-swap on the key's revision, so a stored
 * ceiling never goes down.
 *
 * With a {@link LeaderGuard}, every write also compares the leader key's
 * create revision with this member's term: once the term is over (resigned,
 * lease expired, key deleted, another member elected) no write of this store
 * can apply, however late the member learns it (`NOT_LEADER`, nothing
 * written). A term must start with `load` (it is refused with `UNAVAILABLE`
 * otherwise): that read happens after winning, at a revision where the
 * leader key is ours, so it sees every ceiling and region any earlier leader
 * ever wrote. Why allocators stay unique across leader changes: pd-core's
 * allocators hand out only values at or below a ceiling that
 * `saveAllocatorState` made durable first. The old leader's last durable
 * ceiling C was written while its key existed; the new leader's key was
 * created after the old one was gone, so C is visible to the new leader's
 * `load`, and every later write of the old leader fails its fence. The new
 * leader starts at C + 1 or above, the old one never hands out above C.
 *
 * Errors: `STORAGE` for every etcd failure or damaged value (naming the key),
 * `NOT_LEADER` (with `leaderAddr` when known) when the fence fails,
 * `UNAVAILABLE` after `close` or before a term's `load`,
 * `INVALID_ARGUMENT` for bad options or values. Never a raw etcd error.
 */
export class EtcdStore implements Store {
  readonly description: string;
  readonly keys: ClusterKeys;
  readonly #client: Etcd3;
  readonly #ownsClient: boolean;
  readonly #guard: LeaderGuard | undefined;
  readonly #timeoutMs: number;
  readonly #maxTxnOps: number;
  readonly #maxTxnBytes: number;
  readonly #pageSize: number;
  readonly #instance = randomUUID();
  #seq = 0;
  #closed = false;
  #catalogTail: Promise<void> = Promise.resolve();
  #allocTail: Promise<void> = Promise.resolve();
  /** Mod revision of `catalog/commit` after our last load or write; undefined: not known yet. */
  #catalogRev: string | undefined;
  #inDoubt: InDoubt | undefined;
  /** Set when our view of the catalog can no longer be trusted; cleared by `load`. */
  #catalogBroken: PdError | undefined;
  /** True once we know `catalog/pending` is absent. */
  #pendingSettled = false;
  /** The content of `catalog/pending` when we wrote it ourselves. */
  #pendingEdits: RegionEdit[] | undefined;
  #alloc: { state: AllocatorState; rev: string } | undefined;
  /** The leader term (create revision) whose `load` this store has done. */
  #loadedTerm: string | undefined;
  #stats = { directAppends: 0, pendingAppends: 0, settledBatches: 0, allocatorWrites: 0 };

  /** @internal use {@link openEtcdStore}. */
  constructor(init: {
    client: Etcd3;
    ownsClient: boolean;
    keys: ClusterKeys;
    guard: LeaderGuard | undefined;
    description: string;
    timeoutMs: number;
    maxTxnOps: number;
    maxTxnBytes: number;
    pageSize: number;
  }) {
    this.#client = init.client;
    this.#ownsClient = init.ownsClient;
    this.keys = init.keys;
    this.#guard = init.guard;
    this.description = init.description;
    this.#timeoutMs = init.timeoutMs;
    this.#maxTxnOps = init.maxTxnOps;
    this.#maxTxnBytes = init.maxTxnBytes;
    this.#pageSize = init.pageSize;
  }

  /** Counters for metrics and tests. */
  stats(): EtcdStoreStats {
    return { ...this.#stats };
  }

  /**
   * Reads every region, a pending batch on top, and the ceilings, all at one
   * etcd revision (region keys paged). Works on followers too; on the leader
   * it also opens the current term for writes.
   *
   * @throws PdError `STORAGE` naming the key of a malformed value, or when etcd fails.
   */
  load(): Promise<ClusterSnapshot> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#exclusive(() => this.#load());
  }

  /**
   * Makes `edits` durable as one atomic unit (see the class comment).
   *
   * @throws PdError `NOT_LEADER` when the guard's term is over (nothing
   *   written), `STORAGE` when etcd failed (nothing written) or the batch is
   *   larger than `maxTxnBytes`, `UNAVAILABLE` when closed or the term has
   *   not loaded, `INVALID_ARGUMENT` for a region id that is not a uint64.
   */
  appendRegionEdits(edits: readonly RegionEdit[]): Promise<void> {
    let collapsed: RegionEdit[];
    try {
      this.#checkOpen();
      collapsed = collapseEdits(edits);
    } catch (err) {
      return Promise.reject(err);
    }
    if (collapsed.length === 0) return Promise.resolve();
    return this.#onCatalog(() => this.#append(collapsed));
  }

  /**
   * Makes the ceilings durable: stores the field-wise maximum of the stored
   * and the given state, so a stored ceiling never goes down.
   *
   * @throws PdError `NOT_LEADER` when the guard's term is over (nothing
   *   written), `STORAGE` when etcd failed (the stored ceilings are then at
   *   least the previously acknowledged ones), `UNAVAILABLE` when closed or
   *   the term has not loaded, `INVALID_ARGUMENT` for a value that is not a uint64.
   */
  saveAllocatorState(state: AllocatorState): Promise<void> {
    try {
      this.#checkOpen();
      checkAllocatorState(state);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#onAlloc(() => this.#saveAllocator(state));
  }

  /**
   * Replaces the `scheduling` key, fenced on the leader term like every write.
   *
   * @throws PdError `NOT_LEADER` when the term is over (nothing written),
   *   `STORAGE` when etcd failed, `UNAVAILABLE` when closed or the term has not loaded.
   */
  saveSchedulingConfig(config: SchedulingConfig): Promise<void> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#onAlloc(async () => {
      const fence = this.#fenceForWrite();
      const key = this.keys.scheduling;
      let res: ITxnResponse;
      try {
        res = await txn(
          this.#client,
          { compare: this.#fenceCompare(fence), success: [putOp(key, encodeSchedulingConfig(config))], failure: [getOp(this.keys.leader)] },
          this.#timeoutMs,
        );
      } catch (err) {
        throw storageError(`${this.description}: writing ${key} failed`, err);
      }
      if (!res.succeeded && fence !== undefined) throw this.#fenceFailed(fence, rangeResult(res, 0));
    });
  }

  /** Waits for queued writes, then closes the etcd client if the store created it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#catalogTail, this.#allocTail]);
    if (this.#ownsClient) this.#client.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new PdError("UNAVAILABLE", `${this.description}: closed`);
  }

  #onCatalog<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#catalogTail.then(task);
    this.#catalogTail = run.then(noop, noop);
    return run;
  }

  #onAlloc<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#allocTail.then(task);
    this.#allocTail = run.then(noop, noop);
    return run;
  }

  /** Runs `task` with no catalog or allocator write in flight. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = Promise.all([this.#catalogTail, this.#allocTail]).then(task);
    const settled = run.then(noop, noop);
    this.#catalogTail = settled;
    this.#allocTail = settled;
    return run;
  }

  #token(): string {
    this.#seq++;
    return `${this.#instance}.${this.#seq}`;
  }

  /** The fence of the current term, after checking the term may write. */
  #fenceForWrite(): LeaderFence | undefined {
    const guard = this.#guard;
    if (guard === undefined) return undefined;
    const fence = guard.fence();
    if (fence === undefined) {
      const leaderAddr = guard.leaderAddr();
      throw new PdError(
        "NOT_LEADER",
        `${this.description}: this member is not the leader${leaderAddr ? `; leader is at ${leaderAddr}` : ""}`,
        leaderAddr === undefined ? undefined : { leaderAddr },
      );
    }
    if (this.#loadedTerm !== fence.createRevision) {
      throw new PdError(
        "UNAVAILABLE",
        `${this.description}: leader term ${fence.createRevision} has not loaded its state yet; call load() after winning the election`,
      );
    }
    return fence;
  }

  /** Builds the NOT_LEADER error of a failed fence and tells the guard. */
  #fenceFailed(fence: LeaderFence, leaderKv: IKeyValue | undefined): PdError {
    const current = leaderKv === undefined ? undefined : parseLeaderValue(leaderKv.value);
    this.#guard?.fenceLost(fence, current);
    return new PdError(
      "NOT_LEADER",
      `${this.description}: leader term ${fence.createRevision} is over${
        current ? `; leader is ${current.name} at ${current.advertiseAddr}` : ""
      }; nothing was written`,
      current === undefined ? undefined : { leaderAddr: current.advertiseAddr },
    );
  }

  #fenceCompare(fence: LeaderFence | undefined) {
    return fence === undefined ? [] : [createRevisionIs(fence.key, fence.createRevision)];
  }

  // ---- load ----

  async #load(): Promise<ClusterSnapshot> {
    const k = this.keys;
    const prefix = Buffer.from(k.regionPrefix);
    const rangeEnd = prefixRangeEnd(prefix);
    let first: ITxnResponse;
    try {
      // One read-only transaction: the leader key, the ceilings, the catalog
      // chain, a pending batch and the first page of regions at one revision.
      first = await txn(
        this.#client,
        {
          compare: [],
          success: [
            getOp(k.leader),
            getOp(k.alloc),
            getOp(k.catalogCommit),
            getOp(k.catalogPending),
            { request_range: { key: prefix, range_end: rangeEnd, limit: this.#pageSize } },
            getOp(k.scheduling),
          ],
        },
        this.#timeoutMs,
      );
    } catch (err) {
      throw storageError(`${this.description}: load failed`, err);
    }
    const revision = first.header.revision;
    const regions = new Map<bigint, Region>();
    let page = first.responses[4]?.response_range;
    while (page !== undefined) {
      for (const kv of page.kvs) {
        const region = decodeRegionValue(k, kv);
        regions.set(region.id, region);
      }
      const last = page.kvs.at(-1);
      if (!page.more || last === undefined) break;
      try {
        page = await this.#client.kv.range(
          { key: Buffer.concat([last.key, Buffer.of(0)]), range_end: rangeEnd, limit: this.#pageSize, revision },
          callOptions(this.#timeoutMs),
        );
      } catch (err) {
        throw storageError(`${this.description}: load failed reading ${k.regionPrefix} at revision ${revision}`, err);
      }
    }

    const pendingKv = rangeResult(first, 3);
    const pending = pendingKv === undefined ? undefined : decodeEdits(pendingKv.value, `etcd key ${k.catalogPending}`);
    for (const e of pending ?? []) {
      if (e.kind === "put") regions.set(e.region.id, e.region);
      else regions.delete(e.regionId);
    }

    const allocKv = rangeResult(first, 1);
    const allocator =
      allocKv === undefined
        ? { idCurrent: 0n, tsCurrent: 0n }
        : parseAllocatorState(allocKv.value.toString("utf8"), `etcd key ${k.alloc}`);

    // The snapshot is now the truth this store's writes build on.
    this.#catalogRev = rangeResult(first, 2)?.mod_revision ?? "0";
    this.#inDoubt = undefined;
    this.#catalogBroken = undefined;
    this.#pendingSettled = pending === undefined;
    this.#pendingEdits = pending;
    this.#alloc = { state: allocator, rev: allocKv?.mod_revision ?? "0" };
    const fence = this.#guard?.fence();
    const leaderKv = rangeResult(first, 0);
    this.#loadedTerm =
      fence !== undefined && leaderKv?.create_revision === fence.createRevision ? fence.createRevision : undefined;
    const schedulingKv = rangeResult(first, 5);
    const schedulingConfig =
      schedulingKv === undefined ? undefined : decodeSchedulingConfig(schedulingKv.value.toString("utf8"), `etcd key ${k.scheduling}`);
    return { regions: [...regions.values()], allocator, ...(schedulingConfig !== undefined && { schedulingConfig }) };
  }

  // ---- region catalog ----

  async #append(edits: RegionEdit[]): Promise<void> {
    const fence = this.#fenceForWrite();
    await this.#prepareCatalog(fence);
    const ops = editOps(this.keys, edits);
    if (this.#fits(ops, 1)) {
      await this.#commitCatalog(fence, ops);
      this.#stats.directAppends++;
      return;
    }
    const record = encodeEdits(edits);
    const size = this.keys.catalogPending.length + record.length + TXN_OP_OVERHEAD_BYTES;
    if (size > this.#maxTxnBytes) {
      throw new PdError(
        "STORAGE",
        `${this.description}: an append of ${edits.length} region edit(s) takes ${size} bytes, above the ${this.#maxTxnBytes}-byte transaction budget; nothing was written`,
      );
    }
    this.#pendingSettled = false;
    this.#pendingEdits = undefined;
    await this.#commitCatalog(fence, [putOp(this.keys.catalogPending, record)]);
    // Committed. Spreading it over the region keys is queued right away; any
    // region write queued before that settles it first (see #prepareCatalog).
    this.#pendingEdits = edits;
    this.#stats.pendingAppends++;
    this.#onCatalog(async () => {
      const f = this.#fenceForWrite();
      await this.#prepareCatalog(f);
    }).catch(noop);
  }

  /** True when `ops` plus `extra` more operations fit one transaction. */
  #fits(ops: readonly IRequestOp[], extra: number): boolean {
    if (ops.length + extra > this.#maxTxnOps) return false;
    return opsBytes(ops) + extra * (TXN_OP_OVERHEAD_BYTES + 64) <= this.#maxTxnBytes;
  }

  /**
   * Before a region write: establishes the chain's revision, settles an
   * unanswered earlier write, and spreads a pending batch over the region keys.
   */
  async #prepareCatalog(fence: LeaderFence | undefined): Promise<void> {
    if (this.#catalogBroken !== undefined) throw this.#catalogBroken;
    if (this.#inDoubt !== undefined) {
      const outcome = await this.#settleInDoubt(fence);
      if (outcome === "committed") {
        this.#catalogBroken = new PdError(
          "STORAGE",
          `${this.description}: an earlier region write reported as failed did commit; load() again before writing`,
        );
        throw this.#catalogBroken;
      }
    }
    if (this.#catalogRev === undefined || (!this.#pendingSettled && this.#pendingEdits === undefined)) {
      await this.#readCatalogHead();
    }
    if (this.#pendingSettled) return;
    // Each chunk leaves room for the chain's token; the last also deletes the batch.
    const chunks = chunkOps(editOps(this.keys, this.#pendingEdits!), this.#maxTxnOps - 1, this.#maxTxnBytes - 256);
    const last = chunks.at(-1);
    if (last !== undefined && this.#fits(last, 2)) last.push(deleteOp(this.keys.catalogPending));
    else chunks.push([deleteOp(this.keys.catalogPending)]);
    for (const chunk of chunks) await this.#commitCatalog(fence, chunk);
    this.#pendingSettled = true;
    this.#pendingEdits = undefined;
    this.#stats.settledBatches++;
  }

  /** Reads `catalog/commit` (when its revision is unknown) and `catalog/pending`. */
  async #readCatalogHead(): Promise<void> {
    let res: ITxnResponse;
    try {
      res = await txn(
        this.#client,
        { compare: [], success: [getOp(this.keys.catalogCommit), getOp(this.keys.catalogPending)] },
        this.#timeoutMs,
      );
    } catch (err) {
      throw storageError(`${this.description}: cannot read ${this.keys.catalogCommit}`, err);
    }
    const commitKv = rangeResult(res, 0);
    if (this.#catalogRev === undefined) {
      // No load yet (a store without a guard): adopt the catalog as it is now.
      this.#catalogRev = commitKv?.mod_revision ?? "0";
    } else if ((commitKv?.mod_revision ?? "0") !== this.#catalogRev) {
      this.#catalogBroken = new PdError(
        "STORAGE",
        `${this.description}: the region catalog was changed by another writer; load() again before writing`,
      );
      throw this.#catalogBroken;
    }
    const pendingKv = rangeResult(res, 1);
    if (pendingKv === undefined) {
      this.#pendingSettled = true;
      this.#pendingEdits = undefined;
    } else if (this.#pendingEdits === undefined) {
      this.#pendingEdits = decodeEdits(pendingKv.value, `etcd key ${this.keys.catalogPending}`);
    }
  }

  /**
   * One link of the catalog chain: `ops` plus a new `catalog/commit` token,
   * applied only if the chain is where we left it (and the fence holds).
   */
  async #commitCatalog(fence: LeaderFence | undefined, ops: readonly IRequestOp[]): Promise<void> {
    const base = this.#catalogRev!;
    const token = this.#token();
    let res: ITxnResponse;
    try {
      res = await txn(
        this.#client,
        {
          compare: [...this.#fenceCompare(fence), modRevisionIs(this.keys.catalogCommit, base)],
          success: [...ops, putOp(this.keys.catalogCommit, token)],
          failure: [getOp(this.keys.leader), getOp(this.keys.catalogCommit)],
        },
        this.#timeoutMs,
      );
    } catch (cause) {
      // The answer is lost: the write may or may not have applied.
      this.#inDoubt = { base, token, fenceToken: this.#token(), cause };
      let outcome: Outcome;
      try {
        outcome = await this.#settleInDoubt(fence);
      } catch (err) {
        throw storageError(
          `${this.description}: region write failed (${(cause as Error)?.message ?? cause}); its outcome is not known yet`,
          err,
        );
      }
      if (outcome === "committed") return;
      throw storageError(`${this.description}: region write failed; nothing was written`, cause);
    }
    if (res.succeeded) {
      this.#catalogRev = res.header.revision;
      return;
    }
    const commitKv = rangeResult(res, 1);
    if (commitKv !== undefined && commitKv.value.toString() === token) {
      // An earlier attempt of this very request (retried inside the client) applied.
      this.#catalogRev = commitKv.mod_revision;
      return;
    }
    const leaderKv = rangeResult(res, 0);
    if (fence !== undefined && leaderKv?.create_revision !== fence.createRevision) {
      throw this.#fenceFailed(fence, leaderKv);
    }
    this.#catalogBroken = new PdError(
      "STORAGE",
      `${this.description}: the region catalog was changed by another writer; nothing was written; load() again before writing`,
    );
    throw this.#catalogBroken;
  }

  /**
   * Decides an unanswered write: a guarded write that moves the chain past
   * its base either succeeds (the write did not apply and now never can) or
   * finds the chain moved (our token: it applied). Retries until the request
   * deadline; throws `STORAGE` (and keeps the doubt for the next write) when
   * etcd stays unreachable, `NOT_LEADER` when the term ended meanwhile.
   */
  async #settleInDoubt(fence: LeaderFence | undefined): Promise<Outcome> {
    const doubt = this.#inDoubt!;
    const deadline = Date.now() + this.#timeoutMs;
    let lastError: unknown = doubt.cause;
    while (Date.now() < deadline) {
      let res: ITxnResponse;
      try {
        res = await txn(
          this.#client,
          {
            compare: [...this.#fenceCompare(fence), modRevisionIs(this.keys.catalogCommit, doubt.base)],
            success: [putOp(this.keys.catalogCommit, doubt.fenceToken)],
            failure: [getOp(this.keys.leader), getOp(this.keys.catalogCommit)],
          },
          Math.max(1, deadline - Date.now()),
        );
      } catch (err) {
        lastError = err;
        await delay(IN_DOUBT_RETRY_MS);
        continue;
      }
      const commitKv = rangeResult(res, 1);
      const value = commitKv?.value.toString();
      if (res.succeeded || value === doubt.fenceToken) {
        this.#catalogRev = res.succeeded ? res.header.revision : commitKv!.mod_revision;
        this.#inDoubt = undefined;
        return "not-committed";
      }
      if (value === doubt.token) {
        this.#catalogRev = commitKv!.mod_revision;
        this.#inDoubt = undefined;
        return "committed";
      }
      const leaderKv = rangeResult(res, 0);
      this.#inDoubt = undefined;
      if (fence !== undefined && leaderKv?.create_revision !== fence.createRevision) {
        // Whatever happened belongs to a term that is over; the next leader loads the truth.
        this.#catalogBroken = this.#fenceFailed(fence, leaderKv);
        throw this.#catalogBroken;
      }
      this.#catalogBroken = new PdError(
        "STORAGE",
        `${this.description}: the region catalog was changed by another writer; load() again before writing`,
      );
      throw this.#catalogBroken;
    }
    throw storageError(`${this.description}: etcd did not answer while settling an unanswered region write`, lastError);
  }

  // ---- allocator ceilings ----

  async #saveAllocator(state: AllocatorState): Promise<void> {
    const fence = this.#fenceForWrite();
    const k = this.keys;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        this.#alloc ??= await this.#readAlloc();
      } catch (err) {
        throw storageError(`${this.description}: cannot read ${k.alloc}`, err);
      }
      const stored = this.#alloc;
      const merged: AllocatorState = {
        idCurrent: maxBig(stored.state.idCurrent, state.idCurrent),
        tsCurrent: maxBig(stored.state.tsCurrent, state.tsCurrent),
      };
      let res: ITxnResponse;
      try {
        res = await txn(
          this.#client,
          {
            compare: [...this.#fenceCompare(fence), modRevisionIs(k.alloc, stored.rev)],
            success: [putOp(k.alloc, formatFlatCheckpoints(merged))],
            failure: [getOp(k.leader), getOp(k.alloc)],
          },
          this.#timeoutMs,
        );
      } catch (err) {
        // Unknown outcome; either way the stored ceilings are at least the
        // acknowledged ones, which is all the allocators rely on.
        this.#alloc = undefined;
        throw storageError(`${this.description}: writing ${k.alloc} failed`, err);
      }
      if (res.succeeded) {
        this.#alloc = { state: merged, rev: res.header.revision };
        this.#stats.allocatorWrites++;
        return;
      }
      const leaderKv = rangeResult(res, 0);
      if (fence !== undefined && leaderKv?.create_revision !== fence.createRevision) {
        throw this.#fenceFailed(fence, leaderKv);
      }
      // Changed since we read it (our own retried request, or a writer without a guard): merge again.
      const allocKv = rangeResult(res, 1);
      this.#alloc = allocKv === undefined
        ? { state: { idCurrent: 0n, tsCurrent: 0n }, rev: "0" }
        : { state: parseAllocatorState(allocKv.value.toString("utf8"), `etcd key ${k.alloc}`), rev: allocKv.mod_revision };
    }
    throw new PdError("STORAGE", `${this.description}: ${k.alloc} kept changing under 5 attempts to raise it`);
  }

  async #readAlloc(): Promise<{ state: AllocatorState; rev: string }> {
    const res = await this.#client.kv.range({ key: Buffer.from(this.keys.alloc) }, callOptions(this.#timeoutMs));
    const kv = res.kvs[0];
    if (kv === undefined) return { state: { idCurrent: 0n, tsCurrent: 0n }, rev: "0" };
    return { state: parseAllocatorState(kv.value.toString("utf8"), `etcd key ${this.keys.alloc}`), rev: kv.mod_revision };
  }
}

function noop(): void {}


/** The last edit of each region, in the order of those last edits. */
function collapseEdits(edits: readonly RegionEdit[]): RegionEdit[] {
  const last = new Map<bigint, RegionEdit>();
  for (const e of edits) {
    const id = e.kind === "put" ? e.region.id : e.regionId;
    if (typeof id !== "bigint" || id < 0n || id > MAX_UINT64) {
      throw new PdError("INVALID_ARGUMENT", `region id ${String(id)} is not a uint64`);
    }
    last.delete(id);
    last.set(id, e);
  }
  return [...last.values()];
}

function editOps(keys: ClusterKeys, edits: readonly RegionEdit[]): IRequestOp[] {
  return edits.map((e) =>
    e.kind === "put" ? putOp(keys.region(e.region.id), encodeEdits([e])) : deleteOp(keys.region(e.regionId)),
  );
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

/** A region key's value: the binary payload of a one-put batch whose id matches the key. */
function decodeRegionValue(keys: ClusterKeys, kv: IKeyValue): Region {
  const key = kv.key.toString("utf8");
  const id = parseRegionKey(keys, key);
  const edits = decodeEdits(kv.value, `etcd key ${key}`);
  const only = edits[0];
  if (edits.length !== 1 || only === undefined || only.kind !== "put") {
    throw new PdError("STORAGE", `etcd key ${key}: malformed value: expected one region, got ${edits.length} edit(s)`);
  }
  if (only.region.id !== id) {
    throw new PdError("STORAGE", `etcd key ${key}: malformed value: holds region ${only.region.id}`);
  }
  return only.region;
}

/**
 * Opens the etcd store of `clusterId` and checks that etcd answers.
 *
 * @throws PdError `INVALID_ARGUMENT` for bad options (cluster id, limits, a
 *   guard of another cluster), `STORAGE` when etcd does not answer.
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  const keys = clusterKeys(options.clusterId);
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const maxTxnOps = options.maxTxnOps ?? 128;
  const maxTxnBytes = options.maxTxnBytes ?? 1024 * 1024;
  const pageSize = options.loadPageSize ?? 512;
  const positive = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new PdError("INVALID_ARGUMENT", `etcd store: ${name} must be an integer >= ${min}, got ${v}`);
  };
  positive("requestTimeoutMs", timeoutMs, 1);
  positive("maxTxnOps", maxTxnOps, 3);
  positive("maxTxnBytes", maxTxnBytes, 4096);
  positive("loadPageSize", pageSize, 1);
  if (options.leaderGuard !== undefined && options.leaderGuard.leaderKey !== keys.leader) {
    throw new PdError(
      "INVALID_ARGUMENT",
      `etcd store: the leader guard fences on ${options.leaderGuard.leaderKey}, not on this cluster's ${keys.leader}`,
    );
  }
  const { client, owned } = connectEtcd(options, "etcd store");
  const where = options.endpoints === undefined ? "" : ` ${options.endpoints.join(",")}`;
  const description = `etcd${where} ${keys.prefix}`;
  try {
    await client.kv.range({ key: Buffer.from(keys.catalogCommit), count_only: true }, callOptions(timeoutMs));
  } catch (err) {
    if (owned) client.close();
    throw storageError(`${description}: etcd does not answer`, err);
  }
  return new EtcdStore({
    client,
    ownsClient: owned,
    keys,
    guard: options.leaderGuard,
    description,
    timeoutMs,
    maxTxnOps,
    maxTxnBytes,
    pageSize,
  });
}
