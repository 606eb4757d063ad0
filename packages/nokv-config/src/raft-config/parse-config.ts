import { MAX_UINT64 } from "@nokv/pd-model";
import { ConfigError } from "../config-error.js";
import { JsonNumber, JsonSyntaxError, parseJson, type JsonObject, type JsonValue } from "../json/parse-json.js";
import type { PdConfig, PeerConfig, RaftConfig, RegionConfig, RegionEpoch, StoreConfig } from "./model.js";

const UNSIGNED_DIGITS = /^(?:0|[1-9][0-9]*)$/;

/**
 * Parses the text of a `raft_config.json` into a {@link RaftConfig}
 * without validating cross-references (see `validateConfig`).
 *
 * Ids and epochs are read from their digits straight into `bigint`, so every
 * uint64 round-trips; a fraction, an exponent, a sign or a value above
 * 2^64 - 1 is rejected. Like NoKV's Go loader, unknown keys are ignored,
 * `null` counts as absent, and absent ids are `0n`.
 *
 * @param text - the JSON document.
 * @param source - where the text came from (a path), for error messages.
 * @throws {@link ConfigError} `MALFORMED_JSON` for invalid JSON, `SCHEMA`
 *   for a field of the wrong type or range; the message names the field,
 *   e.g. `config: stores[1].store_id: expected an unsigned 64-bit integer, got "7"`.
 */
export function parseConfig(text: string, source?: string): RaftConfig {
  const where = source === undefined ? "" : `${source}: `;
  let root: JsonValue;
  try {
    root = parseJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      throw new ConfigError("MALFORMED_JSON", `config: ${where}${err.message}`, { cause: err });
    }
    throw err;
  }
  const fail = (path: string, problem: string): never => {
    throw new ConfigError("SCHEMA", `config: ${where}${path === "" ? "" : `${path}: `}${problem}`);
  };
  return readFile(root, fail);
}

type Fail = (path: string, problem: string) => never;

function readFile(root: JsonValue, fail: Fail): RaftConfig {
  if (!isObject(root)) return fail("", `expected a JSON object at the top level, got ${describe(root)}`);
  const pdNode = member(root, "pd");
  const storeWorkDirTemplate = optString(root, "store_work_dir_template", "", fail);
  const storeDockerWorkDirTemplate = optString(root, "store_docker_work_dir_template", "", fail);
  return {
    maxRetries: readMaxRetries(root, fail),
    ...(pdNode === undefined ? {} : { pd: readPd(expectObject(pdNode, "pd", fail), fail) }),
    ...(storeWorkDirTemplate === undefined ? {} : { storeWorkDirTemplate }),
    ...(storeDockerWorkDirTemplate === undefined ? {} : { storeDockerWorkDirTemplate }),
    stores: optArray(root, "stores", "", fail).map((node, i) =>
      readStore(expectObject(node, `stores[${i}]`, fail), `stores[${i}]`, fail),
    ),
    regions: optArray(root, "regions", "", fail).map((node, i) =>
      readRegion(expectObject(node, `regions[${i}]`, fail), `regions[${i}]`, fail),
    ),
  };
}

function readMaxRetries(root: JsonObject, fail: Fail): number {
  const node = member(root, "max_retries");
  if (node === undefined) return 0;
  // A retry budget is a small count used in loops, so it stays a number; it
  // must still be an exact non-negative integer.
  if (!(node instanceof JsonNumber) || !UNSIGNED_DIGITS.test(node.text) || !Number.isSafeInteger(Number(node.text))) {
    return fail("max_retries", `expected a non-negative integer, got ${describe(node)}`);
  }
  return Number(node.text);
}

function readPd(obj: JsonObject, fail: Fail): PdConfig {
  return compact({
    addr: optString(obj, "addr", "pd", fail),
    dockerAddr: optString(obj, "docker_addr", "pd", fail),
    workDir: optString(obj, "work_dir", "pd", fail),
    dockerWorkDir: optString(obj, "docker_work_dir", "pd", fail),
    addrs: optStringArray(obj, "addrs", "pd", fail),
    dockerAddrs: optStringArray(obj, "docker_addrs", "pd", fail),
  });
}

function readStore(obj: JsonObject, path: string, fail: Fail): StoreConfig {
  return compact({
    storeId: uint64(obj, "store_id", path, fail),
    addr: optString(obj, "addr", path, fail),
    listenAddr: optString(obj, "listen_addr", path, fail),
    dockerAddr: optString(obj, "docker_addr", path, fail),
    dockerListenAddr: optString(obj, "docker_listen_addr", path, fail),
    workDir: optString(obj, "work_dir", path, fail),
    dockerWorkDir: optString(obj, "docker_work_dir", path, fail),
  });
}

function readRegion(obj: JsonObject, path: string, fail: Fail): RegionConfig {
  const epochNode = member(obj, "epoch");
  const epoch: RegionEpoch =
    epochNode === undefined
      ? { version: 0n, confVersion: 0n }
      : readEpoch(expectObject(epochNode, `${path}.epoch`, fail), `${path}.epoch`, fail);
  return {
    id: uint64(obj, "id", path, fail),
    startKey: optString(obj, "start_key", path, fail) ?? "",
    endKey: optString(obj, "end_key", path, fail) ?? "",
    epoch,
    peers: optArray(obj, "peers", path, fail).map((node, i) =>
      readPeer(expectObject(node, `${path}.peers[${i}]`, fail), `${path}.peers[${i}]`, fail),
    ),
    leaderStoreId: uint64(obj, "leader_store_id", path, fail),
  };
}

function readEpoch(obj: JsonObject, path: string, fail: Fail): RegionEpoch {
  return {
    version: uint64(obj, "version", path, fail),
    confVersion: uint64(obj, "conf_version", path, fail),
  };
}

function readPeer(obj: JsonObject, path: string, fail: Fail): PeerConfig {
  return {
    storeId: uint64(obj, "store_id", path, fail),
    peerId: uint64(obj, "peer_id", path, fail),
  };
}

/** `null` is treated as absent, as Go's decoder does. */
function member(obj: JsonObject, key: string): JsonValue | undefined {
  const value = obj.get(key);
  return value === null ? undefined : value;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function isObject(value: JsonValue): value is JsonObject {
  return value instanceof Map;
}

function expectObject(value: JsonValue, path: string, fail: Fail): JsonObject {
  if (!isObject(value)) return fail(path, `expected an object, got ${describe(value)}`);
  return value;
}

function optString(obj: JsonObject, key: string, path: string, fail: Fail): string | undefined {
  const value = member(obj, key);
  if (value === undefined || typeof value === "string") return value;
  return fail(join(path, key), `expected a string, got ${describe(value)}`);
}

function optArray(obj: JsonObject, key: string, path: string, fail: Fail): readonly JsonValue[] {
  const value = member(obj, key);
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(join(path, key), `expected an array, got ${describe(value)}`);
  return value as readonly JsonValue[];
}

function optStringArray(obj: JsonObject, key: string, path: string, fail: Fail): string[] | undefined {
  if (member(obj, key) === undefined) return undefined;
  return optArray(obj, key, path, fail).map((item, i) =>
    typeof item === "string" ? item : fail(`${join(path, key)}[${i}]`, `expected a string, got ${describe(item)}`),
  );
}

function uint64(obj: JsonObject, key: string, path: string, fail: Fail): bigint {
  const value = member(obj, key);
  if (value === undefined) return 0n;
  if (!(value instanceof JsonNumber) || !UNSIGNED_DIGITS.test(value.text)) {
    return fail(join(path, key), `expected an unsigned 64-bit integer, got ${describe(value)}`);
  }
  const parsed = BigInt(value.text);
  if (parsed > MAX_UINT64) return fail(join(path, key), `${value.text} is out of range for an unsigned 64-bit integer`);
  return parsed;
}

function describe(value: JsonValue): string {
  if (value === null) return "null";
  if (value instanceof JsonNumber) return value.text;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "an array";
  return "an object";
}

/** Drops `undefined` members so parsed objects only carry what the file had. */
function compact<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
