import { compareKeys as compare, rangesOverlap as overlaps, type Region, regionContains } from "@nokv/pd-model";

export { regionContains };

/** Route-cache settings of a client. */
export interface RouteCacheOptions {
  /** How long a cached region is served, in ms. Default 60 000; `Infinity` never expires. */
  readonly ttlMs?: number;
  /**
   * Most regions held. When full, expired entries go first, then the entry
   * closest to expiry. Default 100 000.
   */
  readonly maxEntries?: number;
}

interface Entry {
  readonly region: Region;
  readonly expiresAtMs: number;
}

/**
 * The route cache: regions keyed by range, for `getRegionByKey`.
 *
 * Invariants: entries are sorted by `startKey` and their ranges never overlap,
 * so at most one region answers a key; an id appears at most once. Inserting
 * a region evicts every entry it overlaps (after a split or merge the new
 * range wins), unless a cached region is provably newer by epoch — then the
 * fetched answer is an out-of-order response and is not cached.
 *
 * Time comes from the caller (`nowMs`) so tests can drive expiry.
 */
export class RouteCache {
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Entries dropped because an inserted region overlapped them. */
  evictions = 0;
  /**
   * Bumped by every invalidation. A fetch that started under an older
   * generation must not cache its answer: it may predate the invalidation.
   */
  generation = 0;
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<bigint, Entry>();

  constructor(options: RouteCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Number of regions held, expired ones included until they are touched. */
  get size(): number {
    return this.entries.length;
  }

  /** Index of the last entry whose startKey <= key, or -1. */
  private floor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.entries[mid]!.region.startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private removeAt(index: number): void {
    const [entry] = this.entries.splice(index, 1);
    if (entry !== undefined) this.byId.delete(entry.region.id);
  }

  /** The cached region holding `key`, if any and not expired at `nowMs`. */
  lookup(key: Uint8Array, nowMs: number): Region | undefined {
    const i = this.floor(key);
    if (i < 0) return undefined;
    const entry = this.entries[i]!;
    if (!regionContains(entry.region, key)) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.removeAt(i);
      return undefined;
    }
    return entry.region;
  }

  /**
   * Caches `region` until `nowMs + ttlMs`, evicting what it overlaps.
   * Returns false (and changes nothing) when `generation` is stale or a
   * cached region is newer: the same id with a higher version or conf
   * version, or an overlapped region with a higher version.
   */
  insert(region: Region, nowMs: number, generation: number = this.generation): boolean {
    if (generation !== this.generation || this.maxEntries <= 0) return false;
    const same = this.byId.get(region.id);
    if (
      same !== undefined &&
      (same.region.epoch.version > region.epoch.version || same.region.epoch.confVersion > region.epoch.confVersion)
    ) {
      return false;
    }
    // Overlapped entries are contiguous: from the floor of startKey (if it
    // reaches past startKey) up to the last one starting before endKey.
    let from = this.floor(region.startKey);
    if (from < 0 || !overlaps(this.entries[from]!.region, region)) from += 1;
    let to = from;
    while (to < this.entries.length && overlaps(this.entries[to]!.region, region)) {
      const other = this.entries[to]!.region;
      if (other.id !== region.id && other.epoch.version > region.epoch.version) return false;
      to += 1;
    }
    for (let i = from; i < to; i++) {
      const old = this.entries[i]!;
      this.byId.delete(old.region.id);
      if (old.region.id !== region.id) this.evictions += 1;
    }
    const entry: Entry = { region, expiresAtMs: nowMs + this.ttlMs };
    this.entries.splice(from, to - from, entry);
    // The same id cached under a range it no longer has (moved by a split or merge).
    if (same !== undefined && this.byId.get(region.id) === same) {
      const at = this.entries.indexOf(same);
      if (at >= 0) this.entries.splice(at, 1);
    }
    this.byId.set(region.id, entry);
    if (this.entries.length > this.maxEntries) this.shrink(nowMs, entry);
    return true;
  }

  private shrink(nowMs: number, keep: Entry): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e !== keep && e.expiresAtMs <= nowMs) this.removeAt(i);
    }
    while (this.entries.length > this.maxEntries) {
      let oldest = -1;
      for (let i = 0; i < this.entries.length; i++) {
        const e = this.entries[i]!;
        if (e !== keep && (oldest < 0 || e.expiresAtMs < this.entries[oldest]!.expiresAtMs)) oldest = i;
      }
      if (oldest < 0) return;
      this.removeAt(oldest);
    }
  }

  /** Drops the region with this id. Returns whether one was cached. */
  invalidateRegion(id: bigint): boolean {
    this.generation += 1;
    const entry = this.byId.get(id);
    if (entry === undefined) return false;
    const at = this.entries.indexOf(entry);
    if (at >= 0) this.entries.splice(at, 1);
    this.byId.delete(id);
    return true;
  }

  /** Drops the region holding `key`. Returns whether one was cached. */
  invalidateKey(key: Uint8Array): boolean {
    this.generation += 1;
    const i = this.floor(key);
    if (i < 0 || !regionContains(this.entries[i]!.region, key)) return false;
    this.removeAt(i);
    return true;
  }

  /** The cached regions in key order (expired ones included). */
  regions(): Region[] {
    return this.entries.map((e) => e.region);
  }

  /** Drops everything. */
  clear(): void {
    this.generation += 1;
    this.entries.length = 0;
    this.byId.clear();
  }
}

