import { describe, expect, it } from "vitest";
import { ConfigError } from "../config-error.js";
import type { PdConfig, RaftConfig, StoreConfig } from "../raft-config/model.js";
import { resolvePdAddr, resolvePdAddrs, resolvePdWorkDir, resolveStoreWorkDir } from "./resolve.js";
import { parseScope, type Scope } from "./scope.js";

function withPd(pd: PdConfig | undefined): RaftConfig {
  return { maxRetries: 0, ...(pd === undefined ? {} : { pd }), stores: [], regions: [] };
}

function withStores(stores: StoreConfig[], templates: Pick<RaftConfig, "storeWorkDirTemplate" | "storeDockerWorkDirTemplate"> = {}): RaftConfig {
  return { maxRetries: 0, ...templates, stores, regions: [] };
}

const FULL_PD: PdConfig = {
  addr: "127.0.0.1:2379",
  dockerAddr: "nokv-pd:2379",
  workDir: "./artifacts/cluster/pd",
  dockerWorkDir: "/var/lib/nokv-pd",
};

describe("parseScope", () => {
  it("accepts host and docker, ignoring case and blanks", () => {
    expect(parseScope("host")).toBe("host");
    expect(parseScope(" Docker ")).toBe("docker");
  });

  it("rejects anything else with INVALID_ARGUMENT", () => {
    expect(() => parseScope("local")).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: 'config: unknown scope "local" (expected host|docker)' }),
    );
  });
});

describe("resolvePdAddr", () => {
  it("picks the value for the scope", () => {
    expect(resolvePdAddr(withPd(FULL_PD), "host")).toBe("127.0.0.1:2379");
    expect(resolvePdAddr(withPd(FULL_PD), "docker")).toBe("nokv-pd:2379");
  });

  it("falls back from docker to host when docker_addr is absent or blank", () => {
    expect(resolvePdAddr(withPd({ addr: "127.0.0.1:2379" }), "docker")).toBe("127.0.0.1:2379");
    expect(resolvePdAddr(withPd({ addr: "127.0.0.1:2379", dockerAddr: "  " }), "docker")).toBe("127.0.0.1:2379");
  });

  it("never falls back from host to docker", () => {
    expect(resolvePdAddr(withPd({ dockerAddr: "nokv-pd:2379" }), "host")).toBeUndefined();
  });

  it("trims values", () => {
    expect(resolvePdAddr(withPd({ addr: " 127.0.0.1:2379\t" }), "host")).toBe("127.0.0.1:2379");
  });

  it("uses the first listed member when the single address is absent", () => {
    const cfg = withPd({ addrs: ["a:1", "b:1"], dockerAddrs: ["pd-1:1", "pd-2:1"] });
    expect(resolvePdAddr(cfg, "host")).toBe("a:1");
    expect(resolvePdAddr(cfg, "docker")).toBe("pd-1:1");
  });

  it("returns undefined without a pd block", () => {
    expect(resolvePdAddr(withPd(undefined), "host")).toBeUndefined();
  });

  it("rejects an unknown scope from an untyped caller", () => {
    expect(() => resolvePdAddr(withPd(FULL_PD), "local" as Scope)).toThrow(ConfigError);
  });
});

describe("resolvePdAddrs", () => {
  it("falls back to [addr] for a single-PD config", () => {
    expect(resolvePdAddrs(withPd(FULL_PD), "host")).toEqual(["127.0.0.1:2379"]);
    expect(resolvePdAddrs(withPd(FULL_PD), "docker")).toEqual(["nokv-pd:2379"]);
  });

  it("returns the listed members, per scope", () => {
    const cfg = withPd({ addr: "a:1", addrs: ["a:1", "b:1", "c:1"], dockerAddrs: ["pd-1:1", "pd-2:1"] });
    expect(resolvePdAddrs(cfg, "host")).toEqual(["a:1", "b:1", "c:1"]);
    expect(resolvePdAddrs(cfg, "docker")).toEqual(["pd-1:1", "pd-2:1"]);
  });

  it("falls back from docker to the host list", () => {
    expect(resolvePdAddrs(withPd({ addrs: ["a:1", "b:1"] }), "docker")).toEqual(["a:1", "b:1"]);
  });

  it("prefers docker_addr over the host list", () => {
    expect(resolvePdAddrs(withPd({ addrs: ["a:1", "b:1"], dockerAddr: "pd:1" }), "docker")).toEqual(["pd:1"]);
  });

  it("is empty without addresses", () => {
    expect(resolvePdAddrs(withPd(undefined), "docker")).toEqual([]);
    expect(resolvePdAddrs(withPd({ workDir: "/x" }), "host")).toEqual([]);
  });

  it("rejects an unknown scope", () => {
    expect(() => resolvePdAddrs(withPd(FULL_PD), "" as Scope)).toThrow(/unknown scope/);
  });
});

describe("resolvePdWorkDir", () => {
  it("picks the value for the scope and falls back from docker to host", () => {
    expect(resolvePdWorkDir(withPd(FULL_PD), "host")).toBe("./artifacts/cluster/pd");
    expect(resolvePdWorkDir(withPd(FULL_PD), "docker")).toBe("/var/lib/nokv-pd");
    expect(resolvePdWorkDir(withPd({ workDir: "./pd" }), "docker")).toBe("./pd");
  });

  it("returns undefined when nothing is configured", () => {
    expect(resolvePdWorkDir(withPd({ addr: "a:1" }), "host")).toBeUndefined();
    expect(resolvePdWorkDir(withPd({ dockerWorkDir: "/pd" }), "host")).toBeUndefined();
    expect(resolvePdWorkDir(withPd(undefined), "docker")).toBeUndefined();
  });

  it("rejects an unknown scope", () => {
    expect(() => resolvePdWorkDir(withPd(FULL_PD), "HOST" as Scope)).toThrow(/unknown scope/);
  });
});

describe("resolveStoreWorkDir", () => {
  const templates = { storeWorkDirTemplate: "./store-{id}", storeDockerWorkDirTemplate: "/var/lib/nokv/store-{id}" };

  it("expands every {id} in the scope's template", () => {
    const cfg = withStores([{ storeId: 7n }], { storeWorkDirTemplate: "./{id}/store-{id}" });
    expect(resolveStoreWorkDir(cfg, 7n, "host")).toBe("./7/store-7");
  });

  it("uses the docker template in docker scope", () => {
    expect(resolveStoreWorkDir(withStores([{ storeId: 2n }], templates), 2n, "docker")).toBe("/var/lib/nokv/store-2");
  });

  it("falls back from the docker template to the host template", () => {
    const cfg = withStores([{ storeId: 2n }], { storeWorkDirTemplate: "./store-{id}" });
    expect(resolveStoreWorkDir(cfg, 2n, "docker")).toBe("./store-2");
  });

  it("lets the store's explicit work_dir win over templates", () => {
    const cfg = withStores([{ storeId: 2n, workDir: "/data/two" }], templates);
    expect(resolveStoreWorkDir(cfg, 2n, "host")).toBe("/data/two");
    // As in NoKV's Go resolver, an explicit host dir also beats the docker template.
    expect(resolveStoreWorkDir(cfg, 2n, "docker")).toBe("/data/two");
  });

  it("lets the store's docker_work_dir win in docker scope only", () => {
    const cfg = withStores([{ storeId: 2n, workDir: "/data/two", dockerWorkDir: "/docker/two" }], templates);
    expect(resolveStoreWorkDir(cfg, 2n, "docker")).toBe("/docker/two");
    expect(resolveStoreWorkDir(cfg, 2n, "host")).toBe("/data/two");
  });

  it("writes ids above 2^53 exactly", () => {
    const id = 2n ** 64n - 1n;
    expect(resolveStoreWorkDir(withStores([{ storeId: id }], templates), id, "host")).toBe("./store-18446744073709551615");
  });

  it("returns undefined when neither the store nor a template has a directory", () => {
    expect(resolveStoreWorkDir(withStores([{ storeId: 1n, workDir: " " }]), 1n, "docker")).toBeUndefined();
  });

  it("throws NOT_FOUND for an unknown store", () => {
    expect(() => resolveStoreWorkDir(withStores([{ storeId: 1n }], templates), 9n, "host")).toThrow(
      expect.objectContaining({ code: "NOT_FOUND", message: "config: store 9 not found" }),
    );
  });

  it("rejects an unknown scope", () => {
    expect(() => resolveStoreWorkDir(withStores([{ storeId: 1n }], templates), 1n, "local" as Scope)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});
