import { compareKeys, formatKey, keysEqual } from "./keys.js";

/** A region's epoch: `version` grows on split/merge, `confVersion` on membership change. PD compares each on its own. */
export interface RegionEpoch {
  readonly version: bigint;
  readonly confVersion: bigint;
}

/** One replica of a region: the store holding it and the peer's own id. */
export interface RegionPeer {
  readonly storeId: bigint;
  readonly peerId: bigint;
}

/**
 * A region: the key range `[startKey, endKey)` (an empty `startKey` is
 * -infinity, an empty `endKey` +infinity), its epoch and its peers. Treated
 * as immutable once built (regions are shared by catalogs and caches).
 */
export interface Region {
  readonly id: bigint;
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
  readonly epoch: RegionEpoch;
  readonly peers: readonly RegionPeer[];
}

/** `{v:1 c:2}`: the notation used in error messages. */
export function formatEpoch(e: RegionEpoch): string {
  return `{v:${e.version} c:${e.confVersion}}`;
}

/** `["a", "m")`: the notation used in error messages; `+inf` for an empty end. */
export function formatRange(r: Pick<Region, "startKey" | "endKey">): string {
  return `[${formatKey(r.startKey)}, ${r.endKey.length === 0 ? "+inf" : formatKey(r.endKey)})`;
}

/**
 * The largest id a region uses: its own id or one of its peers'. PD hands
 * out region and peer ids from one allocator, so the allocator must stay
 * above every id in the catalog.
 */
export function largestIdIn(r: Region): bigint {
  let top = r.id;
  for (const p of r.peers) if (p.peerId > top) top = p.peerId;
  return top;
}

/** True when both regions have the same id, range, epoch and peers (in order). */
export function regionsEqual(a: Region, b: Region): boolean {
  if (
    a.id !== b.id ||
    a.epoch.version !== b.epoch.version ||
    a.epoch.confVersion !== b.epoch.confVersion ||
    a.peers.length !== b.peers.length ||
    !keysEqual(a.startKey, b.startKey) ||
    !keysEqual(a.endKey, b.endKey)
  ) {
    return false;
  }
  for (let i = 0; i < a.peers.length; i++) {
    const p = a.peers[i]!;
    const q = b.peers[i]!;
    if (p.storeId !== q.storeId || p.peerId !== q.peerId) return false;
  }
  return true;
}

/** True when `key` lies in `[startKey, endKey)` of the region. */
export function regionContains(r: Pick<Region, "startKey" | "endKey">, key: Uint8Array): boolean {
  return compareKeys(r.startKey, key) <= 0 && (r.endKey.length === 0 || compareKeys(key, r.endKey) < 0);
}

/** True when the two ranges share at least one key. */
export function rangesOverlap(a: Pick<Region, "startKey" | "endKey">, b: Pick<Region, "startKey" | "endKey">): boolean {
  const aBeforeB = a.endKey.length > 0 && compareKeys(a.endKey, b.startKey) <= 0;
  const bBeforeA = b.endKey.length > 0 && compareKeys(b.endKey, a.startKey) <= 0;
  return !aBeforeB && !bBeforeA;
}

/**
 * A copy whose key buffers belong to the region alone: for keeping a region
 * that was decoded from a message (whose buffers the transport may reuse)
 * or handed in by a caller who may change them.
 */
export function cloneRegion(r: Region): Region {
  return {
    id: r.id,
    startKey: Uint8Array.from(r.startKey),
    endKey: Uint8Array.from(r.endKey),
    epoch: { version: r.epoch.version, confVersion: r.epoch.confVersion },
    peers: r.peers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
  };
}
