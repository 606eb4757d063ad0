import { ConfigError } from "../config-error.js";
import type { PdConfig, RaftConfig, RegionConfig } from "./model.js";

/**
 * Checks the invariants that parsing alone cannot: every id is set and
 * unique, every reference points at something that exists.
 *
 * In order, the first failure wins:
 * - `store_work_dir_template` / `store_docker_work_dir_template`, when set,
 *   contain `{id}`;
 * - `pd.addrs` / `pd.docker_addrs` hold no blank or duplicate entry and
 *   include `addr` / `docker_addr` when both are set;
 * - each `store_id` is > 0 and unique;
 * - each region id is > 0 and unique, and a bounded range has
 *   `start_key < end_key` (compared as UTF-8 bytes);
 * - each peer has a non-zero `store_id` and `peer_id`, references a known
 *   store, no two peers of a region share a store, and no peer id is used
 *   twice in the file;
 * - a non-zero `leader_store_id` is a known store and one of the region's
 *   peers;
 * - no two regions' key ranges overlap.
 *
 * @throws {@link ConfigError} `INVALID_CONFIG`, the message naming the
 *   entity, e.g. `config: region 2: peer 5 references unknown store 9`.
 */
export function validateConfig(cfg: RaftConfig): void {
  checkTemplate("store_work_dir_template", cfg.storeWorkDirTemplate);
  checkTemplate("store_docker_work_dir_template", cfg.storeDockerWorkDirTemplate);
  if (cfg.pd !== undefined) checkPd(cfg.pd);

  const storeIndex = new Map<bigint, number>();
  cfg.stores.forEach((store, i) => {
    if (store.storeId === 0n) invalid(`stores[${i}]: store_id must be > 0`);
    const seen = storeIndex.get(store.storeId);
    if (seen !== undefined) invalid(`store ${store.storeId}: duplicate store_id (stores[${seen}] and stores[${i}])`);
    storeIndex.set(store.storeId, i);
  });

  const regionIndex = new Map<bigint, number>();
  const peerOwner = new Map<bigint, bigint>();
  cfg.regions.forEach((region, i) => {
    if (region.id === 0n) invalid(`regions[${i}]: region id must be > 0`);
    const seen = regionIndex.get(region.id);
    if (seen !== undefined) invalid(`region ${region.id}: duplicate region id (regions[${seen}] and regions[${i}])`);
    regionIndex.set(region.id, i);
    if (region.endKey !== "" && compareKeys(region.startKey, region.endKey) >= 0) {
      invalid(`region ${region.id}: start_key ${JSON.stringify(region.startKey)} must be < end_key ${JSON.stringify(region.endKey)}`);
    }

    const peerStores = new Set<bigint>();
    region.peers.forEach((peer, j) => {
      if (peer.peerId === 0n) invalid(`region ${region.id}: peers[${j}]: peer_id must be > 0`);
      if (peer.storeId === 0n) invalid(`region ${region.id}: peer ${peer.peerId}: store_id must be > 0`);
      if (!storeIndex.has(peer.storeId)) {
        invalid(`region ${region.id}: peer ${peer.peerId} references unknown store ${peer.storeId}`);
      }
      if (peerStores.has(peer.storeId)) {
        invalid(`region ${region.id}: peer ${peer.peerId}: store ${peer.storeId} already hosts a peer of this region`);
      }
      peerStores.add(peer.storeId);
      const owner = peerOwner.get(peer.peerId);
      if (owner !== undefined) {
        invalid(
          owner === region.id
            ? `region ${region.id}: duplicate peer id ${peer.peerId}`
            : `region ${region.id}: peer ${peer.peerId} is already used by region ${owner}`,
        );
      }
      peerOwner.set(peer.peerId, region.id);
    });

    if (region.leaderStoreId !== 0n) {
      if (!storeIndex.has(region.leaderStoreId)) {
        invalid(`region ${region.id}: leader store ${region.leaderStoreId} missing from stores`);
      }
      if (!peerStores.has(region.leaderStoreId)) {
        invalid(`region ${region.id}: leader store ${region.leaderStoreId} hosts no peer of this region`);
      }
    }
  });

  checkOverlaps(cfg.regions);
}

function checkTemplate(name: string, template: string | undefined): void {
  const value = template?.trim() ?? "";
  if (value !== "" && !value.includes("{id}")) invalid(`${name} must contain {id}`);
}

function checkPd(pd: PdConfig): void {
  checkAddrList("addrs", "addr", pd.addrs, pd.addr);
  checkAddrList("docker_addrs", "docker_addr", pd.dockerAddrs, pd.dockerAddr);
}

function checkAddrList(listName: string, singleName: string, list: readonly string[] | undefined, single: string | undefined): void {
  if (list === undefined) return;
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const addr = raw.trim();
    if (addr === "") invalid(`pd: ${listName}[${i}] is empty`);
    if (seen.has(addr)) invalid(`pd: duplicate address ${JSON.stringify(addr)} in ${listName}`);
    seen.add(addr);
  });
  const primary = single?.trim() ?? "";
  if (primary !== "" && seen.size > 0 && !seen.has(primary)) {
    invalid(`pd: ${singleName} ${JSON.stringify(primary)} is not listed in ${listName}`);
  }
}

function checkOverlaps(regions: readonly RegionConfig[]): void {
  const sorted = [...regions].sort((a, b) => compareKeys(a.startKey, b.startKey));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const next = sorted[i];
    if (prev === undefined || next === undefined) continue;
    // An empty end key is +infinity, so it overlaps anything sorted after it.
    if (prev.endKey === "" || compareKeys(next.startKey, prev.endKey) < 0) {
      invalid(`region ${next.id}: range ${describeRange(next)} overlaps region ${prev.id} ${describeRange(prev)}`);
    }
  }
}

function describeRange(region: RegionConfig): string {
  const start = region.startKey === "" ? "-inf" : JSON.stringify(region.startKey);
  const end = region.endKey === "" ? "+inf" : JSON.stringify(region.endKey);
  return `[${start}, ${end})`;
}

// Keys order by their bytes, as the stores compare them; UTF-16 string
// comparison disagrees with UTF-8 byte order above U+FFFF.
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function invalid(problem: string): never {
  throw new ConfigError("INVALID_CONFIG", `config: ${problem}`);
}
