import type { PdMember, PdMembers } from "../member/member.js";
import { toHex } from "../region/keys.js";
import type { Region } from "../region/region.js";
import type { StoreLiveness, StoreStatus } from "../store/store.js";

// PD's JSON shapes, modelled on TiKV PD's `/pd/api/v1`, shared by the status
// server's API and `pd-cli … --format json`. Every uint64 is a decimal
// string (JSON numbers cannot hold them exactly); keys are upper-case hex,
// as TiKV's API prints them, "" for the empty key.

/** A key as TiKV's API prints it: upper-case hex of its bytes; `""` for the empty key. */
export function keyToTikvHex(key: Uint8Array): string {
  return toHex(key).toUpperCase();
}

/** TiKV's `state_name` of a store, by liveness. */
export const STORE_STATE_NAMES: Readonly<Record<StoreLiveness, string>> = {
  up: "Up",
  disconnected: "Disconnected",
  down: "Down",
  unknown: "Unknown",
};

/** One entry of TiKV's `/stores`: `{store: {id, state_name}, status: {…}}`. */
export interface TikvStoreJson {
  readonly store: { readonly id: string; readonly state_name: string };
  readonly status: {
    readonly capacity: string;
    readonly available: string;
    readonly leader_count: string;
    readonly region_count: string;
    readonly last_heartbeat_ts: string;
    readonly last_heartbeat_ms: string;
  };
}

/** TiKV's `/region` answer: `{id, start_key, end_key, epoch: {conf_ver, version}, peers: [{id, store_id}]}`. */
export interface TikvRegionJson {
  readonly id: string;
  readonly start_key: string;
  readonly end_key: string;
  readonly epoch: { readonly conf_ver: string; readonly version: string };
  readonly peers: ReadonlyArray<{ readonly id: string; readonly store_id: string }>;
}

/** A PD member as TiKV's `/members` lists it: `{name, client_urls, is_leader}`. */
export interface TikvMemberJson {
  readonly name: string;
  readonly client_urls: readonly string[];
  readonly is_leader: boolean;
}

/** A page of regions: `{count, regions, has_more, next_start_key?}` (the key where the next page starts, hex). */
export interface TikvRegionPageJson {
  readonly count: number;
  readonly regions: readonly TikvRegionJson[];
  readonly has_more: boolean;
  readonly next_start_key?: string;
}

/** A store in TiKV's `/stores` entry shape. */
export function storeToTikvJson(s: StoreStatus): TikvStoreJson {
  return {
    store: { id: s.storeId.toString(), state_name: STORE_STATE_NAMES[s.liveness] },
    status: {
      capacity: s.capacity.toString(),
      available: s.available.toString(),
      leader_count: s.leaderNum.toString(),
      region_count: s.regionNum.toString(),
      // A wall-clock reading for people: ms since 1970 fit a double exactly for millennia.
      last_heartbeat_ts: new Date(Number(s.lastHeartbeatMs)).toISOString(),
      last_heartbeat_ms: s.lastHeartbeatMs.toString(),
    },
  };
}

/** A region in TiKV's `/region` shape. */
export function regionToTikvJson(r: Region): TikvRegionJson {
  return {
    id: r.id.toString(),
    start_key: keyToTikvHex(r.startKey),
    end_key: keyToTikvHex(r.endKey),
    epoch: { conf_ver: r.epoch.confVersion.toString(), version: r.epoch.version.toString() },
    peers: r.peers.map((p) => ({ id: p.peerId.toString(), store_id: p.storeId.toString() })),
  };
}

/** A member in TiKV's `/members` entry shape. */
export function memberToTikvJson(m: PdMember): TikvMemberJson {
  return { name: m.name, client_urls: [m.advertiseAddr], is_leader: m.isLeader };
}

/** The members and the leader: `{members: [...], leader: {...} | null}`. */
export function membersToTikvJson(m: PdMembers): { readonly members: readonly TikvMemberJson[]; readonly leader: TikvMemberJson | null } {
  return { members: m.members.map(memberToTikvJson), leader: m.leader === undefined ? null : memberToTikvJson(m.leader) };
}

/** The stores: `{count, stores: [...]}`. */
export function storesToTikvJson(stores: readonly StoreStatus[]): { readonly count: number; readonly stores: readonly TikvStoreJson[] } {
  return { count: stores.length, stores: stores.map(storeToTikvJson) };
}

/** A page of a region listing (see {@link TikvRegionPageJson}). */
export function regionPageToTikvJson(page: { readonly regions: readonly Region[]; readonly nextStartKey: Uint8Array | undefined }): TikvRegionPageJson {
  const regions = page.regions.map(regionToTikvJson);
  const more = page.nextStartKey !== undefined;
  return { count: regions.length, regions, has_more: more, ...(more && { next_start_key: keyToTikvHex(page.nextStartKey) }) };
}

/** `JSON.stringify` with every bigint written as its decimal string. */
export function stringifyJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), space);
}
