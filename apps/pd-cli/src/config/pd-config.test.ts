import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolvePdServerConfig } from "@nokv/pd-server";
import { afterAll, describe, expect, it } from "vitest";
import { resolvePdConfig } from "./pd-config.js";

const dir = mkdtempSync(join(tmpdir(), "pd-cli-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("resolvePdConfig", () => {
  it("turns bare flags into a complete config: memory, the default address, every server default", async () => {
    const c = await resolvePdConfig({ scope: "host" });
    expect(c.storage).toEqual({ kind: "memory" });
    expect(c.member).toEqual({ name: undefined, advertiseAddr: undefined });
    expect(c.server).toEqual(resolvePdServerConfig({ addr: "127.0.0.1:2379" }));
  });

  it("carries each flag to its one place, leaving the flags not given at their defaults", async () => {
    const c = await resolvePdConfig({
      scope: "host",
      addr: "127.0.0.1:0",
      workdir: join(dir, "pd"),
      idStart: 500n,
      maxKeyBytes: 128,
      storeDownAfterMs: 3_600_000,
      maxTransfersPerStore: 9,
      name: "pd-a",
    });
    expect(c.storage).toEqual({ kind: "local-file", dir: join(dir, "pd"), recoverMissingState: false });
    expect(c.member.name).toBe("pd-a");
    expect(c.server).toMatchObject({
      addr: "127.0.0.1:0",
      idStart: 500n,
      tsStart: 1n,
      limits: { maxKeyBytes: 128, maxMessageBytes: 4 * 1024 * 1024 },
      liveness: { disconnectedAfterMs: 20_000, downAfterMs: 3_600_000 },
      operators: { transferTimeoutMs: 30_000, maxInFlightPerStore: 9 },
      metrics: false,
    });
  });

  it("takes address and work dir from raft_config.json for the scope; a flag wins", async () => {
    const cfg = join(dir, "raft_config.json");
    writeFileSync(cfg, JSON.stringify({ pd: { addr: "127.0.0.1:7000", docker_addr: "pd:2379", work_dir: join(dir, "w") }, stores: [], regions: [] }));
    const fromConfig = await resolvePdConfig({ scope: "host", config: cfg });
    expect(fromConfig.server.addr).toBe("127.0.0.1:7000");
    expect(fromConfig.storage).toMatchObject({ kind: "local-file", dir: join(dir, "w") });
    expect((await resolvePdConfig({ scope: "docker", config: cfg })).server.addr).toBe("pd:2379");
    expect((await resolvePdConfig({ scope: "host", config: cfg, addr: "127.0.0.1:0" })).server.addr).toBe("127.0.0.1:0");
    // In distributed mode the config's work dir is not used.
    expect((await resolvePdConfig({ scope: "host", config: cfg, etcd: "http://127.0.0.1:2379" })).storage.kind).toBe("etcd");
  });

  it("describes distributed mode, leaving lease and cluster id to the elected member's defaults", async () => {
    const c = await resolvePdConfig({ scope: "host", etcd: " http://a:1, http://b:2 ", advertiseAddr: "10.0.0.1:2379" });
    expect(c.storage).toEqual({ kind: "etcd", endpoints: ["http://a:1", "http://b:2"], clusterId: undefined, leaseTtlSec: undefined });
    expect(c.member).toEqual({ name: undefined, advertiseAddr: "10.0.0.1:2379" });
  });

  it("refuses bad combinations and values with one line naming them", async () => {
    const bad = (flags: Parameters<typeof resolvePdConfig>[0]) => resolvePdConfig(flags);
    await expect(bad({ scope: "host", etcd: "http://a:1", workdir: dir })).rejects.toThrow(/--workdir and --etcd are exclusive/);
    await expect(bad({ scope: "host", etcd: "http://a:1", recoverMissingState: true })).rejects.toThrow(/--recover-missing-state is for a --workdir/);
    await expect(bad({ scope: "host", etcd: "a:1" })).rejects.toThrow(/--etcd: "a:1" is not an etcd client URL/);
    await expect(bad({ scope: "host", cert: join(dir, "c.pem") })).rejects.toThrow(/--cert and --key go together/);
    await expect(bad({ scope: "host", storeDisconnectedAfterMs: 10_000, storeDownAfterMs: 5_000 })).rejects.toThrow(/downAfterMs/);
    await expect(bad({ scope: "nowhere" })).rejects.toThrow(/scope/);
  });
});
