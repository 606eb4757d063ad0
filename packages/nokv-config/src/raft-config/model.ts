/**
 * The PD-lite endpoints and work directories, per scope.
 *
 * `host` values are used by processes on the machine; `docker_*` values
 * inside the compose network, falling back to the host values when absent.
 * `addrs` / `dockerAddrs` list several PD members for a highly available
 * deployment; when absent the single `addr` / `dockerAddr` is the list.
 */
export interface PdConfig {
  /** Host-scope PD address, `host:port` (JSON `addr`). */
  readonly addr?: string;
  /** Docker-scope PD address (JSON `docker_addr`). */
  readonly dockerAddr?: string;
  /** Host-scope PD work directory (JSON `work_dir`). */
  readonly workDir?: string;
  /** Docker-scope PD work directory (JSON `docker_work_dir`). */
  readonly dockerWorkDir?: string;
  /** All host-scope PD members (JSON `addrs`); must include `addr` when both are set. */
  readonly addrs?: readonly string[];
  /** All docker-scope PD members (JSON `docker_addrs`); must include `dockerAddr` when both are set. */
  readonly dockerAddrs?: readonly string[];
}

/** One store (a NoKV `serve` process), mirroring NoKV's Go `config.Store`. */
export interface StoreConfig {
  /** Store id, uint64, > 0 and unique (JSON `store_id`). */
  readonly storeId: bigint;
  /** Address other processes dial on the host (JSON `addr`). */
  readonly addr?: string;
  /** Address the store binds on the host; defaults to `addr` (JSON `listen_addr`). */
  readonly listenAddr?: string;
  /** Address other containers dial (JSON `docker_addr`). */
  readonly dockerAddr?: string;
  /** Address the store binds inside its container (JSON `docker_listen_addr`). */
  readonly dockerListenAddr?: string;
  /** Explicit host work directory; wins over the template (JSON `work_dir`). */
  readonly workDir?: string;
  /** Explicit docker work directory; wins over the templates (JSON `docker_work_dir`). */
  readonly dockerWorkDir?: string;
}

/** A region's epoch; both counters are uint64. */
export interface RegionEpoch {
  /** Bumped on split/merge (JSON `version`). */
  readonly version: bigint;
  /** Bumped on membership change (JSON `conf_version`). */
  readonly confVersion: bigint;
}

/** One replica of a region. Both ids are uint64 and non-zero once validated. */
export interface PeerConfig {
  /** Store hosting the replica (JSON `store_id`). */
  readonly storeId: bigint;
  /** Raft peer id, unique across the config (JSON `peer_id`). */
  readonly peerId: bigint;
}

/**
 * Bootstrap metadata for one region: the key range `[startKey, endKey)` and
 * its replicas. Keys are the JSON strings as written; their bytes are the
 * UTF-8 encoding. An empty `startKey` / `endKey` means unbounded.
 */
export interface RegionConfig {
  /** Region id, uint64, > 0 and unique (JSON `id`). */
  readonly id: bigint;
  /** Inclusive start key; `""` is the start of the key space (JSON `start_key`). */
  readonly startKey: string;
  /** Exclusive end key; `""` is the end of the key space (JSON `end_key`). */
  readonly endKey: string;
  /** The region's epoch (JSON `epoch`); `{0n, 0n}` when absent. */
  readonly epoch: RegionEpoch;
  /** Replicas (JSON `peers`). */
  readonly peers: readonly PeerConfig[];
  /** Store expected to lead the region, or `0n` for no hint (JSON `leader_store_id`). */
  readonly leaderStoreId: bigint;
}

/**
 * The whole `raft_config.json`: the topology shared by NoKV's shell
 * scripts, the stores, the gateways and PD.
 *
 * Absent optional strings are `undefined`; the parser keeps an explicit `""`
 * as `""` and the resolvers treat blank values as absent.
 */
export interface RaftConfig {
  /** Client retry budget, a non-negative integer (JSON `max_retries`); `0` when absent. */
  readonly maxRetries: number;
  /** PD-lite endpoints (JSON `pd`); optional. */
  readonly pd?: PdConfig;
  /** Host work-dir template for stores, containing `{id}` (JSON `store_work_dir_template`). */
  readonly storeWorkDirTemplate?: string;
  /** Docker work-dir template for stores, containing `{id}` (JSON `store_docker_work_dir_template`). */
  readonly storeDockerWorkDirTemplate?: string;
  /** The stores (JSON `stores`); `[]` when absent. */
  readonly stores: readonly StoreConfig[];
  /** Bootstrap regions (JSON `regions`); `[]` when absent. */
  readonly regions: readonly RegionConfig[];
}
