import { credentials, Metadata } from "@grpc/grpc-js";
import { PDClient, type TsoResponse } from "@nokv/pd-proto";
import { type PdProcess, startPdProcess } from "./pd-process.js";
import { type EtcdCluster, freePort, startEtcdCluster, waitUntil } from "@nokv/testkit";
import { afterAll, afterEach, beforeAll } from "vitest";

/** One `pd-cli pd --etcd` member of a {@link PdCluster}. */
export interface PdClusterMember {
  readonly name: string;
  readonly addr: string;
  proc: PdProcess | undefined;
}

/**
 * Raw grpc-js clients (no retries, no leader tracking) for probing one
 * member at a time; close them with {@link closeRawClients}.
 */
const raw = new Map<string, PDClient>();

/** A raw grpc-js client of one member (shared per address; see {@link closeRawClients}). */
export function rawClient(addr: string): PDClient {
  let c = raw.get(addr);
  if (c === undefined) {
    c = new PDClient(addr, credentials.createInsecure());
    raw.set(addr, c);
  }
  return c;
}

/** Closes every raw client opened by {@link tsoOnce}. */
export function closeRawClients(): void {
  for (const c of raw.values()) c.close();
  raw.clear();
}

/** One unary `Tso` on one member, no retries: resolves only if that member serves. */
export function tsoOnce(addr: string, deadlineMs: number): Promise<TsoResponse> {
  return new Promise((resolve, reject) =>
    rawClient(addr).tso({ count: 1n }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

/** Several real `pd-cli pd` processes on one etcd cluster (lease TTL 2 s, the default). */
export class PdCluster {
  readonly members: PdClusterMember[] = [];

  private constructor(
    readonly etcd: EtcdCluster,
    readonly clusterId: string,
  ) {}

  /** Starts `n` members on free ports and waits until each listens. */
  static async start(etcd: EtcdCluster, clusterId: string, n = 3): Promise<PdCluster> {
    const c = new PdCluster(etcd, clusterId);
    for (let i = 0; i < n; i++) c.members.push({ name: `pd${i + 1}`, addr: `127.0.0.1:${await freePort()}`, proc: undefined });
    await Promise.all(c.members.map((m) => c.startMember(m)));
    return c;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.addr);
  }

  /** Starts (or restarts, on its old address) one member. */
  async startMember(m: PdClusterMember): Promise<void> {
    m.proc = await startPdProcess([
      "--etcd", this.etcd.endpoints.join(","),
      "--cluster-id", this.clusterId,
      "--name", m.name,
      "--addr", m.addr,
      "--lease-ttl", "2",
      "--log-level", "warn",
    ]);
  }

  /** The member that answers `Tso`, found by asking each live member directly. */
  async leader(timeoutMs = 10_000): Promise<PdClusterMember> {
    return waitUntil("a serving leader", async () => {
      for (const m of this.members) {
        if (m.proc === undefined) continue;
        if (await tsoOnce(m.addr, 300).then(() => true, () => false)) return m;
      }
      return undefined;
    }, timeoutMs);
  }

  /** kill -9 of one member; resolves once it has exited. */
  async kill(m: PdClusterMember): Promise<void> {
    await m.proc?.stop("SIGKILL");
    m.proc = undefined;
  }

  async stopAll(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        await m.proc?.stop(signal);
        m.proc = undefined;
      }),
    );
  }
}

/**
 * Distributed-mode clusters for the tests of a describe block: one etcd
 * member for the block, a fresh PD cluster (its own cluster id) per test,
 * killed after it; raw clients and etcd closed after the block.
 */
export function usePdClusters(): { start(name: string, n?: number): Promise<PdCluster> } {
  let etcd: EtcdCluster | undefined;
  let current: PdCluster | undefined;
  beforeAll(async () => {
    etcd = await startEtcdCluster({ members: 1 });
  }, 60_000);
  afterEach(async () => {
    await current?.stopAll("SIGKILL");
    current = undefined;
  });
  afterAll(async () => {
    closeRawClients();
    await etcd?.stop();
  });
  return {
    async start(name, n = 3) {
      current = await PdCluster.start(etcd!, `${name}-${Date.now()}`, n);
      return current;
    },
  };
}

/** The `p`-th percentile (nearest rank) of `xs`, for printed measurements. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
