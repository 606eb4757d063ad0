import { writeJson, type JsonWritable } from "../json/write-json.js";
import type { PdConfig, RaftConfig, RegionConfig, StoreConfig } from "./model.js";

/**
 * Serialises a config back to `raft_config.json` text.
 *
 * Ids and epochs are written as exact JSON numbers (no float rounding), keys
 * in the order NoKV's Go `config.File` declares them, optional fields only
 * when set. `parseConfig(stringifyConfig(cfg))` gives back the same ids,
 * keys and addresses; an absent field that Go always writes (`pd.addr`, a
 * store's addresses) comes back as `""`, which every resolver treats alike.
 *
 * @param cfg - the config; it is not validated.
 * @param indent - spaces per level; `0` writes one compact line.
 * @returns the JSON text, without a trailing newline.
 */
export function stringifyConfig(cfg: RaftConfig, indent = 2): string {
  return writeJson(configToJson(cfg), indent);
}

/** The JSON form of the whole file. */
export function configToJson(cfg: RaftConfig): JsonWritable {
  return {
    max_retries: cfg.maxRetries,
    pd: cfg.pd === undefined ? undefined : pdToJson(cfg.pd),
    store_work_dir_template: nonEmpty(cfg.storeWorkDirTemplate),
    store_docker_work_dir_template: nonEmpty(cfg.storeDockerWorkDirTemplate),
    stores: cfg.stores.map(storeToJson),
    regions: cfg.regions.map(regionToJson),
  };
}

/**
 * The JSON form of the `pd` block, as Go's `json.Encoder` writes `config.PD`:
 * `addr` always, the rest only when non-empty; the HA lists come last so the
 * single-address output is unchanged.
 */
export function pdToJson(pd: PdConfig): JsonWritable {
  return {
    addr: pd.addr ?? "",
    docker_addr: nonEmpty(pd.dockerAddr),
    work_dir: nonEmpty(pd.workDir),
    docker_work_dir: nonEmpty(pd.dockerWorkDir),
    addrs: pd.addrs !== undefined && pd.addrs.length > 0 ? pd.addrs : undefined,
    docker_addrs: pd.dockerAddrs !== undefined && pd.dockerAddrs.length > 0 ? pd.dockerAddrs : undefined,
  };
}

/** The JSON form of one store, in Go's `config.Store` field order. */
export function storeToJson(store: StoreConfig): JsonWritable {
  return {
    store_id: store.storeId,
    addr: store.addr ?? "",
    listen_addr: store.listenAddr ?? "",
    docker_addr: store.dockerAddr ?? "",
    docker_listen_addr: store.dockerListenAddr ?? "",
    work_dir: nonEmpty(store.workDir),
    docker_work_dir: nonEmpty(store.dockerWorkDir),
  };
}

/** The JSON form of one region, in Go's `config.Region` field order. */
export function regionToJson(region: RegionConfig): JsonWritable {
  return {
    id: region.id,
    start_key: region.startKey,
    end_key: region.endKey,
    epoch: { version: region.epoch.version, conf_version: region.epoch.confVersion },
    peers: region.peers.map((peer) => ({ store_id: peer.storeId, peer_id: peer.peerId })),
    leader_store_id: region.leaderStoreId,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
