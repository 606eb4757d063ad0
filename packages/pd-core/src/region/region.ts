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
 * non-zero store and peer ids, no store or peer twice.
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
  const stores = new Set<bigint>();
  const peers = new Set<bigint>();
  for (const p of r.peers) {
    checkUint64(`region ${r.id}: peer store id`, p.storeId);
    checkUint64(`region ${r.id}: peer id`, p.peerId);
    if (p.storeId === 0n || p.peerId === 0n) {
      throw new PdError("INVALID_ARGUMENT", `region ${r.id}: peer {store:${p.storeId} peer:${p.peerId}} needs non-zero ids`);
    }
    if (stores.has(p.storeId)) throw new PdError("INVALID_ARGUMENT", `region ${r.id}: store ${p.storeId} holds two peers`);
    if (peers.has(p.peerId)) throw new PdError("INVALID_ARGUMENT", `region ${r.id}: peer ${p.peerId} listed twice`);
    stores.add(p.storeId);
    peers.add(p.peerId);
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
