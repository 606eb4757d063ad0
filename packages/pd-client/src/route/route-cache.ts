import { compareKeys as compare, keysEqual, rangesOverlap as overlaps, type Region, type RegionPeer, regionContains } from "@nokv/pd-model";

export { regionContains };

/** Route-cache settings of a client. */
export interface RouteCacheOptions {
  /**
   * How long a region is served after it was last read (a sliding TTL, as in
   * client-go's region cache), in ms. Default 60 000; `Infinity` never
   * expires. Stale routes are corrected by what stores say
   * (`onEpochNotMatch`, `invalidateRegion`), not by the TTL.
   */
  readonly ttlMs?: number;
  /**
   * Up to this much is added to each region's TTL at random (once, when it is
   * cached), in ms, so that regions cached together do not expire together.
   * Default a tenth of `ttlMs` (client-go: 10 minutes plus up to 1).
   */
  readonly ttlJitterMs?: number;
  /**
   * Most regions held. When full, expired entries go first, then the entry
   * closest to expiry. Default 100 000.
   */
  readonly maxEntries?: number;
}

/** Defaults of {@link RouteCacheOptions}. */
export const DEFAULT_ROUTE_CACHE_TTL_MS = 60_000;
export const DEFAULT_ROUTE_CACHE_MAX_ENTRIES = 100_000;

/** A cached region, with what stores said about its leader. */
export interface RouteEntry {
  readonly region: Region;
  /** This entry's own TTL (the configured TTL plus its jitter), in ms. */
  readonly ttlMs: number;
  /** Slides forward on every read. */
  expiresAtMs: number;
  /** The store a store named as the leader (one of the region's peers). */
  leaderStoreId: bigint | undefined;
}

/** The range and/or id an invalidation touched, kept while lookups are in flight. */
interface Invalidation {
  readonly seq: number;
  readonly startKey?: Uint8Array;
  readonly endKey?: Uint8Array;
  readonly id?: bigint;
}

/** The smallest key after `key`: `key + 0x00` (a point range is `[key, key + 0x00)`). */
function nextKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/**
 * The route cache: regions keyed by range, for `getRegionByKey` and the
 * range helpers.
 *
 * Invariants: entries are sorted by `startKey` and their ranges never
 * overlap, so at most one region answers a key; an id appears at most once.
 * Inserting a region evicts every entry it overlaps (after a split or merge
 * the new range wins), unless a cached region is provably newer by epoch —
 * then the inserted region is an out-of-order answer and is not cached.
 *
 * Invalidation is scoped: a lookup in flight holds a ticket from
 * {@link RouteCache.beginFetch}, and its answer is not cached only if an
 * invalidation since then touched the answer's range or id — an unrelated
 * invalidation (another region, a key elsewhere, a not-found answer for
 * another key) leaves it alone.
 *
 * Time comes from the caller (`nowMs`) and randomness from `random`, so
 * tests can drive expiry and jitter.
 */
export class RouteCache {
  readonly ttlMs: number;
  readonly ttlJitterMs: number;
  readonly maxEntries: number;
  /** Entries dropped because an inserted region overlapped them. */
  evictions = 0;
  readonly #entries: RouteEntry[] = [];
  readonly #byId = new Map<bigint, RouteEntry>();
  readonly #random: () => number;
  #seq = 0;
  /** Tickets of the fetches in flight, oldest first (Map keeps insertion order), with how many hold each. */
  readonly #open = new Map<number, number>();
  #log: Invalidation[] = [];

  constructor(options: RouteCacheOptions = {}, random: () => number = Math.random) {
    this.ttlMs = options.ttlMs ?? DEFAULT_ROUTE_CACHE_TTL_MS;
    this.ttlJitterMs = options.ttlJitterMs ?? (Number.isFinite(this.ttlMs) ? this.ttlMs / 10 : 0);
    this.maxEntries = options.maxEntries ?? DEFAULT_ROUTE_CACHE_MAX_ENTRIES;
    this.#random = random;
  }

  /** Number of regions held, expired ones included until they are touched. */
  get size(): number {
    return this.#entries.length;
  }

  /** Index of the last entry whose startKey <= key, or -1. */
  #floor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.#entries[mid]!.region.startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  #removeAt(index: number): void {
    const [entry] = this.#entries.splice(index, 1);
    if (entry !== undefined) this.#byId.delete(entry.region.id);
  }

  /** The live entry at `index` holding `key`, sliding its TTL; drops it if expired. */
  #live(index: number, nowMs: number): RouteEntry | undefined {
    const entry = this.#entries[index]!;
    if (entry.expiresAtMs <= nowMs) {
      this.#removeAt(index);
      return undefined;
    }
    entry.expiresAtMs = nowMs + entry.ttlMs;
    return entry;
  }

  /** The cached entry holding `key`, if any and not expired at `nowMs`. A hit slides its TTL. */
  lookupEntry(key: Uint8Array, nowMs: number): RouteEntry | undefined {
    const i = this.#floor(key);
    if (i < 0 || !regionContains(this.#entries[i]!.region, key)) return undefined;
    return this.#live(i, nowMs);
  }

  /** The cached region holding `key`, if any and not expired at `nowMs`. A hit slides its TTL. */
  lookup(key: Uint8Array, nowMs: number): Region | undefined {
    return this.lookupEntry(key, nowMs)?.region;
  }

  /** The cached region whose end key is exactly `endKey` (non-empty), if any and live. */
  lookupByEndKey(endKey: Uint8Array, nowMs: number): Region | undefined {
    // Its start is below endKey: it is the floor of the largest key before endKey.
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.#entries[mid]!.region.startKey, endKey) < 0) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0 || !keysEqual(this.#entries[i]!.region.endKey, endKey)) return undefined;
    return this.#live(i, nowMs)?.region;
  }

  /** A ticket for a lookup about to ask PD; give it back with {@link endFetch}. */
  beginFetch(): number {
    const t = this.#seq;
    this.#open.set(t, (this.#open.get(t) ?? 0) + 1);
    return t;
  }

  /** Returns a ticket; invalidations older than every open ticket are forgotten. */
  endFetch(ticket: number): void {
    const n = (this.#open.get(ticket) ?? 1) - 1;
    if (n > 0) this.#open.set(ticket, n);
    else this.#open.delete(ticket);
    const oldest = this.#open.keys().next();
    if (oldest.done === true) this.#log = [];
    else if (this.#log.length > 0 && this.#log[0]!.seq <= oldest.value) this.#log = this.#log.filter((x) => x.seq > oldest.value);
  }

  #invalidated(inv: Omit<Invalidation, "seq">): void {
    this.#seq += 1;
    if (this.#open.size > 0) this.#log.push({ seq: this.#seq, ...inv });
  }

  /** Whether an invalidation after `ticket` touched `region`'s range or id. */
  #stale(region: Region, ticket: number): boolean {
    for (const inv of this.#log) {
      if (inv.seq <= ticket) continue;
      if (inv.id !== undefined && inv.id === region.id) return true;
      if (inv.startKey !== undefined && inv.endKey !== undefined && overlaps({ startKey: inv.startKey, endKey: inv.endKey }, region)) return true;
    }
    return false;
  }

  /**
   * Caches `region`, evicting what it overlaps. Returns false (and changes
   * nothing) when it was fetched under `ticket` and an invalidation since
   * touched it, or when a cached region is newer: the same id with a higher
   * version or conf version, or an overlapped region with a higher version.
   */
  insert(region: Region, nowMs: number, ticket?: number): boolean {
    if (this.maxEntries <= 0) return false;
    if (ticket !== undefined && this.#stale(region, ticket)) return false;
    const same = this.#byId.get(region.id);
    if (
      same !== undefined &&
      (same.region.epoch.version > region.epoch.version || same.region.epoch.confVersion > region.epoch.confVersion)
    ) {
      return false;
    }
    // Overlapped entries are contiguous: from the floor of startKey (if it
    // reaches past startKey) up to the last one starting before endKey.
    let from = this.#floor(region.startKey);
    if (from < 0 || !overlaps(this.#entries[from]!.region, region)) from += 1;
    let to = from;
    while (to < this.#entries.length && overlaps(this.#entries[to]!.region, region)) {
      const other = this.#entries[to]!.region;
      if (other.id !== region.id && other.epoch.version > region.epoch.version) return false;
      to += 1;
    }
    for (let i = from; i < to; i++) {
      const old = this.#entries[i]!;
      this.#byId.delete(old.region.id);
      if (old.region.id !== region.id) this.evictions += 1;
    }
    const ttlMs = this.ttlMs + (this.ttlJitterMs > 0 ? this.#random() * this.ttlJitterMs : 0);
    // A leader a store named survives a refresh of the same epoch, if that store still holds a peer.
    const keepLeader =
      same !== undefined &&
      same.leaderStoreId !== undefined &&
      same.region.epoch.version === region.epoch.version &&
      same.region.epoch.confVersion === region.epoch.confVersion &&
      region.peers.some((p) => p.storeId === same.leaderStoreId);
    const entry: RouteEntry = { region, ttlMs, expiresAtMs: nowMs + ttlMs, leaderStoreId: keepLeader ? same.leaderStoreId : undefined };
    this.#entries.splice(from, to - from, entry);
    // The same id cached under a range it no longer has (moved by a split or merge).
    if (same !== undefined && this.#byId.get(region.id) === same) {
      const at = this.#entries.indexOf(same);
      if (at >= 0) this.#entries.splice(at, 1);
    }
    this.#byId.set(region.id, entry);
    if (this.#entries.length > this.maxEntries) this.#shrink(nowMs, entry);
    return true;
  }

  #shrink(nowMs: number, keep: RouteEntry): void {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e !== keep && e.expiresAtMs <= nowMs) this.#removeAt(i);
    }
    while (this.#entries.length > this.maxEntries) {
      let oldest = -1;
      for (let i = 0; i < this.#entries.length; i++) {
        const e = this.#entries[i]!;
        if (e !== keep && (oldest < 0 || e.expiresAtMs < this.#entries[oldest]!.expiresAtMs)) oldest = i;
      }
      if (oldest < 0) return;
      this.#removeAt(oldest);
    }
  }

  /**
   * Records the store a store named as `regionId`'s leader. False when the
   * region is not cached; when no peer of the cached region is on that
   * store, the cached region is stale: it is dropped, and false returned.
   */
  updateLeader(regionId: bigint, storeId: bigint): boolean {
    const entry = this.#byId.get(regionId);
    if (entry === undefined) return false;
    if (!entry.region.peers.some((p) => p.storeId === storeId)) {
      this.invalidateRegion(regionId);
      return false;
    }
    entry.leaderStoreId = storeId;
    return true;
  }

  /** The leader peer of an entry, when a store named one. */
  static leaderOf(entry: RouteEntry): RegionPeer | undefined {
    const id = entry.leaderStoreId;
    return id === undefined ? undefined : entry.region.peers.find((p) => p.storeId === id);
  }

  /** Drops the region with this id. Returns whether one was cached. */
  invalidateRegion(id: bigint): boolean {
    const entry = this.#byId.get(id);
    this.#invalidated(entry === undefined ? { id } : { id, startKey: entry.region.startKey, endKey: entry.region.endKey });
    if (entry === undefined) return false;
    const at = this.#entries.indexOf(entry);
    if (at >= 0) this.#entries.splice(at, 1);
    this.#byId.delete(id);
    return true;
  }

  /** Drops the region holding `key`. Returns whether one was cached. */
  invalidateKey(key: Uint8Array): boolean {
    const i = this.#floor(key);
    if (i < 0 || !regionContains(this.#entries[i]!.region, key)) {
      this.#invalidated({ startKey: key, endKey: nextKey(key) });
      return false;
    }
    const r = this.#entries[i]!.region;
    this.#invalidated({ startKey: r.startKey, endKey: r.endKey, id: r.id });
    this.#removeAt(i);
    return true;
  }

  /** The cached regions in key order (expired ones included). */
  regions(): Region[] {
    return this.#entries.map((e) => e.region);
  }

  /** Drops everything; every lookup in flight is stale. */
  clear(): void {
    this.#invalidated({ startKey: new Uint8Array(), endKey: new Uint8Array() });
    this.#entries.length = 0;
    this.#byId.clear();
  }
}
