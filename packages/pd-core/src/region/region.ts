import { PdError } from "../errors.js";
import { compareKeys, formatKey, keysEqual } from "./keys.js";

/** Largest value a uint64 can hold. */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** A region's epoch: `version` grows on split/merge, `confVersion` on membership change. */
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
 * A region: the key range `[startKey, endKey)` (an empty `endKey` is
 * unbounded), its epoch and its peers. Treated as immutable once built.
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

function checkUint64(what: string, v: bigint): void {
  if (v < 0n || v > MAX_UINT64) throw new PdError("INVALID_ARGUMENT", `${what} ${v} is not a uint64`);
}

/**
 * Checks that a region is well formed: non-zero id, uint64 fields, a
 * non-empty range (`endKey` empty or `startKey < endKey`), and peers with
 * non-zero store and peer ids.
 *
 * Nothing else about the peers is checked: a heartbeat is the store's raft
 * group telling the truth, and NoKV's stores can report two peers on one
 * store (their conf change dedups by peer id only). Refusing it would keep
 * the region's stale epoch in the catalog forever. Such a region is accepted
 * and flagged by {@link hasDuplicatePeers} instead.
 *
 * @throws PdError `INVALID_ARGUMENT` naming the region and the defect.
 */
export function validateRegion(r: Region): void {
  checkUint64("region id", r.id);
  if (r.id === 0n) throw new PdError("INVALID_ARGUMENT", "region id must be non-zero");
  checkUint64(`region ${r.id}: epoch version`, r.epoch.version);
  checkUint64(`region ${r.id}: epoch conf version`, r.epoch.confVersion);
  if (r.endKey.length > 0 && compareKeys(r.startKey, r.endKey) >= 0) {
    throw new PdError("INVALID_ARGUMENT", `region ${r.id}: start key must be below end key, got ${formatRange(r)}`);
  }
  for (const p of r.peers) {
    checkUint64(`region ${r.id}: peer store id`, p.storeId);
    checkUint64(`region ${r.id}: peer id`, p.peerId);
    if (p.storeId === 0n || p.peerId === 0n) {
      throw new PdError("INVALID_ARGUMENT", `region ${r.id}: peer {store:${p.storeId} peer:${p.peerId}} needs non-zero ids`);
    }
  }
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

/** Above this many peers, {@link hasDuplicatePeers} uses sets instead of comparing every pair. */
const PAIRWISE_PEERS_MAX = 16;

/**
 * True when the region's peers are not one per store with distinct peer ids:
 * a store holds two of them (including the same peer listed twice), or one
 * peer id is listed on two stores. PD stores such a region as reported but
 * plans no operator on it: a hint naming a store or a peer id would be
 * ambiguous. Pure; O(peers).
 */
export function hasDuplicatePeers(r: Pick<Region, "peers">): boolean {
  const peers = r.peers;
  // Regions have a handful of peers and the planner asks for every candidate:
  // comparing pairs allocates nothing. Sets keep a huge (hostile) list linear.
  if (peers.length <= PAIRWISE_PEERS_MAX) {
    for (let i = 1; i < peers.length; i++) {
      const p = peers[i]!;
      for (let j = 0; j < i; j++) {
        const q = peers[j]!;
        if (p.storeId === q.storeId || p.peerId === q.peerId) return true;
      }
    }
    return false;
  }
  const stores = new Set<bigint>();
  const ids = new Set<bigint>();
  for (const p of peers) {
    if (stores.has(p.storeId) || ids.has(p.peerId)) return true;
    stores.add(p.storeId);
    ids.add(p.peerId);
  }
  return false;
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
export function rangesOverlap(
  a: Pick<Region, "startKey" | "endKey">,
  b: Pick<Region, "startKey" | "endKey">,
): boolean {
  const aBeforeB = a.endKey.length > 0 && compareKeys(a.endKey, b.startKey) <= 0;
  const bBeforeA = b.endKey.length > 0 && compareKeys(b.endKey, a.startKey) <= 0;
  return !aBeforeB && !bBeforeA;
}

/**
 * A defensive copy whose key buffers belong to the region alone, so a caller
 * reusing its buffers (as grpc-js decoders may) cannot change the catalog.
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
