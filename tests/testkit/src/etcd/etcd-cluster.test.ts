import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdCluster, startEtcdCluster } from "./etcd-cluster.js";

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

describe("startEtcdCluster", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcdCluster({ members: 1 });
  });
  afterAll(() => etcd?.stop());

  it("starts a healthy member on a loopback port", async () => {
    expect(etcd.endpoints).toHaveLength(1);
    expect(etcd.endpoints[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await healthy(etcd.endpoints[0]!)).toBe(true);
  });

  it("kills and restarts a member on the same port", async () => {
    await etcd.kill(0);
    expect(etcd.isRunning(0)).toBe(false);
    expect(await healthy(etcd.endpoints[0]!)).toBe(false);
    await etcd.restart(0);
    expect(etcd.isRunning(0)).toBe(true);
    expect(await healthy(etcd.endpoints[0]!)).toBe(true);
  });

  it("fails loudly, naming etcd-server, when the binary is missing", async () => {
    await expect(startEtcdCluster({ binary: "/nonexistent/etcd" })).rejects.toThrow(/install etcd-server/);
  });
});
