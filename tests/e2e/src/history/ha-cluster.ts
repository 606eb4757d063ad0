import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata } from "@grpc/grpc-js";
import { type EtcdCluster, startEtcdCluster, waitUntil } from "@nokv/testkit";
import { PDClient } from "@nokv/pd-proto";
import { type PdProcess, startPdProcess } from "../harness/pd-process.js";
import { TcpProxy } from "./tcp-proxy.js";

/** The environment variable of pd-cli's test-only clock hook. */
const TEST_CLOCK_ENV = "NOKV_PD_TEST_CLOCK_FILE";

/** One PD of the cluster: a fixed name and address (kept across restarts), its own way to etcd. */
export interface PdNode {
  readonly name: string;
  readonly addr: string;
  /** One proxy per etcd member: this PD's only way to etcd, so it can be cut alone. */
  readonly proxies: readonly TcpProxy[];
  /** The file pd-cli's test clock hook reads this PD's wall-clock offset from. */
  readonly clockFile: string;
  proc: PdProcess | undefined;
  paused: boolean;
}

/** Options of {@link HaCluster.start}. */
export interface HaClusterOptions {
  readonly pds?: number;
  readonly etcdMembers?: 1 | 3;
  readonly leaseTtlSec?: number;
  readonly clusterId?: string;
  /** pd-cli's `--log-level`. Default `warn`. */
  readonly logLevel?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Several real `pd-cli pd --etcd` processes on a real etcd cluster, each
 * reaching every etcd member only through TCP proxies of its own, with the
 * faults the history runs inject: kill -9 and restart, SIGSTOP/SIGCONT of a
 * PD or of an etcd member, a cut between one PD and etcd, a wall-clock step
 * in one PD.
 */
export class HaCluster {
  readonly pds: PdNode[] = [];
  readonly leaseTtlSec: number;
  readonly #dir: string;
  readonly #clusterId: string;
  readonly #logLevel: string;
  readonly #probes = new Map<string, PDClient>();

  private constructor(readonly etcd: EtcdCluster, dir: string, options: HaClusterOptions) {
    this.#dir = dir;
    this.leaseTtlSec = options.leaseTtlSec ?? 2;
    this.#clusterId = options.clusterId ?? `history-${Date.now()}`;
    this.#logLevel = options.logLevel ?? "warn";
  }

  /** Starts etcd, the proxies and the PDs, and waits for a leader. */
  static async start(options: HaClusterOptions = {}): Promise<HaCluster> {
    const etcd = await startEtcdCluster({ members: options.etcdMembers ?? 3 });
    const dir = await mkdtemp(join(tmpdir(), "nokv-history-"));
    const c = new HaCluster(etcd, dir, options);
    try {
      for (let i = 0; i < (options.pds ?? 3); i++) {
        const proxies = await Promise.all(etcd.endpoints.map((e) => TcpProxy.start(e)));
        const clockFile = join(dir, `clock-pd${i + 1}`);
        await writeFile(clockFile, "0");
        c.pds.push({ name: `pd${i + 1}`, addr: `127.0.0.1:${await freePort()}`, proxies, clockFile, proc: undefined, paused: false });
      }
      await Promise.all(c.pds.map((n) => c.startPd(n)));
      await c.leader(30_000);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** Every PD's address, for clients. */
  get addrs(): string[] {
    return this.pds.map((n) => n.addr);
  }

  /** Starts (or restarts) `node` on its address, through its proxies. */
  async startPd(node: PdNode): Promise<void> {
    node.proc = await startPdProcess(
      [
        "--etcd", node.proxies.map((p) => p.url).join(","),
        "--cluster-id", this.#clusterId,
        "--name", node.name,
        "--addr", node.addr,
        "--lease-ttl", String(this.leaseTtlSec),
        "--log-level", this.#logLevel,
      ],
      { env: { [TEST_CLOCK_ENV]: node.clockFile }, timeoutMs: 30_000 },
    );
    node.paused = false;
  }

  /** The PD that answers `Tso` now, asked directly (no redirects); waits up to `timeoutMs`. */
  async leader(timeoutMs = 15_000): Promise<PdNode> {
    return waitUntil("a PD answering Tso", async () => {
      for (const n of this.pds) {
        if (n.proc === undefined || n.paused) continue;
        if (await this.#tso(n.addr, 300)) return n;
      }
      return undefined;
    }, { timeoutMs, intervalMs: 20 });
  }

  /** kill -9. */
  async kill(node: PdNode): Promise<void> {
    const p = node.proc;
    node.proc = undefined;
    if (node.paused) p?.child.kill("SIGCONT");
    node.paused = false;
    await p?.stop("SIGKILL");
  }

  pause(node: PdNode): void {
    node.proc?.child.kill("SIGSTOP");
    node.paused = true;
  }

  resume(node: PdNode): void {
    node.proc?.child.kill("SIGCONT");
    node.paused = false;
  }

  /** Cuts `node` from every etcd member (a black hole, see {@link TcpProxy}). */
  cutFromEtcd(node: PdNode): void {
    for (const p of node.proxies) p.cut();
  }

  healFromEtcd(node: PdNode): void {
    for (const p of node.proxies) p.heal();
  }

  /** Steps `node`'s wall clock to `offsetMs` from the real one (pd-cli's test clock hook) and waits until it says so. */
  async setClockOffset(node: PdNode, offsetMs: number): Promise<void> {
    const proc = node.proc;
    if (proc === undefined) return;
    await writeFile(node.clockFile, String(offsetMs));
    const seen = proc.stdout.length;
    proc.child.kill("SIGUSR2");
    await waitUntil(`${node.name} to step its clock`, () => proc.stdout.slice(seen).some((l) => l === `PD-lite test clock offset ${offsetMs} ms`), { timeoutMs: 5000 });
  }

  /** Stops everything and removes the temporary files. Idempotent. */
  async stop(): Promise<void> {
    for (const c of this.#probes.values()) c.close();
    this.#probes.clear();
    for (let i = 0; i < this.etcd.endpoints.length; i++) this.etcd.resume(i);
    await Promise.all(this.pds.map((n) => this.kill(n)));
    for (const n of this.pds) for (const p of n.proxies) await p.close();
    await this.etcd.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }

  #tso(addr: string, deadlineMs: number): Promise<boolean> {
    let c = this.#probes.get(addr);
    if (c === undefined) {
      c = new PDClient(addr, credentials.createInsecure());
      this.#probes.set(addr, c);
    }
    const client = c;
    return new Promise((resolve) =>
      client.tso({ count: 1n }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err) => resolve(err === null)),
    );
  }
}
