import { describe, expect, it } from "vitest";
import { ConfigError } from "../config-error.js";
import type { RaftConfig, RegionConfig } from "./model.js";
import { type ConfigWarning, validateConfig } from "./validate-config.js";

function region(id: bigint, startKey: string, endKey: string, peerBase: bigint): RegionConfig {
  return {
    id,
    startKey,
    endKey,
    epoch: { version: 1n, confVersion: 1n },
    peers: [
      { storeId: 1n, peerId: peerBase + 1n },
      { storeId: 2n, peerId: peerBase + 2n },
    ],
    leaderStoreId: 1n,
  };
}

// Valid as is; each test breaks exactly one thing, so each fails without its check.
function base(): RaftConfig {
  return {
    maxRetries: 3,
    pd: { addr: "127.0.0.1:2379", dockerAddr: "nokv-pd:2379" },
    storeWorkDirTemplate: "./store-{id}",
    storeDockerWorkDirTemplate: "/var/lib/nokv/store-{id}",
    stores: [
      { storeId: 1n, addr: "127.0.0.1:20170" },
      { storeId: 2n, addr: "127.0.0.1:20171" },
    ],
    regions: [region(1n, "", "m", 100n), region(2n, "m", "", 200n)],
  };
}

function withRegion(index: number, patch: Partial<RegionConfig>): RaftConfig {
  const cfg = base();
  return { ...cfg, regions: cfg.regions.map((r, i) => (i === index ? { ...r, ...patch } : r)) };
}

function rejection(cfg: RaftConfig): ConfigError {
  try {
    validateConfig(cfg);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected the config to be rejected");
}

describe("validateConfig", () => {
  it("accepts the base config, a config without pd, and an empty config", () => {
    expect(validateConfig(base())).toEqual([]);
    const { pd: _pd, ...noPd } = base();
    expect(validateConfig(noPd)).toEqual([]);
    expect(validateConfig({ maxRetries: 0, stores: [], regions: [] })).toEqual([]);
  });

  it("accepts a region without a leader hint (leader_store_id 0)", () => {
    expect(validateConfig(withRegion(0, { leaderStoreId: 0n }))).toEqual([]);
  });

  it("accepts HA lists that include the single address", () => {
    const cfg = { ...base(), pd: { addr: "a:1", addrs: ["b:1", "a:1"], dockerAddrs: ["pd-1:1", "pd-2:1"] } };
    expect(validateConfig(cfg)).toEqual([]);
  });

  // Exactly what NoKV's Go nokv-config validates (config.File.Validate): every command fails on these.
  it.each<[string, () => RaftConfig, string]>([
    ["host template without {id}", () => ({ ...base(), storeWorkDirTemplate: "./store" }), "config: store_work_dir_template must contain {id}"],
    [
      "docker template without {id}",
      () => ({ ...base(), storeDockerWorkDirTemplate: "/var/lib/nokv" }),
      "config: store_docker_work_dir_template must contain {id}",
    ],
    [
      "store_id 0",
      () => ({ ...base(), stores: [...base().stores, { storeId: 0n }] }),
      "config: stores[2]: store_id must be > 0",
    ],
    [
      "duplicate store_id",
      () => ({ ...base(), stores: [...base().stores, { storeId: 1n }] }),
      "config: store 1: duplicate store_id (stores[0] and stores[2])",
    ],
    ["region id 0", () => withRegion(1, { id: 0n }), "config: regions[1]: region id must be > 0"],
    [
      "peer_id 0",
      () => withRegion(1, { peers: [{ storeId: 1n, peerId: 0n }] }),
      "config: region 2: peers[0]: peer_id must be > 0",
    ],
    [
      "peer store_id 0",
      () => withRegion(1, { peers: [{ storeId: 0n, peerId: 5n }], leaderStoreId: 0n }),
      "config: region 2: peer 5: store_id must be > 0",
    ],
    [
      "peer on an unknown store",
      () => withRegion(1, { peers: [{ storeId: 9n, peerId: 5n }] }),
      "config: region 2: peer 5 references unknown store 9",
    ],
    ["leader on an unknown store", () => withRegion(0, { leaderStoreId: 3n }), "config: region 1: leader store 3 missing from stores"],
  ])("rejects %s", (_name, build, message) => {
    const err = rejection(build());
    expect(err.code).toBe("INVALID_CONFIG");
    expect(err.message).toBe(message);
  });

  // Go's tool accepts these: they are reported, and fail only a caller that asks for their section strictly.
  it.each<[string, () => RaftConfig, ConfigWarning]>([
    ["blank pd address in the list", () => ({ ...base(), pd: { addrs: ["a:1", " "] } }), { section: "pd", message: "config: pd: addrs[1] is empty" }],
    [
      "duplicate pd address",
      () => ({ ...base(), pd: { dockerAddrs: ["pd:1", "pd:1"] } }),
      { section: "pd", message: 'config: pd: duplicate address "pd:1" in docker_addrs' },
    ],
    [
      "pd addr missing from addrs",
      () => ({ ...base(), pd: { addr: "c:1", addrs: ["a:1", "b:1"] } }),
      { section: "pd", message: 'config: pd: addr "c:1" is not listed in addrs' },
    ],
    [
      "duplicate region id",
      () => withRegion(1, { id: 1n }),
      { section: "regions", message: "config: region 1: duplicate region id (regions[0] and regions[1])" },
    ],
    [
      "start_key >= end_key",
      () => withRegion(0, { startKey: "z" }),
      { section: "regions", message: 'config: region 1: start_key "z" must be < end_key "m"' },
    ],
    [
      "two peers of a region on one store",
      () => withRegion(1, { peers: [{ storeId: 1n, peerId: 5n }, { storeId: 1n, peerId: 6n }] }),
      { section: "regions", message: "config: region 2: peer 6: store 1 already hosts a peer of this region" },
    ],
    [
      "peer id reused by another region",
      () => withRegion(1, { peers: [{ storeId: 1n, peerId: 101n }] }),
      { section: "regions", message: "config: region 2: peer 101 is already used by region 1" },
    ],
    [
      "peer id repeated in a region",
      () => withRegion(1, { peers: [{ storeId: 1n, peerId: 7n }, { storeId: 2n, peerId: 7n }] }),
      { section: "regions", message: "config: region 2: duplicate peer id 7" },
    ],
    [
      "leader store without a peer",
      () => withRegion(0, { peers: [{ storeId: 2n, peerId: 101n }] }),
      { section: "regions", message: "config: region 1: leader store 1 hosts no peer of this region" },
    ],
    [
      "overlapping ranges",
      () => withRegion(1, { startKey: "k" }),
      { section: "regions", message: 'config: region 2: range ["k", +inf) overlaps region 1 [-inf, "m")' },
    ],
    [
      "a second unbounded region",
      () => withRegion(0, { startKey: "a", endKey: "" }),
      { section: "regions", message: 'config: region 2: range ["m", +inf) overlaps region 1 ["a", +inf)' },
    ],
  ])("warns about %s, and rejects it only when its section is strict", (_name, build, warning) => {
    expect(validateConfig(build())).toEqual([warning]);
    expect(validateConfig(build(), { strict: warning.section === "pd" ? ["regions"] : ["pd"] })).toEqual([warning]);
    try {
      validateConfig(build(), { strict: [warning.section] });
      expect.unreachable("a strict section must reject");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe("INVALID_CONFIG");
      expect((err as ConfigError).message).toBe(warning.message);
    }
  });

  it("reports every warning in file order (an inverted range is not also an overlap), and a Go-validated error even after warnings", () => {
    const cfg: RaftConfig = {
      ...base(),
      pd: { addrs: ["a:1", "a:1"] },
      regions: [region(1n, "z", "m", 100n), region(1n, "m", "", 200n)],
    };
    expect(validateConfig(cfg).map((w) => w.message)).toEqual([
      'config: pd: duplicate address "a:1" in addrs',
      'config: region 1: start_key "z" must be < end_key "m"',
      "config: region 1: duplicate region id (regions[0] and regions[1])",
    ]);
    const broken: RaftConfig = { ...cfg, regions: [...cfg.regions, { ...region(3n, "", "", 300n), peers: [{ storeId: 9n, peerId: 1n }] }] };
    expect(rejection(broken).message).toBe("config: region 3: peer 1 references unknown store 9");
  });

  it("reports each region inside another one, not only neighbours that overlap", () => {
    const cfg: RaftConfig = { ...base(), regions: [region(1n, "a", "z", 100n), region(2n, "b", "c", 200n), region(3n, "d", "e", 300n)] };
    expect(validateConfig(cfg).map((w) => w.message)).toEqual([
      'config: region 2: range ["b", "c") overlaps region 1 ["a", "z")',
      'config: region 3: range ["d", "e") overlaps region 1 ["a", "z")',
    ]);
  });

  it("orders keys by UTF-8 bytes, not UTF-16 code units", () => {
    // U+FF5E sorts after U+1F600 in UTF-16 (0xFF5E > 0xD83D) but before it
    // in UTF-8 (EF BD BE < F0 9F 98 80); only the byte order makes this valid.
    const cfg: RaftConfig = {
      ...base(),
      regions: [region(1n, "", "\uff5e", 100n), region(2n, "\uff5e", "\u{1f600}", 200n), region(3n, "\u{1f600}", "", 300n)],
    };
    expect(validateConfig(cfg)).toEqual([]);
  });
});
