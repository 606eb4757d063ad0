import { compareKeys, formatRange, MAX_UINT64, type Region } from "@nokv/pd-model";
import { PdError } from "../errors.js";

// The region types and pure helpers live in @nokv/pd-model; the rules that
// refuse a region (and say why) live here, beside the catalog that applies them.

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
