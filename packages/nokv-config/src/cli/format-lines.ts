import type { RaftConfig, RegionConfig, StoreConfig } from "../raft-config/model.js";
import { resolveStoreWorkDir } from "../scope/resolve.js";

/** The placeholder the simple formats print for an empty value. */
export const EMPTY = "-";

/**
 * A key as the simple format prints it, exactly like NoKV's Go tool: `-`
 * when empty, the key itself when every character is printable ASCII
 * (0x20–0x7e), else `hex:` and the lowercase hex of its UTF-8 bytes.
 */
export function formatKey(key: string): string {
  if (key === "") return EMPTY;
  if (/^[\x20-\x7e]*$/.test(key)) return key;
  return `hex:${Buffer.from(key, "utf8").toString("hex")}`;
}

/**
 * One `stores --format simple` line:
 * `id listen addr docker_listen docker_addr host_workdir docker_workdir`.
 *
 * Listen addresses fall back to the advertised address, docker values to
 * the host values, work dirs come from `resolveStoreWorkDir`; anything still
 * empty prints as `-` so `read -r` in a shell script keeps its columns.
 */
export function formatStoreLine(cfg: RaftConfig, store: StoreConfig): string {
  return [
    store.storeId.toString(),
    firstNonEmpty(store.listenAddr, store.addr),
    firstNonEmpty(store.addr),
    firstNonEmpty(store.dockerListenAddr, store.listenAddr, store.addr),
    firstNonEmpty(store.dockerAddr, store.addr),
    firstNonEmpty(resolveStoreWorkDir(cfg, store.storeId, "host")),
    firstNonEmpty(resolveStoreWorkDir(cfg, store.storeId, "docker")),
  ].join(" ");
}

/**
 * One `regions --format simple` line:
 * `id start end version conf_version store:peer,... leader`, keys through
 * {@link formatKey}, `-` for a region without peers.
 */
export function formatRegionLine(region: RegionConfig): string {
  const peers = region.peers.map((p) => `${p.storeId}:${p.peerId}`).join(",");
  return [
    region.id.toString(),
    formatKey(region.startKey),
    formatKey(region.endKey),
    region.epoch.version.toString(),
    region.epoch.confVersion.toString(),
    peers === "" ? EMPTY : peers,
    region.leaderStoreId.toString(),
  ].join(" ");
}

function firstNonEmpty(...values: (string | undefined)[]): string {
  for (const value of values) {
    const trimmed = value?.trim();
    if (trimmed !== undefined && trimmed !== "") return trimmed;
  }
  return EMPTY;
}
