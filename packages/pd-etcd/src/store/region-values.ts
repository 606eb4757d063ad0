import { PdError, type RegionEdit } from "@nokv/pd-core";
import { MAX_UINT64, type Region } from "@nokv/pd-model";
import { decodeEdits, encodeEdits } from "@nokv/pd-storage";
import type { IKeyValue, IRequestOp } from "etcd3";
import { deleteOp, putOp } from "../connection/txn.js";
import { type ClusterKeys, parseRegionKey } from "../keys/key-layout.js";

// A region key's value is the local-file backend's binary payload of a
// one-`put` batch (pd-storage's region codec): one encoding of a region for
// every backend, every uint64 exact.

/**
 * The last edit of each region, in the order of those last edits (etcd
 * refuses a key twice in one transaction).
 *
 * @throws PdError `INVALID_ARGUMENT` for a region id that is not a uint64.
 */
export function collapseEdits(edits: readonly RegionEdit[]): RegionEdit[] {
  const last = new Map<bigint, RegionEdit>();
  for (const e of edits) {
    const id = e.kind === "put" ? e.region.id : e.regionId;
    if (typeof id !== "bigint" || id < 0n || id > MAX_UINT64) {
      throw new PdError("INVALID_ARGUMENT", `region id ${String(id)} is not a uint64`);
    }
    last.delete(id);
    last.set(id, e);
  }
  return [...last.values()];
}

/** The transaction ops that apply `edits` to the region keys. */
export function editOps(keys: ClusterKeys, edits: readonly RegionEdit[]): IRequestOp[] {
  return edits.map((e) =>
    e.kind === "put" ? putOp(keys.region(e.region.id), encodeEdits([e])) : deleteOp(keys.region(e.regionId)),
  );
}

/**
 * A region key's value: the binary payload of a one-put batch whose id matches the key.
 *
 * @throws PdError `STORAGE` naming the key when the key or the value is malformed.
 */
export function decodeRegionValue(keys: ClusterKeys, kv: IKeyValue): Region {
  const key = kv.key.toString("utf8");
  const id = parseRegionKey(keys, key);
  const edits = decodeEdits(kv.value, `etcd key ${key}`);
  const only = edits[0];
  if (edits.length !== 1 || only === undefined || only.kind !== "put") {
    throw new PdError("STORAGE", `etcd key ${key}: malformed value: expected one region, got ${edits.length} edit(s)`);
  }
  if (only.region.id !== id) {
    throw new PdError("STORAGE", `etcd key ${key}: malformed value: holds region ${only.region.id}`);
  }
  return only.region;
}
