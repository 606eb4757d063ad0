import {
  cloneRegion,
  compareKeys,
  formatEpoch,
  formatRange,
  keysEqual,
  type Region,
  rangesOverlap,
  regionsEqual,
} from "@nokv/pd-model";
import { PdError } from "../errors.js";
import { hasDuplicatePeers, validateRegion } from "./region.js";
import { RouteIndex } from "./route-index.js";

/** One durable change to the region catalog. */
export type RegionEdit =
  | { readonly kind: "put"; readonly region: Region }
  | { readonly kind: "delete"; readonly regionId: bigint };

/**
 * Where the catalog makes its changes durable; pd-storage implements it.
 * `appendRegionEdits` must resolve only once every edit is durable, and on
 * rejection none of them may be visible after a restart (all-or-nothing).
 */
export interface RegionLog {
  appendRegionEdits(edits: readonly RegionEdit[]): Promise<void>;
  /**
   * Where the log bounds the size of one append (a record it could not read
   * back must never be written): the most bytes one append may take, and
   * the bytes of one edit in the log's encoding. The catalog refuses a
   * region too large to store and cuts group-commit batches to fit.
   */
  readonly appendLimit?: AppendLimit;
}

/** See {@link RegionLog.appendLimit}. */
export interface AppendLimit {
  readonly maxBytes: number;
  editBytes(edit: RegionEdit): number;
}

/** What an accepted region heartbeat did. */
export interface HeartbeatOutcome {
  /** False when the catalog already held exactly this region (nothing written). */
  readonly changed: boolean;
  /** Ids of regions removed because the heartbeat was a newer split/merge result covering them. */
  readonly removedRegionIds: readonly bigint[];
  /**
   * Set when this heartbeat changed whether the region has duplicate peers
   * (see {@link hasDuplicatePeers}): `appeared` when it has them now and the
   * catalog's version did not (or held no such region), `resolved` when it is
   * back to one peer per store. Absent otherwise, so that a caller logging it
   * logs once per occurrence, not on every heartbeat.
   */
  readonly duplicatePeers?: "appeared" | "resolved";
}

/** Options of {@link RegionCatalog}. */
export interface RegionCatalogOptions {
  readonly log: RegionLog;
  /** Most operations planned and persisted together as one durable append (group commit). Default 256. */
  readonly maxBatch?: number;
  /** Wall clock in milliseconds, for last-heartbeat times. Default `Date.now`. */
  readonly nowMs?: () => number;
}

type Pending =
  | { kind: "heartbeat"; region: Region; resolve: (o: HeartbeatOutcome) => void; reject: (e: unknown) => void }
  | { kind: "remove"; regionId: bigint; resolve: (removed: boolean) => void; reject: (e: unknown) => void };

const UNCHANGED: HeartbeatOutcome = Object.freeze({ changed: false, removedRegionIds: Object.freeze([]) });

/**
 * The region catalog: validates region heartbeats and removals against the
 * epoch rules of the wire contract, makes every change durable through a
 * {@link RegionLog} before it becomes visible, and answers key lookups.
 *
 * Writes are queued and applied by one writer in arrival order. Operations
 * that arrive while a write is in flight are planned together against the
 * committed state plus the earlier operations of their batch, and persisted
 * with one append (one fsync): group commit, with each caller still waiting
 * for its own durability. Lookups only ever see durable state. A heartbeat
 * identical to the stored region is answered at once and writes nothing.
 */
export class RegionCatalog {
  readonly #index = new RouteIndex();
  readonly #heartbeatAtMs = new Map<bigint, number>();
  /** Ids of the regions in the index whose peers are not one per store (see {@link hasDuplicatePeers}). */
  readonly #duplicatePeers = new Set<bigint>();
  #log: RegionLog;
  readonly #maxBatch: number;
  readonly #nowMs: () => number;
  #queue: Pending[] = [];
  #draining = false;
  #idle: Array<() => void> = [];

  constructor(options: RegionCatalogOptions) {
    this.#log = options.log;
    this.#maxBatch = options.maxBatch ?? 256;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /**
   * Fills the catalog from a durable snapshot at start-up (no write).
   *
   * @throws PdError `STORAGE` when a region is malformed or two overlap: the
   *   snapshot is corrupt and serving it would misroute keys.
   */
  restore(regions: Iterable<Region>): void {
    const all: Region[] = [];
    for (const r of regions) {
      try {
        validateRegion(r);
      } catch (err) {
        throw new PdError("STORAGE", `restored catalog: ${(err as Error).message}`, { cause: err });
      }
      all.push(r);
    }
    // Sorted by start key, the regions are disjoint exactly when each one ends
    // at or before the next one starts: one linear pass instead of an overlap
    // query per region, and the index is filled in key order (at a million
    // regions this takes start-up from seconds to a fraction of that).
    all.sort((a, b) => compareKeys(a.startKey, b.startKey));
    const clash = (r: Region, other: Region): PdError =>
      new PdError("STORAGE", `restored catalog: region ${r.id} ${formatRange(r)} clashes with region ${other.id}`);
    // Regions already indexed (restore on a non-empty catalog) need the overlap query.
    const checkIndex = this.#index.size > 0;
    for (let i = 0; i < all.length; i++) {
      const r = all[i]!;
      const prev = i > 0 ? all[i - 1]! : undefined;
      if (prev !== undefined && (prev.endKey.length === 0 || compareKeys(prev.endKey, r.startKey) > 0)) throw clash(r, prev);
      if (checkIndex) {
        const other = this.#index.overlapping(r.startKey, r.endKey).find((o) => o.id !== r.id);
        if (other !== undefined) throw clash(r, other);
      }
      const sameId = this.#index.get(r.id);
      if (sameId !== undefined) throw clash(r, sameId);
      this.#index.put(r);
      if (hasDuplicatePeers(r)) this.#duplicatePeers.add(r.id);
    }
  }

  /** Number of regions in the catalog. */
  get size(): number {
    return this.#index.size;
  }

  /**
   * Number of regions in the catalog whose peers are not one per store with
   * distinct ids (see {@link hasDuplicatePeers}), restored ones included. O(1).
   */
  get duplicatePeerRegions(): number {
    return this.#duplicatePeers.size;
  }

  /** The region holding `key`, if any. O(log n). */
  getRegionByKey(key: Uint8Array): Region | undefined {
    return this.#index.lookup(key);
  }

  /** The region with this id, if any. */
  getRegion(id: bigint): Region | undefined {
    return this.#index.get(id);
  }

  /** When the region last sent a heartbeat (ms since epoch), if it has since start-up. */
  lastHeartbeatMs(id: bigint): number | undefined {
    return this.#heartbeatAtMs.get(id);
  }

  /** Up to `limit` regions in key order from the one holding `fromKey`. */
  scan(fromKey: Uint8Array, limit: number): Region[] {
    return this.#index.scan(fromKey, limit);
  }

  /**
   * One page of a listing in key order: up to `limit` regions from the one
   * holding `fromKey`, and where the next page starts (the last region's end
   * key) when more regions follow. One definition for every API that pages.
   */
  page(fromKey: Uint8Array, limit: number): { readonly regions: Region[]; readonly nextStartKey: Uint8Array | undefined } {
    // One more than asked says whether another page follows.
    const found = this.#index.scan(fromKey, limit + 1);
    const regions = found.length > limit ? found.slice(0, limit) : found;
    const last = regions.at(-1);
    const more = found.length > limit && last !== undefined && last.endKey.length > 0;
    return { regions, nextStartKey: more ? last.endKey : undefined };
  }

  /** All regions in key order, lazily (the index must not change while iterating). */
  regions(): IterableIterator<Region> {
    return this.#index.values();
  }

  /** Visits regions in key order until `visit` returns false. */
  forEach(visit: (region: Region) => boolean | void): void {
    this.#index.forEach(visit);
  }

  /**
   * Applies a region heartbeat. Resolves once the change is durable (or at
   * once when nothing changes).
   *
   * @throws PdError `INVALID_ARGUMENT` for a malformed region, `STALE_EPOCH`
   *   when its epoch is behind the stored one, `RANGE_OVERLAP` when it overlaps
   *   a region that is not older, `STORAGE` when the write failed. In every
   *   error case the catalog is unchanged.
   */
  heartbeat(region: Region): Promise<HeartbeatOutcome> {
    try {
      validateRegion(region);
    } catch (err) {
      return Promise.reject(err);
    }
    // The fast path may answer only when no write is queued or in flight:
    // a queued removal or split must not be overtaken by an "unchanged" reply.
    if (!this.#draining && this.#queue.length === 0) {
      const stored = this.#index.get(region.id);
      if (stored !== undefined && regionsEqual(stored, region)) {
        this.#heartbeatAtMs.set(region.id, this.#nowMs());
        return Promise.resolve(UNCHANGED);
      }
    }
    try {
      this.#checkStorable(region);
    } catch (err) {
      return Promise.reject(err);
    }
    const copy = cloneRegion(region);
    return new Promise((resolve, reject) => this.#enqueue({ kind: "heartbeat", region: copy, resolve, reject }));
  }

  /**
   * Removes a region. Resolves with whether it existed, once the removal is durable.
   *
   * @throws PdError `INVALID_ARGUMENT` for id 0, `STORAGE` when the write failed.
   */
  remove(regionId: bigint): Promise<boolean> {
    if (regionId === 0n) return Promise.reject(new PdError("INVALID_ARGUMENT", "region id must be non-zero"));
    return new Promise((resolve, reject) => this.#enqueue({ kind: "remove", regionId, resolve, reject }));
  }

  /** Resolves once every write queued so far has been settled. */
  flush(): Promise<void> {
    if (!this.#draining) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Applies edits that are durable already — another member wrote them and
   * this one replays them (a warm follower) — without writing anything. The
   * edits of one call are one atomic change (one etcd revision): every
   * region they touch is taken out first and the puts go in after, so the
   * order of the edits within the call does not matter and no intermediate
   * state is ever visible. Only for a catalog that is not writing.
   *
   * @throws PdError `UNAVAILABLE` while a write is queued or in flight;
   *   `STORAGE` when the result would hold overlapping or malformed regions
   *   (the replica has diverged: rebuild it) — the catalog is unchanged then.
   */
  applyDurable(edits: readonly RegionEdit[]): void {
    if (this.#draining || this.#queue.length > 0) {
      throw new PdError("UNAVAILABLE", "region catalog: cannot replay edits while writing");
    }
    const touched = new Map<bigint, Region | null>();
    for (const e of edits) {
      if (e.kind === "put") {
        try {
          validateRegion(e.region);
        } catch (err) {
          throw new PdError("STORAGE", `replayed catalog edit: ${(err as Error).message}`, { cause: err });
        }
        touched.set(e.region.id, e.region);
      } else {
        touched.set(e.regionId, null);
      }
    }
    const removed: Region[] = [];
    for (const id of touched.keys()) {
      const old = this.#index.get(id);
      if (old !== undefined) {
        removed.push(old);
        this.#index.delete(id);
      }
    }
    const added: Region[] = [];
    for (const r of touched.values()) {
      if (r === null) continue;
      const clash = this.#index.overlapping(r.startKey, r.endKey)[0];
      if (clash !== undefined) {
        for (const a of added) this.#index.delete(a.id);
        for (const o of removed) this.#index.put(o);
        throw new PdError("STORAGE", `replayed catalog edit: region ${r.id} ${formatRange(r)} overlaps region ${clash.id} ${formatRange(clash)}`);
      }
      this.#index.put(r);
      added.push(r);
    }
    for (const [id, r] of touched) {
      if (r === null) {
        this.#heartbeatAtMs.delete(id);
        this.#duplicatePeers.delete(id);
      } else if (hasDuplicatePeers(r)) this.#duplicatePeers.add(id);
      else this.#duplicatePeers.delete(id);
    }
  }

  /**
   * Hands the catalog to another log: where its writes go from now on (an
   * elected member's next term writes through that term's store).
   *
   * @throws PdError `UNAVAILABLE` while a write is queued or in flight.
   */
  useLog(log: RegionLog): void {
    if (this.#draining || this.#queue.length > 0) {
      throw new PdError("UNAVAILABLE", "region catalog: cannot change its log while writing");
    }
    this.#log = log;
  }

  /** True while a write is queued or in flight. */
  get writing(): boolean {
    return this.#draining || this.#queue.length > 0;
  }

  /** Test hook: checks the index invariants. Linear. */
  assertConsistent(): void {
    this.#index.assertConsistent();
  }

  /**
   * A region may take at most half of an append, so that the deletions of
   * the regions it replaces always fit beside it.
   */
  #checkStorable(region: Region): void {
    const limit = this.#log.appendLimit;
    if (limit === undefined) return;
    const bytes = limit.editBytes({ kind: "put", region });
    if (bytes > limit.maxBytes / 2) {
      throw new PdError(
        "INVALID_ARGUMENT",
        `region ${region.id}: ${bytes} bytes to store, above the ${Math.floor(limit.maxBytes / 2)}-byte limit of one region; nothing was written`,
      );
    }
  }

  /** The next batch: at most `maxBatch` operations whose regions fit in half an append together. */
  #takeBatch(): Pending[] {
    const limit = this.#log.appendLimit;
    let n = Math.min(this.#queue.length, this.#maxBatch);
    if (limit !== undefined) {
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        const op = this.#queue[i]!;
        if (op.kind !== "heartbeat") continue;
        bytes += limit.editBytes({ kind: "put", region: op.region });
        if (bytes > limit.maxBytes / 2 && i > 0) {
          n = i;
          break;
        }
      }
    }
    const batch = n === this.#queue.length ? this.#queue : this.#queue.slice(0, n);
    this.#queue = n === this.#queue.length ? [] : this.#queue.slice(n);
    return batch;
  }

  #enqueue(p: Pending): void {
    this.#queue.push(p);
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commitBatch(this.#takeBatch());
    } finally {
      this.#draining = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const done of idle) done();
    }
  }

  async #commitBatch(batch: Pending[]): Promise<void> {
    // overlay: the batch's effect so far; null marks a region the batch deletes.
    const overlay = new Map<bigint, Region | null>();
    const edits: RegionEdit[] = [];
    const settle: Array<{ ok: () => void; fail: (e: unknown) => void; afterEdits: boolean; error?: unknown }> = [];

    for (const op of batch) {
      const afterEdits = edits.length > 0;
      try {
        if (op.kind === "remove") {
          const existed = this.#current(overlay, op.regionId) !== undefined;
          if (existed) {
            overlay.set(op.regionId, null);
            edits.push({ kind: "delete", regionId: op.regionId });
          }
          settle.push({ ok: () => op.resolve(existed), fail: op.reject, afterEdits });
        } else {
          const outcome = this.#planHeartbeat(overlay, edits, op.region);
          settle.push({ ok: () => op.resolve(outcome), fail: op.reject, afterEdits });
        }
      } catch (err) {
        settle.push({ ok: () => op.reject(err), fail: op.reject, afterEdits, error: err });
      }
    }

    if (edits.length > 0) {
      try {
        await this.#log.appendRegionEdits(edits);
      } catch (cause) {
        // A PdError from the log keeps its code: NOT_LEADER must reach the
        // client as a redirect, not as a storage failure.
        const err = cause instanceof PdError
          ? cause
          : new PdError("STORAGE", `region catalog: write failed: ${(cause as Error)?.message ?? cause}`, { cause });
        // Decisions made on top of this batch's own (now discarded) edits are void too.
        for (const s of settle) {
          if (s.error === undefined || s.afterEdits) s.fail(err);
          else s.ok();
        }
        return;
      }
      const now = this.#nowMs();
      for (const e of edits) {
        if (e.kind === "put") {
          this.#index.put(e.region);
          this.#heartbeatAtMs.set(e.region.id, now);
          if (hasDuplicatePeers(e.region)) this.#duplicatePeers.add(e.region.id);
          else this.#duplicatePeers.delete(e.region.id);
        } else {
          this.#index.delete(e.regionId);
          this.#heartbeatAtMs.delete(e.regionId);
          this.#duplicatePeers.delete(e.regionId);
        }
      }
    }
    for (const s of settle) s.ok();
  }

  #current(overlay: Map<bigint, Region | null>, id: bigint): Region | undefined {
    const o = overlay.get(id);
    if (o !== undefined) return o ?? undefined;
    return overlay.has(id) ? undefined : this.#index.get(id);
  }

  #planHeartbeat(overlay: Map<bigint, Region | null>, edits: RegionEdit[], r: Region): HeartbeatOutcome {
    const existing = this.#current(overlay, r.id);
    if (existing !== undefined) {
      const e = existing.epoch;
      if (r.epoch.version < e.version || r.epoch.confVersion < e.confVersion) {
        throw new PdError("STALE_EPOCH", `region ${r.id}: stale epoch ${formatEpoch(r.epoch)} < ${formatEpoch(e)}`);
      }
      if (regionsEqual(existing, r)) return UNCHANGED;
    }
    const overlaps: Region[] = [];
    for (const o of this.#index.overlapping(r.startKey, r.endKey)) {
      if (o.id !== r.id && !overlay.has(o.id)) overlaps.push(o);
    }
    for (const o of overlay.values()) {
      if (o !== null && o.id !== r.id && rangesOverlap(o, r)) overlaps.push(o);
    }
    for (const o of overlaps) {
      if (o.epoch.version >= r.epoch.version) {
        throw new PdError(
          "RANGE_OVERLAP",
          `region ${r.id} ${formatRange(r)} v${r.epoch.version} overlaps region ${o.id} ${formatRange(o)} v${o.epoch.version}`,
        );
      }
    }
    const removed: bigint[] = [];
    for (const o of overlaps) {
      overlay.set(o.id, null);
      edits.push({ kind: "delete", regionId: o.id });
      removed.push(o.id);
    }
    overlay.set(r.id, r);
    edits.push({ kind: "put", region: r });
    const before = existing !== undefined && hasDuplicatePeers(existing);
    const after = hasDuplicatePeers(r);
    if (before === after) return { changed: true, removedRegionIds: removed };
    return { changed: true, removedRegionIds: removed, duplicatePeers: after ? "appeared" : "resolved" };
  }
}
