import { readFile } from "node:fs/promises";
import { type AllocatorState, PdError, validateRegion } from "@nokv/pd-core";
import { MAX_UINT64, type Region } from "@nokv/pd-model";
import { parse } from "lossless-json";

/** The allocator checkpoint file in a workdir (the Go PD's name and format). */
export const STATE_FILE = "PD_STATE.json";

/** A JSON number kept as its source digits, so no uint64 passes through a JS number. */
class RawNumber {
  constructor(readonly digits: string) {}
}

type Json = RawNumber | string | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Which of the Go PD's shapes a `PD_STATE.json` held. */
export type PdStateShape =
  /** `{"id_current":…,"ts_current":…}`: NoKV's Go PD until 2026-03-13. */
  | "flat"
  /** `{"regions":{…},"allocator":{"id_current":…,"ts_current":…}}`: NoKV's Go PD from 2026-03-13. */
  | "nested"
  /** Both at once: what this PD writes, so that either Go version can read it. */
  | "both";

/** A region of a Go PD's catalog that was found in `PD_STATE.json` but cannot be served. */
export interface SkippedRegion {
  /** The map key it was stored under. */
  readonly key: string;
  readonly reason: string;
}

/** The content of a `PD_STATE.json`. */
export interface PdStateFile {
  readonly shape: PdStateShape;
  /**
   * The checkpoints. When both shapes are present and disagree, the larger
   * value of each: no value at or below either was ever handed out.
   */
  readonly allocator: AllocatorState;
  /** The Go PD's region catalog (nested shape), by ascending id; empty when there is none. */
  readonly regions: readonly Region[];
  /** Regions of that catalog that cannot be served (tombstones, malformed ones), with why. */
  readonly skipped: readonly SkippedRegion[];
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof RawNumber);
}

function own(obj: JsonObject, name: string): Json | undefined {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

function uint64(v: Json | undefined, what: string, file: string): bigint {
  if (!(v instanceof RawNumber) || !/^(0|[1-9][0-9]*)$/.test(v.digits)) {
    const shown = v instanceof RawNumber ? v.digits : JSON.stringify(v);
    throw new PdError("STORAGE", `${file}: ${what} must be a non-negative integer, got ${shown}`);
  }
  const n = BigInt(v.digits);
  if (n > MAX_UINT64) throw new PdError("STORAGE", `${file}: ${what} ${v.digits} exceeds 2^64-1`);
  return n;
}

function optionalUint64(v: Json | undefined, what: string, file: string): bigint {
  return v === undefined || v === null ? 0n : uint64(v, what, file);
}

/** The checkpoints of one shape, or undefined when that shape's fields are not both there. */
function checkpoints(obj: JsonObject, where: string, file: string): AllocatorState | undefined {
  const id = own(obj, "id_current");
  const ts = own(obj, "ts_current");
  if (id === undefined && ts === undefined) return undefined;
  if (id === undefined || ts === undefined) {
    throw new PdError(
      "STORAGE",
      `${file}: ${where} has ${id === undefined ? "ts_current but no id_current" : "id_current but no ts_current"}; refusing to guess the other`,
    );
  }
  return { idCurrent: uint64(id, `${where}id_current`, file), tsCurrent: uint64(ts, `${where}ts_current`, file) };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A `[]byte` as Go's encoding/json writes it: standard base64 with padding; missing or null is empty. */
function goBytes(v: Json | undefined, what: string, file: string): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array();
  if (typeof v !== "string" || !BASE64.test(v)) {
    throw new PdError("STORAGE", `${file}: ${what} must be base64 (as Go writes []byte), got ${JSON.stringify(v instanceof RawNumber ? v.digits : v)}`);
  }
  return new Uint8Array(Buffer.from(v, "base64"));
}

/** NoKV's `localmeta.RegionStateTombstone`: the replica was destroyed; nothing to route to. */
const GO_REGION_STATE_TOMBSTONE = 3n;

function goRegion(key: string, v: Json, file: string): Region | SkippedRegion {
  const at = `regions[${JSON.stringify(key)}]`;
  if (!isObject(v)) throw new PdError("STORAGE", `${file}: ${at} must be an object`);
  const keyId = /^(0|[1-9][0-9]*)$/.test(key) ? BigInt(key) : undefined;
  if (keyId === undefined || keyId > MAX_UINT64) throw new PdError("STORAGE", `${file}: ${at}: the key must be a region id`);
  const id = optionalUint64(own(v, "id"), `${at}.id`, file);
  if (id !== keyId) throw new PdError("STORAGE", `${file}: ${at} holds region id ${id}, not ${keyId}`);
  const epoch = own(v, "epoch");
  if (epoch !== undefined && epoch !== null && !isObject(epoch)) throw new PdError("STORAGE", `${file}: ${at}.epoch must be an object`);
  const peersJson = own(v, "peers");
  if (peersJson !== undefined && peersJson !== null && !Array.isArray(peersJson)) {
    throw new PdError("STORAGE", `${file}: ${at}.peers must be an array`);
  }
  const peers = (peersJson ?? []).map((p, i) => {
    if (!isObject(p)) throw new PdError("STORAGE", `${file}: ${at}.peers[${i}] must be an object`);
    return {
      storeId: optionalUint64(own(p, "store_id"), `${at}.peers[${i}].store_id`, file),
      peerId: optionalUint64(own(p, "peer_id"), `${at}.peers[${i}].peer_id`, file),
    };
  });
  const region: Region = {
    id,
    startKey: goBytes(own(v, "start_key"), `${at}.start_key`, file),
    endKey: goBytes(own(v, "end_key"), `${at}.end_key`, file),
    epoch: {
      version: isObject(epoch) ? optionalUint64(own(epoch, "version"), `${at}.epoch.version`, file) : 0n,
      confVersion: isObject(epoch) ? optionalUint64(own(epoch, "conf_version"), `${at}.epoch.conf_version`, file) : 0n,
    },
    peers,
  };
  if (optionalUint64(own(v, "state"), `${at}.state`, file) === GO_REGION_STATE_TOMBSTONE) {
    return { key, reason: "tombstone" };
  }
  try {
    validateRegion(region);
  } catch (err) {
    return { key, reason: (err as Error).message };
  }
  return region;
}

/**
 * Parses the text of `PD_STATE.json` in either shape NoKV's Go PD wrote
 * (see {@link PdStateShape}), or both at once. Digits are read exactly;
 * unknown fields are ignored, as Go's decoder does.
 *
 * A file with neither shape's pair of checkpoints is refused: starting the
 * allocators from 1 over a file that was not understood could hand out
 * values again. So is a shape with one checkpoint but not the other.
 * Regions of the nested shape are checked for their JSON types (base64
 * keys; a missing key is empty); one that is a tombstone or not a valid
 * region is listed in `skipped` rather than refusing the file, since store
 * heartbeats will report it again.
 *
 * @throws PdError `STORAGE` naming the file and the defect.
 */
export function parsePdStateFile(text: string, file: string): PdStateFile {
  let doc: Json;
  try {
    doc = parse(text, null, (digits) => new RawNumber(digits)) as Json;
  } catch (err) {
    throw new PdError("STORAGE", `${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const expected = `expected {"id_current":…,"ts_current":…} or {"allocator":{"id_current":…,"ts_current":…}}`;
  if (!isObject(doc)) throw new PdError("STORAGE", `${file}: not a JSON object; ${expected}`);
  const flat = checkpoints(doc, "", file);
  const allocJson = own(doc, "allocator");
  if (allocJson !== undefined && !isObject(allocJson)) throw new PdError("STORAGE", `${file}: allocator must be an object`);
  const nested = allocJson === undefined ? undefined : checkpoints(allocJson, "allocator.", file);
  if (flat === undefined && nested === undefined) {
    throw new PdError("STORAGE", `${file}: holds neither shape of allocator checkpoints; ${expected}`);
  }
  const max = (a: bigint, b: bigint) => (a > b ? a : b);
  const allocator =
    flat === undefined
      ? nested!
      : nested === undefined
        ? flat
        : { idCurrent: max(flat.idCurrent, nested.idCurrent), tsCurrent: max(flat.tsCurrent, nested.tsCurrent) };

  const regions: Region[] = [];
  const skipped: SkippedRegion[] = [];
  const regionsJson = own(doc, "regions");
  if (regionsJson !== undefined && regionsJson !== null) {
    if (!isObject(regionsJson)) throw new PdError("STORAGE", `${file}: regions must be an object keyed by region id`);
    for (const [key, value] of Object.entries(regionsJson)) {
      const r = goRegion(key, value, file);
      if ("reason" in r) skipped.push(r);
      else regions.push(r);
    }
    regions.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  return { shape: flat === undefined ? "nested" : nested === undefined ? "flat" : "both", allocator, regions, skipped };
}

/** The checkpoints of a `PD_STATE.json` (see {@link parsePdStateFile}). */
export function parseAllocatorState(text: string, file: string): AllocatorState {
  return parsePdStateFile(text, file).allocator;
}

/**
 * The text this PD writes to `PD_STATE.json`: the checkpoints both flat and
 * under `allocator`, as plain JSON numbers written digit by digit, so that
 * NoKV's Go PD of either era reads them and never re-issues a value. No
 * `regions`: the catalog lives in the edit log, and a Go PD taking the
 * workdir back rebuilds its catalog from store heartbeats.
 */
export function formatAllocatorState(state: AllocatorState): string {
  const pair = checkpointPair(state);
  return `{${pair},"allocator":{${pair}}}\n`;
}

/** `{"id_current":…,"ts_current":…}`: the flat shape alone, for stores only this PD reads (etcd). */
export function formatFlatCheckpoints(state: AllocatorState): string {
  return `{${checkpointPair(state)}}\n`;
}

function checkpointPair(state: AllocatorState): string {
  return `"id_current":${state.idCurrent.toString()},"ts_current":${state.tsCurrent.toString()}`;
}

/**
 * Reads `PD_STATE.json` at `path`; undefined when the file does not exist.
 *
 * @throws PdError `STORAGE` when it exists but cannot be read or understood.
 */
export async function readPdStateFile(path: string): Promise<PdStateFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PdError("STORAGE", `${path}: ${(err as Error).message}`, { cause: err });
  }
  return parsePdStateFile(text, path);
}
