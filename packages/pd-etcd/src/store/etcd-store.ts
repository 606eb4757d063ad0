import { type AllocatorState, type ClusterSnapshot, PdError, type RegionEdit } from "@nokv/pd-core";
import type { SchedulingConfig } from "@nokv/pd-model";
import { type Store, storageError } from "@nokv/pd-storage";
import { connectEtcd, etcdRequest, type EtcdConnectionOptions } from "../connection/etcd-connection.js";
import type { LeaderFence, LeaderGuard } from "../election/leader-guard.js";
import { type ClusterKeys, clusterKeys } from "../keys/key-layout.js";
import { AllocatorCeilings, checkAllocatorState } from "./allocator-ceilings.js";
import { CatalogChain } from "./catalog-chain.js";
import { type CatalogHead, readCatalog, readHead } from "./catalog-read.js";
import { fitsOneTxn, PendingBatch } from "./pending-batch.js";
import { collapseEdits, decodeRegionValue, editOps } from "./region-values.js";
import { SchedulingRecord } from "./scheduling-record.js";
import type { EtcdStoreStats, StoreContext } from "./store-context.js";
import { TermFence } from "./term-fence.js";

export type { EtcdStoreStats } from "./store-context.js";

/**
 * Where a store's view of the catalog stands: every catalog change etcd
 * holds up to `revision` is in it (the load, then each acknowledged append),
 * and `catalog/commit` had mod revision `commitRevision` there. A warm
 * follower resumes replaying from `revision + 1`.
 */
export interface CatalogPosition {
  readonly revision: bigint;
  readonly commitRevision: bigint;
}

/** What {@link EtcdStore.loadHead} read at the start of a term. */
export interface TermHead extends CatalogPosition {
  /** The allocator ceilings at {@link CatalogPosition.revision}: allocators start strictly above them. */
  readonly allocator: AllocatorState;
  /** The scheduling configuration at {@link CatalogPosition.revision}; undefined when none was ever saved (the defaults apply). */
  readonly schedulingConfig: SchedulingConfig | undefined;
}

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
  /** About how many region keys `load` reads per request. Default 2048. */
  readonly loadPageSize?: number;
};

/**
 * The etcd {@link Store}: several PD members share one etcd cluster, and the
 * elected leader reads and writes PD's state under `/nokv/pd/<cluster-id>/`
 * (layout in {@link ClusterKeys}). This class keeps the `Store` surface — the
 * write queues and the one-revision `load` — and leaves each protocol to its
 * own module:
 *
 * - Regions: one key per region, the value being pd-storage's binary region
 *   payload. An append is ONE etcd transaction (atomic all-or-nothing) of puts
 *   and deletes, the same region's edits collapsed to the last one. An append
 *   that does not fit one transaction goes through the pending-batch protocol
 *   ({@link PendingBatch}), so atomicity holds for every append, whatever its
 *   size; only a batch above `maxTxnBytes` as a whole is refused (`STORAGE`).
 * - Every region write is a link of the catalog's compare-and-swap chain
 *   ({@link CatalogChain}): it applies only on top of the state this store
 *   loaded or last wrote; a write whose answer was lost is settled, never
 *   applied twice; a catalog changed by another writer turns region writes
 *   off (`STORAGE`) until `load` is called again.
 * - Allocator ceilings: a compare-and-swap of the field-wise maximum
 *   ({@link AllocatorCeilings}), so a stored ceiling never goes down.
 * - The scheduling configuration: one `scheduling` key replaced whole,
 *   compared on its revision ({@link SchedulingRecord}), read with the head
 *   at the start of every term.
 *
 * With a {@link LeaderGuard}, every write also compares the leader key's
 * create revision with this member's term ({@link TermFence}): once the term
 * is over (resigned, lease expired, key deleted, another member elected) no
 * write of this store can apply, however late the member learns it
 * (`NOT_LEADER`, nothing written). A term must start with `load` (it is
 * refused with `UNAVAILABLE` otherwise): that read happens after winning, at a
 * revision where the leader key is ours, so it sees every ceiling and region
 * any earlier leader ever wrote. Why allocators stay unique across leader
 * changes: pd-core's allocators hand out only values at or below a ceiling
 * that `saveAllocatorState` made durable first. The old leader's last durable
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
  readonly #ctx: StoreContext;
  readonly #ownsClient: boolean;
  readonly #pageSize: number;
  readonly #chain: CatalogChain;
  readonly #pending: PendingBatch;
  readonly #ceilings: AllocatorCeilings;
  readonly #scheduling: SchedulingRecord;
  #closed = false;
  #position: CatalogPosition | undefined;
  #catalogTail: Promise<void> = Promise.resolve();
  #allocTail: Promise<void> = Promise.resolve();
  #configTail: Promise<void> = Promise.resolve();

  /** @internal use {@link openEtcdStore}. */
  constructor(init: { ctx: StoreContext; ownsClient: boolean; pageSize: number }) {
    this.#ctx = init.ctx;
    this.description = init.ctx.description;
    this.keys = init.ctx.keys;
    this.#ownsClient = init.ownsClient;
    this.#pageSize = init.pageSize;
    this.#chain = new CatalogChain(init.ctx);
    this.#pending = new PendingBatch(init.ctx, this.#chain);
    this.#ceilings = new AllocatorCeilings(init.ctx);
    this.#scheduling = new SchedulingRecord(init.ctx);
  }

  /** Counters for metrics and tests. */
  stats(): EtcdStoreStats {
    return { ...this.#ctx.stats };
  }

  /**
   * Reads every region, a pending batch on top, the ceilings and the
   * scheduling configuration, all at one
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
    return this.#onAlloc(() => this.#ceilings.save(this.#ctx.fence.forWrite(), state));
  }

  /**
   * Replaces the scheduling configuration (the `scheduling` key), fenced on
   * the term like every write. Saves run one at a time, in call order.
   *
   * @throws PdError `NOT_LEADER` when the guard's term is over (nothing
   *   written), `STORAGE` when etcd failed (the key then holds the old or the
   *   new configuration), `UNAVAILABLE` when closed or the term has not loaded.
   */
  saveSchedulingConfig(config: SchedulingConfig): Promise<void> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#onConfig(() => this.#scheduling.save(this.#ctx.fence.forWrite(), config));
  }

  /**
   * Opens the guard's current term for writes like {@link load}, but reads
   * only the keys beside the regions (one small transaction; the scheduling
   * configuration among them): for a member
   * that already holds the catalog (a warm follower), which catches up to
   * the returned {@link CatalogPosition} instead of reading every region.
   * The ceilings are those at the read's revision — after winning, so they
   * include every ceiling an earlier leader made durable.
   *
   * @throws PdError `STORAGE` when etcd fails or a value is malformed.
   */
  loadHead(): Promise<TermHead> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#exclusive(async () => {
      const head = await readHead(this.#ctx);
      const { allocator, schedulingConfig } = this.#openTerm(head);
      return { revision: head.revision, commitRevision: head.commitRevision, allocator, schedulingConfig };
    });
  }

  /** Where this store's view of the catalog stands (undefined before a load). */
  get position(): CatalogPosition | undefined {
    return this.#position;
  }

  /** Waits for queued writes, then closes the etcd client if the store created it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#catalogTail, this.#allocTail, this.#configTail]);
    if (this.#ownsClient) this.#ctx.client.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new PdError("UNAVAILABLE", `${this.description}: closed`);
  }

  // Region writes run one at a time (each is a link of the chain), ceiling
  // writes one at a time (each compares the last revision), configuration
  // writes likewise; the three queues are independent, and a load waits for all.

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

  #onConfig<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#configTail.then(task);
    this.#configTail = run.then(noop, noop);
    return run;
  }

  /** Runs `task` with no catalog, allocator or configuration write in flight. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = Promise.all([this.#catalogTail, this.#allocTail, this.#configTail]).then(task);
    const settled = run.then(noop, noop);
    this.#catalogTail = settled;
    this.#allocTail = settled;
    this.#configTail = settled;
    return run;
  }

  async #load(): Promise<ClusterSnapshot> {
    const { head, regions } = await readCatalog(this.#ctx, this.#pageSize);
    const { allocator, schedulingConfig } = this.#openTerm(head);
    return { regions: [...regions.values()], allocator, ...(schedulingConfig !== undefined && { schedulingConfig }) };
  }

  /**
   * Makes what `head` shows the base of this store's writes (and opens the
   * guard's term when it is the one shown). A malformed value fails it
   * before anything changes.
   */
  #openTerm(head: CatalogHead): { allocator: AllocatorState; schedulingConfig: SchedulingConfig | undefined } {
    const schedulingConfig = this.#scheduling.loaded(head.schedulingKv);
    const allocator = this.#ceilings.loaded(head.allocKv);
    this.#chain.reset(head.commitKv?.mod_revision ?? "0");
    this.#pending.reset(head.pending);
    this.#ctx.fence.loaded(head.leaderKv);
    this.#position = { revision: head.revision, commitRevision: head.commitRevision };
    return { allocator, schedulingConfig };
  }

  async #append(edits: RegionEdit[]): Promise<void> {
    const fence = this.#ctx.fence.forWrite();
    await this.#prepareCatalog(fence);
    const ops = editOps(this.keys, edits);
    if (fitsOneTxn(this.#ctx, ops, 1)) {
      const revision = await this.#chain.commit(fence, ops);
      this.#position = { revision, commitRevision: revision };
      this.#ctx.stats.directAppends++;
      return;
    }
    const revision = await this.#pending.commit(fence, edits);
    this.#position = { revision, commitRevision: revision };
    // Committed. Spreading it over the region keys is queued right away; any
    // region write queued before that settles it first (see #prepareCatalog).
    this.#onCatalog(() => this.#prepareCatalog(this.#ctx.fence.forWrite())).catch(noop);
  }

  /**
   * Before a region write: settles an unanswered earlier write, establishes
   * the chain's head, and spreads a pending batch over the region keys.
   */
  async #prepareCatalog(fence: LeaderFence | undefined): Promise<void> {
    await this.#chain.ensureUsable(fence);
    if (this.#chain.unknown || this.#pending.unknown) this.#pending.adoptHead(await this.#chain.readHead());
    if (!this.#pending.settled) await this.#pending.spread(fence);
  }
}

function noop(): void {}

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
  const pageSize = options.loadPageSize ?? 2048;
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
    await etcdRequest(client, timeoutMs, (o) => client.kv.range({ key: Buffer.from(keys.catalogCommit), count_only: true }, o));
  } catch (err) {
    if (owned) client.close();
    throw storageError(`${description}: etcd does not answer`, err);
  }
  const ctx: StoreContext = {
    client,
    keys,
    description,
    timeoutMs,
    maxTxnOps,
    maxTxnBytes,
    fence: new TermFence(options.leaderGuard, description),
    stats: { directAppends: 0, pendingAppends: 0, settledBatches: 0, allocatorWrites: 0 },
  };
  return new EtcdStore({ ctx, ownsClient: owned, pageSize });
}
