import { readFile } from "node:fs/promises";
import { credentials, Metadata } from "@grpc/grpc-js";
import { clusterKeys } from "@nokv/pd-etcd";
import { PDClient } from "@nokv/pd-proto";
import { encodeEdits } from "@nokv/pd-storage";
import { Etcd3 } from "etcd3";
import { PD_CLI_BIN, type ServerProcess, startServerProcess } from "./processes.js";
import { toRegion } from "./regions.js";

/**
 * Writes a catalog of `n` regions (contiguous, covering every key, 3 peers
 * each) straight into etcd under `/nokv/pd/<clusterId>/`, as the etcd store
 * lays it out — batched transactions of `batch` region keys, `inFlight` at
 * a time, each also moving `catalog/commit` like every PD write — plus
 * allocator ceilings above every id used. A million heartbeats through PD
 * would take an hour; this takes about a minute.
 */
export async function seedCatalog(endpoints: readonly string[], clusterId: string, n: number, options: { batch?: number; inFlight?: number } = {}): Promise<void> {
  const batch = options.batch ?? 127;
  const inFlight = options.inFlight ?? 8;
  const keys = clusterKeys(clusterId);
  const client = new Etcd3({ hosts: [...endpoints] });
  try {
    let next = 0;
    const worker = async () => {
      for (;;) {
        const from = next;
        if (from >= n) return;
        next = Math.min(n, from + batch);
        const ops = [];
        for (let i = from; i < next; i++) {
          const region = toRegion({ id: BigInt(i + 1), a: i, b: i + 1, version: 1n }, n, 3);
          ops.push({ request_put: { key: Buffer.from(keys.region(region.id)), value: encodeEdits([{ kind: "put", region }]) } });
        }
        ops.push({ request_put: { key: Buffer.from(keys.catalogCommit), value: Buffer.from(`seed.${from}`) } });
        await client.kv.txn({ compare: [], success: ops });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const idCeiling = BigInt(n + 1) * 10n + 10n;
    await client.put(keys.alloc).value(`{"id_current":${idCeiling},"ts_current":0}`);
  } finally {
    client.close();
  }
}

/** A `pd-cli pd --etcd` child process, with what it printed. */
export interface EtcdPd {
  readonly name: string;
  readonly proc: ServerProcess;
  /** How long its first full catalog load took, from its "catalog loaded" line (undefined until then). */
  loadMs(): number | undefined;
}

/** Starts `pd-cli pd --etcd …` on a free port; `heapMb` raises Node's heap limit (1M regions need ~1.2 GB). */
export async function startEtcdPd(endpoints: readonly string[], clusterId: string, name: string, heapMb?: number): Promise<EtcdPd> {
  const proc = await startServerProcess(
    [PD_CLI_BIN, "pd", "--etcd", endpoints.join(","), "--cluster-id", clusterId, "--name", name, "--addr", "127.0.0.1:0", "--log-level", "warn"],
    { timeoutMs: 120_000, nodeFlags: heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`] },
  );
  return {
    name,
    proc,
    loadMs() {
      for (const line of proc.stdout) {
        const m = / catalog loaded: .* in (\d+) ms/.exec(line);
        if (m) return Number(m[1]);
      }
      return undefined;
    },
  };
}

/** Resident memory of a process in MB (Linux), or NaN. */
export async function rssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Raw gRPC clients per address (no pd-client: a probe must ask exactly one PD). */
export class Probes {
  readonly #clients = new Map<string, PDClient>();

  #client(addr: string): PDClient {
    let c = this.#clients.get(addr);
    if (c === undefined) {
      c = new PDClient(addr, credentials.createInsecure());
      this.#clients.set(addr, c);
    }
    return c;
  }

  /** True when `addr` answered a Tso within `deadlineMs`. */
  tso(addr: string, deadlineMs: number): Promise<boolean> {
    return new Promise((resolve) =>
      this.#client(addr).tso({ count: 1n }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err) => resolve(err === null)),
    );
  }

  /** The region id `addr` routes `key` to within `deadlineMs`, or undefined. */
  regionOf(addr: string, key: Uint8Array, deadlineMs: number): Promise<bigint | undefined> {
    return new Promise((resolve) =>
      this.#client(addr).getRegionByKey({ key: Buffer.from(key) }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
        resolve(err === null && res.region !== undefined && !res.notFound ? res.region.id : undefined),
      ),
    );
  }

  /** The first of `pds` that answers Tso, polled every `intervalMs` until `timeoutMs`. */
  async leader(pds: readonly EtcdPd[], timeoutMs = 60_000, intervalMs = 20): Promise<EtcdPd> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const p of pds) if (await this.tso(p.proc.addr, 300)) return p;
      if (performance.now() > deadline) throw new Error(`no PD answered Tso within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

/** Waits until `cond()` holds, polling every `intervalMs`; throws naming `what` after `timeoutMs`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
