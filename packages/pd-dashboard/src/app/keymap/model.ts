import type { CompactRegionJson, DashboardRegionChangesJson, DashboardRegionPageJson } from "../../api-types.js";

// The page's copy of the region catalog and the key-space map drawn from it.
// Keys stay upper-case hex strings: two bytes compare as their two hex digits
// do ('0'-'9' < 'A'-'F' in ASCII, every byte two digits wide), so sorting
// the strings sorts the keys in byte order, and no key is ever decoded to
// find its place.

/** A region as the page holds it. Ids, epochs and store ids are BigInt. */
export interface RegionRec {
  readonly id: bigint;
  readonly start: string;
  /** "" = +inf. */
  readonly end: string;
  readonly version: bigint;
  readonly confVer: bigint;
  /** The leader's store when PD knows it. */
  readonly leaderStore: bigint | undefined;
  readonly peers: ReadonlyArray<{ readonly storeId: bigint; readonly peerId: bigint }>;
}

/** What one slot of the map is: a region, a key range no region covers, or a range two regions both claim. */
export const enum SlotKind {
  Region = 0,
  Hole = 1,
  Overlap = 2,
}

/**
 * The map's x axis: the key space from the empty key to +inf as a sequence
 * of slots of equal width, in key order: every region, and between them the
 * holes and overlaps. Equal widths (an ordinal axis, as TiKV's key
 * visualizer uses) keep every region visible whatever its keys look like.
 */
export interface Slots {
  readonly count: number;
  readonly kind: Uint8Array;
  /** Index into `regions` for a region slot; for a hole or overlap, the region after it (or -1 at the end). */
  readonly ref: Int32Array;
  /** For holes: the uncovered range's start (hex); for overlaps, the overlapping range. */
  readonly from: string[];
  readonly to: string[];
  readonly regions: readonly RegionRec[];
  readonly holes: number;
  readonly overlaps: number;
}

function u64(s: string): bigint {
  return /^[0-9]{1,20}$/.test(s) ? BigInt(s) : 0n;
}

/** A region from its compact JSON; `nextStart` fills an elided end key. */
export function regionFromJson(j: CompactRegionJson, nextStart: string | undefined): RegionRec {
  const peers: Array<{ storeId: bigint; peerId: bigint }> = [];
  for (let i = 0; i + 1 < j[6].length; i += 2) peers.push({ storeId: u64(j[6][i]!), peerId: u64(j[6][i + 1]!) });
  return {
    id: u64(j[0]),
    start: j[1],
    end: j[2] ?? nextStart ?? "",
    version: u64(j[3]),
    confVer: u64(j[4]),
    leaderStore: j[5] === "" ? undefined : u64(j[5]),
    peers,
  };
}

function byStart(a: RegionRec, b: RegionRec): number {
  return a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The page's region catalog: loaded page by page in key order, then kept
 * current from the region feed's changes. `version` counts changes, for
 * redrawing.
 */
export class RegionSet {
  generation = "";
  /** The feed position this copy reflects once loading is complete. */
  seq = 0;
  version = 0;
  #byId = new Map<bigint, RegionRec>();
  #sorted: RegionRec[] = [];
  #dirty = false;
  #slots: Slots | undefined;

  get size(): number {
    return this.#byId.size;
  }

  /** Forgets everything (a new generation is being loaded). */
  clear(generation: string, seq: number): void {
    this.generation = generation;
    this.seq = seq;
    this.#byId.clear();
    this.#sorted = [];
    this.#dirty = false;
    this.#slots = undefined;
    this.version++;
  }

  /** Adds a page read in key order (pages arrive in order, so appending keeps the order). */
  addPage(page: DashboardRegionPageJson): void {
    const rs = page.regions;
    for (let i = 0; i < rs.length; i++) {
      const r = regionFromJson(rs[i]!, rs[i + 1]?.[1]);
      const old = this.#byId.get(r.id);
      this.#byId.set(r.id, r);
      if (old !== undefined) this.#dirty = true;
      else if (this.#sorted.length > 0 && byStart(this.#sorted[this.#sorted.length - 1]!, r) > 0) this.#dirty = true;
      if (old === undefined && !this.#dirty) this.#sorted.push(r);
    }
    this.#slots = undefined;
    this.version++;
  }

  /** Applies the feed's changes: each region as it is now, or gone. */
  applyChanges(ch: DashboardRegionChangesJson): void {
    for (const id of ch.removed) this.#byId.delete(u64(id));
    for (const j of ch.regions) {
      const r = regionFromJson(j, undefined);
      this.#byId.set(r.id, r);
    }
    this.seq = ch.seq;
    if (ch.removed.length > 0 || ch.regions.length > 0) {
      this.#dirty = true;
      this.#slots = undefined;
      this.version++;
    }
  }

  /** Every region in key order. */
  sorted(): readonly RegionRec[] {
    if (this.#dirty) {
      this.#sorted = [...this.#byId.values()].sort(byStart);
      this.#dirty = false;
    }
    return this.#sorted;
  }

  /** The map's slots (cached until the next change). */
  slots(): Slots {
    this.#slots ??= buildSlots(this.sorted());
    return this.#slots;
  }
}

/**
 * Lays regions (sorted by start key) out as slots: a hole before a region
 * that starts after everything so far ends (and at either end of the key
 * space), an overlap before a region that starts before it.
 */
export function buildSlots(regions: readonly RegionRec[]): Slots {
  const kind: number[] = [];
  const ref: number[] = [];
  const from: string[] = [];
  const to: string[] = [];
  let holes = 0;
  let overlaps = 0;
  // Where the covered prefix of the key space ends so far; "" at first is the
  // empty key, `inf` once a region reaches +inf.
  let cursor = "";
  let inf = false;
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i]!;
    if (!inf && r.start > cursor) {
      kind.push(SlotKind.Hole);
      ref.push(i);
      from.push(cursor);
      to.push(r.start);
      holes++;
    } else if (i > 0 && (inf || r.start < cursor)) {
      kind.push(SlotKind.Overlap);
      ref.push(i);
      from.push(r.start);
      // The overlap runs to the nearer of the two ends.
      to.push(inf ? r.end : r.end === "" || cursor < r.end ? cursor : r.end);
      overlaps++;
    }
    kind.push(SlotKind.Region);
    ref.push(i);
    from.push(r.start);
    to.push(r.end);
    if (!inf) {
      if (r.end === "") inf = true;
      else if (r.end > cursor) cursor = r.end;
    }
  }
  if (!inf) {
    kind.push(SlotKind.Hole);
    ref.push(-1);
    from.push(cursor);
    to.push("");
    holes++;
  }
  return {
    count: kind.length,
    kind: Uint8Array.from(kind),
    ref: Int32Array.from(ref),
    from,
    to,
    regions,
    holes,
    overlaps,
  };
}
