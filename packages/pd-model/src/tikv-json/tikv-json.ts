import type { PdMember, PdMembers } from "../member/member.js";
import { toHex } from "../region/keys.js";
import type { Region } from "../region/region.js";
import type { StoreLiveness, StoreStatus } from "../store/store.js";
import { type OperatorInfo, type OperatorState, operatorFinishedAtMs } from "../schedule/operator-info.js";
import { parseUint64 } from "../uint64/uint64.js";
import { type SchedulingConfig, storeLimitOf } from "../schedule/scheduling-config.js";

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

/** TiKV's names of operator states (`OpStatus` strings). */
const OPERATOR_STATE_NAMES: Readonly<Record<OperatorState, string>> = {
  created: "Created",
  running: "Started",
  success: "Success",
  timeout: "Timeout",
  cancelled: "Canceled",
  replaced: "Replaced",
  unknown: "Unknown",
};

const OPERATOR_STATES_BY_NAME: ReadonlyMap<string, OperatorState> = new Map(
  (Object.entries(OPERATOR_STATE_NAMES) as Array<[OperatorState, string]>).map(([state, name]) => [name, state]),
);

/** TiKV's operator kind flag of an operator kind: `leader`, `region` or `replica`. */
export function tikvOperatorKind(kind: string): string {
  if (kind === "balance-leader") return "leader";
  if (kind === "balance-region") return "region";
  return "replica";
}

/** One step of an operator in {@link TikvOperatorJson}: what it does, and whether it took effect. */
export interface TikvOperatorStepJson {
  readonly desc: string;
  readonly done: boolean;
}

/**
 * An operator as PD's status API and `pd-cli operators --format json` give
 * it, one shape everywhere (`/operators?object=1`, `/operators/records?object=1`,
 * `/operators/{region_id}?object=1`, the status page). TiKV's
 * `/operators?object=1` fields first — `desc` (the operator's kind, e.g.
 * `balance-region`), `brief` (its steps in one line), `region_id`,
 * `region_epoch`, `kind` (TiKV's flag: `leader`, `region` or `replica`),
 * `status` (TiKV's names: `Created`, `Started`, `Success`, `Timeout`,
 * `Canceled`, `Replaced`) — then PD-lite's: `id`, `priority`, `steps` (each
 * with `done`), `current_step` (= steps done), `created_at_ms`,
 * `finished_at_ms` (only once it ended), `age_ms` (to now, or to its end)
 * and `reason` (why it did not succeed). Every uint64 is a decimal string.
 */
export interface TikvOperatorJson {
  readonly desc: string;
  readonly brief: string;
  readonly region_id: string;
  readonly region_epoch: { readonly conf_ver: string; readonly version: string };
  readonly kind: string;
  readonly status: string;
  readonly id: string;
  readonly priority: string;
  readonly steps: readonly TikvOperatorStepJson[];
  readonly current_step: number;
  readonly created_at_ms: string;
  readonly finished_at_ms?: string;
  readonly age_ms: string;
  readonly reason: string;
}

/** Encodes an operator as {@link TikvOperatorJson}. */
export function operatorToTikvJson(op: OperatorInfo): TikvOperatorJson {
  const finished = operatorFinishedAtMs(op);
  return {
    desc: op.kind,
    brief: op.steps.join(", "),
    region_id: op.regionId.toString(),
    region_epoch: { conf_ver: op.regionEpoch.confVersion.toString(), version: op.regionEpoch.version.toString() },
    kind: tikvOperatorKind(op.kind),
    status: OPERATOR_STATE_NAMES[op.state],
    id: op.id.toString(),
    priority: op.priority,
    steps: op.steps.map((desc, i) => ({ desc, done: i < op.currentStep })),
    current_step: op.currentStep,
    created_at_ms: op.createdAtMs.toString(),
    ...(finished !== undefined && { finished_at_ms: finished.toString() }),
    age_ms: op.ageMs.toString(),
    reason: op.reason,
  };
}

/**
 * Decodes {@link TikvOperatorJson} (as `JSON.parse` leaves it: every uint64
 * still a string, parsed digit for digit). A status it does not know
 * becomes `unknown`; a field that is missing or malformed (a newer or a
 * broken server) makes it throw.
 *
 * @throws TypeError naming the field.
 */
export function operatorFromTikvJson(json: TikvOperatorJson): OperatorInfo {
  const u64 = (name: string, v: unknown): bigint => {
    const n = typeof v === "string" ? parseUint64(v) : undefined;
    if (n === undefined) throw new TypeError(`operator JSON: ${name} must be a decimal uint64 string, got ${JSON.stringify(v)}`);
    return n;
  };
  const text = (name: string, v: unknown): string => {
    if (typeof v !== "string") throw new TypeError(`operator JSON: ${name} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  if (!Array.isArray(json.steps)) throw new TypeError("operator JSON: steps must be an array");
  const current = json.current_step;
  if (!Number.isInteger(current) || current < 0 || current > json.steps.length) {
    throw new TypeError(`operator JSON: current_step must be an integer in [0, ${json.steps.length}], got ${JSON.stringify(current)}`);
  }
  return {
    id: u64("id", json.id),
    regionId: u64("region_id", json.region_id),
    kind: text("desc", json.desc),
    priority: text("priority", json.priority),
    state: OPERATOR_STATES_BY_NAME.get(text("status", json.status)) ?? "unknown",
    steps: json.steps.map((s, i) => text(`steps[${i}].desc`, s?.desc)),
    currentStep: current,
    regionEpoch: { confVersion: u64("region_epoch.conf_ver", json.region_epoch?.conf_ver), version: u64("region_epoch.version", json.region_epoch?.version) },
    createdAtMs: u64("created_at_ms", json.created_at_ms),
    ageMs: u64("age_ms", json.age_ms),
    reason: text("reason", json.reason),
  };
}

/**
 * An operator as one line, in the spirit of TiKV's `/operators` strings:
 * `balance-region {add learner 9 on store 4, …} (kind:region, region:5(1, 3), createAt:…, currentStep:1, status:Started)`.
 */
export function operatorToTikvString(op: OperatorInfo): string {
  const e = op.regionEpoch;
  const why = op.reason === "" ? "" : `, reason:${op.reason}`;
  return (
    `${op.kind} {${op.steps.join(", ")}} (kind:${tikvOperatorKind(op.kind)}, region:${op.regionId}(${e.version}, ${e.confVersion}), ` +
    `createAt:${new Date(Number(op.createdAtMs)).toISOString()}, currentStep:${op.currentStep}, status:${OPERATOR_STATE_NAMES[op.state]}${why})`
  );
}

/** TiKV's `/config/replicate` shape (the part PD-lite has). */
export interface TikvReplicationConfigJson {
  readonly "max-replicas": number;
}

/** TiKV's `/stores/limit` shape: `{"<store id>": {"add-peer": N, "remove-peer": M}}`. */
export type TikvStoreLimitsJson = Readonly<Record<string, { readonly "add-peer": number; readonly "remove-peer": number }>>;

/** TiKV's `/config/schedule` shape (the part PD-lite has). */
export interface TikvScheduleConfigJson {
  readonly "max-store-down-time": string;
  readonly "leader-schedule-limit": number;
  readonly "store-limit": TikvStoreLimitsJson;
  readonly "default-store-limit": { readonly "add-peer": number; readonly "remove-peer": number };
  readonly "paused-schedulers": readonly string[];
}

/** A duration as Go prints it: `30m0s`, `1h0m0s`, `20s`, `1.5s`. */
export function formatGoDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** The store limits in force for the given stores, in TiKV's `/stores/limit` shape. */
export function storeLimitsToTikvJson(config: SchedulingConfig, storeIds: readonly bigint[]): TikvStoreLimitsJson {
  const out: Record<string, { "add-peer": number; "remove-peer": number }> = {};
  const ids = new Set(storeIds);
  for (const o of config.storeLimits) ids.add(o.storeId);
  for (const id of [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const l = storeLimitOf(config, id);
    out[id.toString()] = { "add-peer": l.addPeerPerMin, "remove-peer": l.removePeerPerMin };
  }
  return out;
}

/**
 * The scheduling configuration in TiKV's `/config` shape: `{schedule: {…},
 * replication: {…}}`. `maxStoreDownTimeMs` and `leaderScheduleLimit` are the
 * server's start-up settings (`--store-down-after-ms`, `--max-transfers-per-store`).
 */
export function schedulingConfigToTikvJson(
  config: SchedulingConfig,
  server: { readonly maxStoreDownTimeMs: number; readonly leaderScheduleLimit: number },
): { readonly schedule: TikvScheduleConfigJson; readonly replication: TikvReplicationConfigJson } {
  const d = config.defaultStoreLimit;
  return {
    schedule: {
      "max-store-down-time": formatGoDuration(server.maxStoreDownTimeMs),
      "leader-schedule-limit": server.leaderScheduleLimit,
      "store-limit": storeLimitsToTikvJson(config, []),
      "default-store-limit": { "add-peer": d.addPeerPerMin, "remove-peer": d.removePeerPerMin },
      "paused-schedulers": config.pausedSchedulers,
    },
    replication: { "max-replicas": config.maxReplicas },
  };
}
