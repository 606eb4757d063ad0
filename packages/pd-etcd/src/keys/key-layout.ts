import { PdError } from "@nokv/pd-core";
import { MAX_UINT64 } from "@nokv/pd-model";

/** Root of every key PD writes to etcd. */
export const ETCD_KEY_ROOT = "/nokv/pd/";

const CLUSTER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const REGION_ID_DIGITS = 20; // 2^64 - 1 has 20 decimal digits
const REGION_ID_RE = /^[0-9]{20}$/;

/**
 * Where one PD cluster keeps its state in etcd. Everything lives under
 * `/nokv/pd/<cluster-id>/`, so several PD clusters can share one etcd:
 *
 * | key | value |
 * |---|---|
 * | `leader` | the elected member, JSON `{"name":…,"advertiseAddr":…}`; bound to the leader's lease |
 * | `alloc` | allocator ceilings, `{"id_current":N,"ts_current":M}` (PD_STATE.json's format, digits exact) |
 * | `region/<id>` | one region; `<id>` is 20 zero-padded decimal digits so keys sort by id |
 * | `catalog/commit` | token of the last catalog write: the compare-and-swap chain of region writes |
 * | `catalog/pending` | a region batch too large for one transaction, committed but not yet spread over `region/` keys |
 * | `members/<name>` | one registered member, `{"name":…,"advertiseAddr":…}`; bound to that member's own lease |
 * | `scheduling` | the scheduling configuration (max-replicas, store limits, paused schedulers), `SCHEDULING.json`'s format |
 */
export interface ClusterKeys {
  readonly clusterId: string;
  /** `/nokv/pd/<cluster-id>/`: every key of the cluster. */
  readonly prefix: string;
  readonly leader: string;
  readonly alloc: string;
  /** `/nokv/pd/<cluster-id>/region/`: every region key. */
  readonly regionPrefix: string;
  readonly catalogCommit: string;
  readonly catalogPending: string;
  /** `/nokv/pd/<cluster-id>/members/`: every member registration. */
  readonly memberPrefix: string;
  /** `/nokv/pd/<cluster-id>/scheduling`: the scheduling configuration, written fenced by the leader. */
  readonly scheduling: string;
  /** The key of region `id`. */
  region(id: bigint): string;
}

/**
 * The key layout of `clusterId`.
 *
 * @throws PdError `INVALID_ARGUMENT` unless the id is 1–128 characters of
 *   `[A-Za-z0-9._-]` starting with a letter or digit (no `/`: one cluster's
 *   prefix must never contain another's).
 */
export function clusterKeys(clusterId: string): ClusterKeys {
  if (!CLUSTER_ID_RE.test(clusterId)) {
    throw new PdError(
      "INVALID_ARGUMENT",
      `etcd cluster id ${JSON.stringify(clusterId)}: expected 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
  const prefix = `${ETCD_KEY_ROOT}${clusterId}/`;
  const regionPrefix = `${prefix}region/`;
  return {
    clusterId,
    prefix,
    leader: `${prefix}leader`,
    alloc: `${prefix}alloc`,
    regionPrefix,
    catalogCommit: `${prefix}catalog/commit`,
    catalogPending: `${prefix}catalog/pending`,
    memberPrefix: `${prefix}members/`,
    scheduling: `${prefix}scheduling`,
    region: (id) => regionPrefix + formatRegionId(id),
  };
}

/** `7n` → `00000000000000000007`. */
export function formatRegionId(id: bigint): string {
  if (id < 0n || id > MAX_UINT64) throw new PdError("INVALID_ARGUMENT", `region id ${id} is not a uint64`);
  return id.toString().padStart(REGION_ID_DIGITS, "0");
}

/**
 * The region id at the end of a region key.
 *
 * @throws PdError `STORAGE` naming the key when it is not 20 digits of a uint64.
 */
export function parseRegionKey(keys: ClusterKeys, key: string): bigint {
  const digits = key.startsWith(keys.regionPrefix) ? key.slice(keys.regionPrefix.length) : "";
  const id = REGION_ID_RE.test(digits) ? BigInt(digits) : undefined;
  if (id === undefined || id > MAX_UINT64) {
    throw new PdError("STORAGE", `etcd key ${key}: not a region key (want ${keys.regionPrefix}<20-digit uint64>)`);
  }
  return id;
}

/** The smallest key above every key that starts with `prefix` (etcd's `range_end` of a prefix scan). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i]!;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.of(0); // all 0xff: scan to the end of the keyspace
}
