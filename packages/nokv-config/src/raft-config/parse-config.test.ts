import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../config-error.js";
import type { RaftConfig } from "./model.js";
import { parseConfig } from "./parse-config.js";
import { stringifyConfig } from "./stringify-config.js";

const EXAMPLE_PATH = new URL("../../raft_config.example.json", import.meta.url);
import { MAX_UINT64 as UINT64_MAX } from "@nokv/pd-model";

function parseError(text: string, source?: string): ConfigError {
  try {
    parseConfig(text, source);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${text} to be rejected`);
}

// A config whose every id slot holds `id`, written by hand as JSON text so
// the test does not depend on the serialiser it checks.
function configTextWithIds(id: bigint): string {
  const n = id.toString();
  return `{"stores":[{"store_id":${n}}],"regions":[{"id":${n},"epoch":{"version":${n},"conf_version":${n}},` +
    `"peers":[{"store_id":${n},"peer_id":${n}}],"leader_store_id":${n}}]}`;
}

describe("parseConfig", () => {
  it("reads the shipped example into the model", () => {
    const cfg = parseConfig(readFileSync(EXAMPLE_PATH, "utf8"));
    expect(cfg.maxRetries).toBe(8);
    expect(cfg.pd).toEqual({
      addr: "127.0.0.1:2379",
      dockerAddr: "nokv-pd:2379",
      workDir: "./artifacts/cluster/pd",
      dockerWorkDir: "/var/lib/nokv-pd",
    });
    expect(cfg.storeWorkDirTemplate).toBe("./artifacts/cluster/store-{id}");
    expect(cfg.storeDockerWorkDirTemplate).toBe("/var/lib/nokv/store-{id}");
    expect(cfg.stores.map((s) => s.storeId)).toEqual([1n, 2n, 3n]);
    expect(cfg.stores[2]).toEqual({
      storeId: 3n,
      listenAddr: "127.0.0.1:20172",
      addr: "127.0.0.1:20172",
      dockerListenAddr: "0.0.0.0:20160",
      dockerAddr: "nokv-node3:20160",
    });
    expect(cfg.regions[1]).toEqual({
      id: 2n,
      startKey: "m",
      endKey: "",
      epoch: { version: 1n, confVersion: 1n },
      peers: [
        { storeId: 1n, peerId: 201n },
        { storeId: 2n, peerId: 202n },
        { storeId: 3n, peerId: 203n },
      ],
      leaderStoreId: 1n,
    });
  });

  it("uses Go's zero values for absent fields and treats null as absent", () => {
    const cfg = parseConfig('{"pd": null, "stores": [{"store_id": 4, "addr": null}], "regions": [{"id": 9}]}');
    expect(cfg).toEqual({
      maxRetries: 0,
      stores: [{ storeId: 4n }],
      regions: [{ id: 9n, startKey: "", endKey: "", epoch: { version: 0n, confVersion: 0n }, peers: [], leaderStoreId: 0n }],
    } satisfies RaftConfig);
    expect(parseConfig("{}")).toEqual({ maxRetries: 0, stores: [], regions: [] });
  });

  it("ignores keys it does not know, for forward compatibility", () => {
    expect(parseConfig('{"tso": {"listen_addr": "x"}, "stores": [{"store_id": 1, "zone": "a"}]}').stores).toEqual([
      { storeId: 1n },
    ]);
  });

  it("reads the HA address lists", () => {
    const cfg = parseConfig('{"pd": {"addrs": ["a:1", "b:1"], "docker_addrs": ["pd-1:1"]}}');
    expect(cfg.pd).toEqual({ addrs: ["a:1", "b:1"], dockerAddrs: ["pd-1:1"] });
  });

  it("parses every uint64 id exactly, without a float round-trip", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: UINT64_MAX }), (id) => {
        const cfg = parseConfig(configTextWithIds(id));
        const region = cfg.regions[0];
        expect(cfg.stores[0]?.storeId).toBe(id);
        expect(region?.id).toBe(id);
        expect(region?.epoch).toEqual({ version: id, confVersion: id });
        expect(region?.peers).toEqual([{ storeId: id, peerId: id }]);
        expect(region?.leaderStoreId).toBe(id);
      }),
    );
  });

  it.each([
    [0n],
    [2n ** 53n + 1n],
    [UINT64_MAX],
  ])("keeps the boundary id %s", (id) => {
    expect(parseConfig(configTextWithIds(id)).stores[0]?.storeId).toBe(id);
  });

  it("round-trips through stringifyConfig with every id intact", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: UINT64_MAX }), fc.bigInt({ min: 0n, max: UINT64_MAX }), (a, b) => {
        const cfg: RaftConfig = {
          maxRetries: 3,
          pd: { addr: "127.0.0.1:2379", addrs: ["127.0.0.1:2379", "127.0.0.2:2379"] },
          storeWorkDirTemplate: "./s-{id}",
          stores: [{ storeId: a, addr: "h:1", listenAddr: "", dockerAddr: "", dockerListenAddr: "", workDir: "/w" }],
          regions: [
            {
              id: b,
              startKey: "\u0000k",
              endKey: "z",
              epoch: { version: a, confVersion: b },
              peers: [{ storeId: a, peerId: b }],
              leaderStoreId: a,
            },
          ],
        };
        expect(parseConfig(stringifyConfig(cfg))).toEqual(cfg);
        expect(parseConfig(stringifyConfig(cfg, 0))).toEqual(cfg);
      }),
    );
  });

  it.each([
    ['{"stores": [{"store_id": -1}]}', 'stores[0].store_id: expected an unsigned 64-bit integer, got -1'],
    ['{"stores": [{"store_id": 1.0}]}', "stores[0].store_id: expected an unsigned 64-bit integer, got 1.0"],
    ['{"stores": [{"store_id": 1e3}]}', "stores[0].store_id: expected an unsigned 64-bit integer, got 1e3"],
    ['{"stores": [{"store_id": "7"}]}', 'stores[0].store_id: expected an unsigned 64-bit integer, got "7"'],
    ['{"stores": [{"store_id": 18446744073709551616}]}', "stores[0].store_id: 18446744073709551616 is out of range"],
    ['{"regions": [{"id": 1, "epoch": {"version": true}}]}', "regions[0].epoch.version: expected an unsigned 64-bit integer, got true"],
    ['{"regions": [{"id": 1, "peers": [{"store_id": 1, "peer_id": [] }]}]}', "regions[0].peers[0].peer_id: expected an unsigned 64-bit integer, got an array"],
    ['{"regions": [{"id": 1, "start_key": 5}]}', "regions[0].start_key: expected a string, got 5"],
    ['{"regions": {}}', "regions: expected an array, got an object"],
    ['{"stores": [3]}', "stores[0]: expected an object, got 3"],
    ['{"pd": "127.0.0.1:2379"}', 'pd: expected an object, got "127.0.0.1:2379"'],
    ['{"pd": {"addrs": ["a", 1]}}', "pd.addrs[1]: expected a string, got 1"],
    ['{"max_retries": -1}', "max_retries: expected a non-negative integer, got -1"],
    ['{"max_retries": 1.5}', "max_retries: expected a non-negative integer, got 1.5"],
    ["[]", "expected a JSON object at the top level, got an array"],
  ])("rejects %s as a SCHEMA error", (text, problem) => {
    const err = parseError(text);
    expect(err.code).toBe("SCHEMA");
    expect(err.message).toContain(`config: ${problem}`);
  });

  it("names the source file in schema errors", () => {
    expect(parseError('{"max_retries": "x"}', "/etc/raft.json").message).toBe(
      'config: /etc/raft.json: max_retries: expected a non-negative integer, got "x"',
    );
  });

  it("reports malformed JSON with its position and keeps the cause", () => {
    const err = parseError('{\n  "stores": [,]\n}', "raft.json");
    expect(err.code).toBe("MALFORMED_JSON");
    expect(err.message).toBe("config: raft.json: invalid JSON at line 2 column 14: unexpected character \",\"");
    expect(err.cause).toBeInstanceOf(Error);
  });
});
