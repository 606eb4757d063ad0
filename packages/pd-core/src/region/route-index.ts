import btree from "sorted-btree";
import { compareKeys, type Region, regionContains } from "@nokv/pd-model";

// sorted-btree is CommonJS: Node's ESM loader hands over the module object
// (class under `.default`), bundlers and vitest hand over the class itself.
type BTreeClass = typeof btree.default;
const BTree: BTreeClass =
  (btree as unknown as { default?: BTreeClass }).default ?? (btree as unknown as BTreeClass);
type Tree = InstanceType<typeof BTree<Uint8Array, Region>>;

/**
 * The region catalog's in-memory index: an ordered B+ tree keyed by start key
 * (byte order) plus a map by id. Lookups, inserts and deletes are O(log n);
 * an overlap query is O(log n + k) for k overlapping regions.
 *
 * Invariant (kept by callers, checked by {@link RouteIndex.assertConsistent}):
 * the indexed ranges never overlap, so start keys are unique.
 */
export class RouteIndex {
  readonly #byStart: Tree = new BTree<Uint8Array, Region>(undefined, compareKeys);
  readonly #byId = new Map<bigint, Region>();

  /** Number of regions indexed. */
  get size(): number {
    return this.#byId.size;
  }

  /** The region with this id, if any. */
  get(id: bigint): Region | undefined {
    return this.#byId.get(id);
  }

  /** The region whose `[startKey, endKey)` holds `key`, if any. */
  lookup(key: Uint8Array): Region | undefined {
    const pair = this.#byStart.getPairOrNextLower(key);
    if (pair === undefined) return undefined;
    return regionContains(pair[1], key) ? pair[1] : undefined;
  }

  /**
   * Every indexed region sharing a key with `[startKey, endKey)` (empty end =
   * unbounded), in key order.
   */
  overlapping(startKey: Uint8Array, endKey: Uint8Array): Region[] {
    const out: Region[] = [];
    const below = this.#byStart.getPairOrNextLower(startKey);
    if (below !== undefined) {
      const r = below[1];
      if (r.endKey.length === 0 || compareKeys(r.endKey, startKey) > 0) out.push(r);
    }
    const visit = (k: Uint8Array, r: Region): void => {
      if (compareKeys(k, startKey) > 0) out.push(r);
    };
    if (endKey.length === 0) {
      const max = this.#byStart.maxKey();
      if (max !== undefined && compareKeys(max, startKey) > 0) this.#byStart.forRange(startKey, max, true, visit);
    } else {
      this.#byStart.forRange(startKey, endKey, false, visit);
    }
    return out;
  }

  /**
   * Inserts or replaces the region with `region.id`. The caller guarantees it
   * overlaps no other indexed region (remove those first).
   */
  put(region: Region): void {
    const old = this.#byId.get(region.id);
    if (old !== undefined) this.#byStart.delete(old.startKey);
    this.#byStart.set(region.startKey, region);
    this.#byId.set(region.id, region);
  }

  /** Removes the region with this id; returns whether it was there. */
  delete(id: bigint): boolean {
    const old = this.#byId.get(id);
    if (old === undefined) return false;
    this.#byStart.delete(old.startKey);
    this.#byId.delete(id);
    return true;
  }

  /**
   * Regions in key order starting with the one holding `fromKey` (or the first
   * one above it), at most `limit` of them.
   */
  scan(fromKey: Uint8Array, limit: number): Region[] {
    const out: Region[] = [];
    if (limit <= 0) return out;
    const first = this.lookup(fromKey);
    const startAt = first?.startKey ?? fromKey;
    for (const [, r] of this.#byStart.entries(startAt)) {
      out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Regions in key order, lazily. */
  values(): IterableIterator<Region> {
    return this.#byStart.values();
  }

  /** Calls `visit` for each region in key order until it returns `false`. */
  forEach(visit: (region: Region) => boolean | void): void {
    for (const [, r] of this.#byStart.entries()) {
      if (visit(r) === false) return;
    }
  }

  /**
   * Checks the invariants (both maps agree, ranges ascending and disjoint).
   * Linear: for tests and start-up, never on a request path.
   *
   * @throws Error describing the first violation.
   */
  assertConsistent(): void {
    if (this.#byStart.size !== this.#byId.size) {
      throw new Error(`route index: ${this.#byStart.size} keys but ${this.#byId.size} ids`);
    }
    let prev: Region | undefined;
    for (const [k, r] of this.#byStart.entries()) {
      if (this.#byId.get(r.id) !== r || compareKeys(k, r.startKey) !== 0) {
        throw new Error(`route index: region ${r.id} indexed inconsistently`);
      }
      if (prev !== undefined && (prev.endKey.length === 0 || compareKeys(prev.endKey, r.startKey) > 0)) {
        throw new Error(`route index: regions ${prev.id} and ${r.id} overlap`);
      }
      prev = r;
    }
  }
}
