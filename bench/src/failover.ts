import { startEtcdCluster } from "@nokv/testkit";
import { type EtcdPd, Probes, rssMb, seedCatalog, startEtcdPd, until } from "./etcd-mode.js";
import { boundaryKey } from "./regions.js";
import { type BenchResult, fmt, median } from "./report.js";

/** Sizes of {@link runFailoverBench}. */
export interface FailoverBenchOptions {
  /** Catalog sizes. Default 1k, 100k, 1M. */
  readonly sizes?: readonly number[];
  /** kill -9s of the leader per size. Default 5. */
  readonly kills?: number;
  /** PDs per size: 3 up to 100k regions, 2 above (each holds the whole catalog: ~1.2 GB at 1M). */
  readonly pdsFor?: (regions: number) => number;
}

interface KillResult {
  readonly tsoMs: number;
  readonly getMs: number;
}

/**
 * Failover at catalog scale: etcd (one member) seeded with `n` regions in
 * bulk, several `pd-cli pd --etcd` processes (default lease, 2 s) that each
 * load the catalog once and then follow etcd (warm followers), and `kills`
 * rounds of: kill -9 of the leader, then the time until the first `Tso` and
 * the first `GetRegionByKey` (of a random region, right answer) answered by
 * the new leader — every other PD probed directly every few ms. The killed
 * PD is started again and the next round waits until it is warm too.
 */
export async function runFailoverBench(options: FailoverBenchOptions = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [1000, 100_000, 1_000_000];
  const kills = options.kills ?? 5;
  const pdsFor = options.pdsFor ?? ((n: number) => (n > 100_000 ? 2 : 3));
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  for (const n of sizes) {
    const etcd = await startEtcdCluster({ members: 1 });
    const probes = new Probes();
    const pds: EtcdPd[] = [];
    try {
      const clusterId = `failover-${n}`;
      const seedStart = performance.now();
      await seedCatalog(etcd.endpoints, clusterId, n);
      const seedMs = performance.now() - seedStart;
      const heapMb = n > 100_000 ? 4096 : undefined;
      const count = pdsFor(n);
      for (let i = 0; i < count; i++) pds.push(await startEtcdPd(etcd.endpoints, clusterId, `pd${i + 1}`, heapMb));
      const warmTimeoutMs = 120_000 + n / 10;
      await until("every PD to load the catalog", () => pds.every((p) => p.loadMs() !== undefined), warmTimeoutMs);
      await probes.leader(pds);
      const loads = pds.map((p) => p.loadMs()!);
      const rss = await Promise.all(pds.map((p) => rssMb(p.proc.child.pid)));
      const results: KillResult[] = [];
      for (let k = 0; k < kills; k++) {
        const leader = await probes.leader(pds);
        const i = 1 + Math.floor(Math.random() * (n - 1));
        const key = boundaryKey(i);
        const want = BigInt(i + 1);
        const others = pds.filter((p) => p !== leader);
        const t0 = performance.now();
        leader.proc.child.kill("SIGKILL");
        let tsoMs: number | undefined;
        let getMs: number | undefined;
        // Probe every other PD directly, both calls, until one answers each.
        await Promise.all(
          others.flatMap((p) => [
            (async () => {
              while (tsoMs === undefined && performance.now() - t0 < 60_000) {
                if (await probes.tso(p.proc.addr, 250)) tsoMs ??= performance.now() - t0;
                else await new Promise((r) => setTimeout(r, 5));
              }
            })(),
            (async () => {
              while (getMs === undefined && performance.now() - t0 < 60_000) {
                if ((await probes.regionOf(p.proc.addr, key, 250)) === want) getMs ??= performance.now() - t0;
                else await new Promise((r) => setTimeout(r, 5));
              }
            })(),
          ]),
        );
        if (tsoMs === undefined || getMs === undefined) throw new Error(`${n} regions: no new leader within 60 s of kill ${k + 1}`);
        results.push({ tsoMs, getMs });
        await leader.proc.stop(0);
        // Back as a follower: the next kill waits until it is warm again.
        const again = await startEtcdPd(etcd.endpoints, clusterId, leader.name, heapMb);
        pds[pds.indexOf(leader)] = again;
        await until(`${again.name} to load the catalog`, () => again.loadMs() !== undefined, warmTimeoutMs);
      }
      const tso = results.map((r) => r.tsoMs);
      const get = results.map((r) => r.getMs);
      const mmm = (xs: number[]) => `${fmt(Math.min(...xs))} / ${fmt(median(xs))} / ${fmt(Math.max(...xs))}`;
      rows.push([fmt(n), count, kills, mmm(tso), mmm(get), fmt(median(loads)), fmt(median(rss)), fmt(seedMs / 1000, 1)]);
      notes.push(`${fmt(n)} regions, each kill (Tso ms, GetRegionByKey ms): ${results.map((r) => `${Math.round(r.tsoMs)}/${Math.round(r.getMs)}`).join(", ")}`);
    } finally {
      probes.close();
      await Promise.all(pds.map((p) => p.proc.stop(1000)));
      await etcd.stop();
    }
  }
  const worst = rows.map((r) => String(r[3]).split(" / ")[2]);
  notes.push(`goal: first Tso and first GetRegionByKey from the new leader < 3 s after kill -9 (lease 2 s); worst Tso per size: ${worst.join(", ")} ms`);
  return {
    name: "6. Failover at catalog scale (etcd mode, warm followers)",
    tables: [
      {
        title: "kill -9 of the leader → first answer by the new leader, ms (min / median / max); lease 2 s, one etcd member, catalog seeded in bulk",
        columns: ["regions", "PDs", "kills", "first Tso ms", "first GetRegionByKey ms", "a follower's full load ms (once, at start)", "RSS per PD MB", "seed s"],
        rows,
      },
    ],
    notes,
  };
}
