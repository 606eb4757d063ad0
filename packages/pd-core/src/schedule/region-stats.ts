import type { Region, RegionHeartbeatExtras } from "@nokv/pd-model";
import { hasDuplicatePeers } from "../region/region.js";

/** Bytes in a MiB: region sizes count in MiB units of weight. */
export const MIB = 1n << 20n;
const EMPTY_IDS: ReadonlySet<bigint> = new Set();
const EMPTY_DOWN: ReadonlyMap<bigint, bigint> = new Map();

/**
 * What the scheduler knows of one region: the catalog's region and what its
 * last heartbeat said beside it. Soft state: rebuilt from heartbeats after a
 * restart or a leader change, never persisted.
 */
export interface RegionStats {
  readonly region: Region;
  /** The leader's peer and store, when the last heartbeat named it. */
  readonly leaderPeerId: bigint | undefined;
  readonly leaderStoreId: bigint | undefined;
  readonly approximateSize: bigint | undefined;
  readonly approximateKeys: bigint | undefined;
  readonly bytesWritten: bigint | undefined;
  readonly keysWritten: bigint | undefined;
  /** Whether the last heartbeat reported the peers' state (learners, pending, down). */
  readonly peerStatusKnown: boolean;
  readonly learners: ReadonlySet<bigint>;
  readonly pending: ReadonlySet<bigint>;
  /** Down peer id → seconds the leader has not heard from it. */
  readonly down: ReadonlyMap<bigint, bigint>;
  /** Scheduling weight: the approximate size in MiB (at least 1), or 1 when unknown. */
  readonly weight: number;
  readonly duplicatePeers: boolean;
}

/** A set of ids with O(1) add, delete and access by position, for bounded round-robin scans. */
export class IndexedIdSet {
  readonly #ids: bigint[] = [];
  readonly #at = new Map<bigint, number>();

  get size(): number {
    return this.#ids.length;
  }

  has(id: bigint): boolean {
    return this.#at.has(id);
  }

  add(id: bigint): void {
    if (this.#at.has(id)) return;
    this.#at.set(id, this.#ids.length);
    this.#ids.push(id);
  }

  delete(id: bigint): void {
    const i = this.#at.get(id);
    if (i === undefined) return;
    const last = this.#ids.pop()!;
    this.#at.delete(id);
    if (last !== id) {
      this.#ids[i] = last;
      this.#at.set(last, i);
    }
  }

  /** The id at position `i mod size`; undefined when empty. */
  at(i: number): bigint | undefined {
    const n = this.#ids.length;
    return n === 0 ? undefined : this.#ids[((i % n) + n) % n];
  }
}

/** The weight of a region of `size` bytes: MiB rounded up, at least 1; 1 when unknown. */
export function regionWeight(size: bigint | undefined): number {
  if (size === undefined || size <= MIB) return 1;
  return Number((size + MIB - 1n) / MIB);
}

/** Per-store totals the scores are made of. */
interface StoreTotals {
  readonly peers: IndexedIdSet;
  readonly leaders: IndexedIdSet;
  weight: number;
  leaderWeight: number;
}

/**
 * The scheduler's incremental index: per region its {@link RegionStats}, per
 * store the regions it holds a peer of and leads, with their total weight.
 * Every update costs O(peers of the region); nothing here ever walks all
 * regions, so a store heartbeat's scheduling cost does not grow with them.
 */
export class RegionStatsIndex {
  readonly #stats = new Map<bigint, RegionStats>();
  readonly #stores = new Map<bigint, StoreTotals>();

  /** Number of regions indexed. */
  get size(): number {
    return this.#stats.size;
  }

  get(regionId: bigint): RegionStats | undefined {
    return this.#stats.get(regionId);
  }

  /**
   * Indexes a region as the catalog now holds it, with what its heartbeat
   * said (`extras` undefined: a restored region, or a sender that says
   * nothing more, such as a NoKV Go store).
   */
  put(region: Region, extras: RegionHeartbeatExtras | undefined): RegionStats {
    const leaderPeerId = extras?.leaderPeerId;
    const leader = leaderPeerId === undefined ? undefined : region.peers.find((p) => p.peerId === leaderPeerId);
    const known = extras?.learnerPeerIds !== undefined || extras?.pendingPeers !== undefined || extras?.downPeers !== undefined;
    const stats: RegionStats = {
      region,
      leaderPeerId: leader === undefined ? undefined : leaderPeerId,
      leaderStoreId: leader?.storeId,
      approximateSize: extras?.approximateSize,
      approximateKeys: extras?.approximateKeys,
      bytesWritten: extras?.bytesWritten,
      keysWritten: extras?.keysWritten,
      peerStatusKnown: known,
      learners: extras?.learnerPeerIds === undefined || extras.learnerPeerIds.length === 0 ? EMPTY_IDS : new Set(extras.learnerPeerIds),
      pending:
        extras?.pendingPeers === undefined || extras.pendingPeers.length === 0 ? EMPTY_IDS : new Set(extras.pendingPeers.map((p) => p.peerId)),
      down:
        extras?.downPeers === undefined || extras.downPeers.length === 0
          ? EMPTY_DOWN
          : new Map(extras.downPeers.map((d) => [d.peer.peerId, d.downSeconds])),
      weight: regionWeight(extras?.approximateSize),
      duplicatePeers: hasDuplicatePeers(region),
    };
    const old = this.#stats.get(region.id);
    if (old !== undefined) this.#unlink(old);
    this.#stats.set(region.id, stats);
    this.#link(stats);
    return stats;
  }

  /** Forgets a region (removed, or replaced by a split or merge result). */
  remove(regionId: bigint): RegionStats | undefined {
    const old = this.#stats.get(regionId);
    if (old === undefined) return undefined;
    this.#unlink(old);
    this.#stats.delete(regionId);
    return old;
  }

  /** Stores that hold a peer of an indexed region, or did. */
  storeIds(): IterableIterator<bigint> {
    return this.#stores.keys();
  }

  /** Regions with a peer (voter or learner) on the store. */
  regionCount(storeId: bigint): number {
    return this.#stores.get(storeId)?.peers.size ?? 0;
  }

  /** Total weight of the regions with a peer on the store. */
  weight(storeId: bigint): number {
    return this.#stores.get(storeId)?.weight ?? 0;
  }

  /** Regions whose last heartbeat named a leader on the store. */
  leaderCount(storeId: bigint): number {
    return this.#stores.get(storeId)?.leaders.size ?? 0;
  }

  /** The regions with a peer on the store, for round-robin scans. */
  peerRegions(storeId: bigint): IndexedIdSet | undefined {
    return this.#stores.get(storeId)?.peers;
  }

  /** The regions led by the store, for round-robin scans. */
  leaderRegions(storeId: bigint): IndexedIdSet | undefined {
    return this.#stores.get(storeId)?.leaders;
  }

  #totals(storeId: bigint): StoreTotals {
    let t = this.#stores.get(storeId);
    if (t === undefined) {
      t = { peers: new IndexedIdSet(), leaders: new IndexedIdSet(), weight: 0, leaderWeight: 0 };
      this.#stores.set(storeId, t);
    }
    return t;
  }

  #link(s: RegionStats): void {
    for (const p of s.region.peers) {
      const t = this.#totals(p.storeId);
      if (t.peers.has(s.region.id)) continue; // two peers on one store count once
      t.peers.add(s.region.id);
      t.weight += s.weight;
    }
    if (s.leaderStoreId !== undefined) {
      const t = this.#totals(s.leaderStoreId);
      t.leaders.add(s.region.id);
      t.leaderWeight += s.weight;
    }
  }

  #unlink(s: RegionStats): void {
    for (const p of s.region.peers) {
      const t = this.#stores.get(p.storeId);
      if (t === undefined || !t.peers.has(s.region.id)) continue;
      t.peers.delete(s.region.id);
      t.weight -= s.weight;
    }
    if (s.leaderStoreId !== undefined) {
      const t = this.#stores.get(s.leaderStoreId);
      if (t !== undefined && t.leaders.has(s.region.id)) {
        t.leaders.delete(s.region.id);
        t.leaderWeight -= s.weight;
      }
    }
  }
}
