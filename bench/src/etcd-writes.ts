import { credentials, Metadata } from "@grpc/grpc-js";
import { PDClient } from "@nokv/pd-proto";
import { startEtcdCluster } from "@nokv/testkit";
import { Etcd3 } from "etcd3";
import { type EtcdPd, Probes, startEtcdPd, until } from "./etcd-mode.js";
import { type BenchResult, fmt, median, ratio, verdict } from "./report.js";

/** Sizes of {@link runEtcdWritesBench}. */
export interface EtcdWritesBenchOptions {
  /** Calls in flight. Default 64. */
  readonly inFlight?: number;
  /** Length of one measured run, in ms. Default 5000. */
  readonly durationMs?: number;
  /** Alternating runs of each (raw, PD, raw, PD, …). Default 5. */
  readonly runs?: number;
  /** PDs: one leader, the others warm followers replaying every write. Default 3. */
  readonly pds?: number;
}

async function measure(inFlight: number, durationMs: number, one: (i: number, n: number) => Promise<void>): Promise<number> {
  let done = 0;
  let stop = false;
  const t0 = performance.now();
  const timer = setTimeout(() => (stop = true), durationMs);
  await Promise.all(
    Array.from({ length: inFlight }, async (_, i) => {
      for (let n = 0; !stop; n++) {
        await one(i, n);
        done++;
      }
    }),
  );
  clearTimeout(timer);
  return done / ((performance.now() - t0) / 1000);
}

/**
 * Durable region heartbeats in etcd mode beside the raw write rate of the
 * same etcd, in one run: `inFlight` single-key puts of a region-sized value
 * straight to etcd, against `inFlight` heartbeats that each change a region
 * (a conf-version bump: a durable, fenced write each) sent to the leader of
 * `pds` PDs, whose followers replay every write into their warm copies.
 * Runs alternate, so a noisy machine hits both alike; medians are compared.
 */
export async function runEtcdWritesBench(options: EtcdWritesBenchOptions = {}): Promise<BenchResult> {
  const inFlight = options.inFlight ?? 64;
  const durationMs = options.durationMs ?? 5000;
  const runs = options.runs ?? 5;
  const count = options.pds ?? 3;
  const etcd = await startEtcdCluster({ members: 1 });
  const raw = new Etcd3({ hosts: [...etcd.endpoints] });
  const probes = new Probes();
  const pds: EtcdPd[] = [];
  let pd: PDClient | undefined;
  try {
    const clusterId = "writes";
    for (let i = 0; i < count; i++) pds.push(await startEtcdPd(etcd.endpoints, clusterId, `pd${i + 1}`));
    await until("every PD to load the catalog", () => pds.every((p) => p.loadMs() !== undefined), 60_000);
    const leader = await probes.leader(pds);
    pd = new PDClient(leader.proc.addr, credentials.createInsecure());
    const client = pd;
    const value = Buffer.alloc(120, 7); // about a region's payload
    const conf = new Map<number, bigint>();
    const heartbeat = (i: number): Promise<void> => {
      const c = (conf.get(i) ?? 0n) + 1n;
      conf.set(i, c);
      const key = Buffer.from(`bench-${String(i).padStart(4, "0")}`);
      const region = {
        id: BigInt(1000 + i),
        startKey: key,
        endKey: Buffer.concat([key, Buffer.from("~")]),
        epochVersion: 1n,
        epochConfVersion: c,
        peers: [{ storeId: 1n, peerId: BigInt(100_000 + i) }],
      };
      return new Promise((resolve, reject) =>
        client.regionHeartbeat({ region }, new Metadata(), { deadline: Date.now() + 10_000 }, (err) => (err ? reject(err) : resolve())),
      );
    };
    // Register the regions once (not measured).
    await Promise.all(Array.from({ length: inFlight }, (_, i) => heartbeat(i)));
    const rawRates: number[] = [];
    const pdRates: number[] = [];
    for (let r = 0; r < runs; r++) {
      rawRates.push(await measure(inFlight, durationMs, async (i, n) => void (await raw.put(`/bench/raw/${i}/${n % 64}`).value(value))));
      pdRates.push(await measure(inFlight, durationMs, (i) => heartbeat(i)));
    }
    const rawMedian = median(rawRates);
    const pdMedian = median(pdRates);
    return {
      name: "7. Durable heartbeats in etcd mode vs raw etcd puts",
      tables: [
        {
          title: `${inFlight} in flight, ${runs} alternating runs of ${durationMs / 1000} s each; one etcd member; ${count} PDs (leader + ${count - 1} warm followers replaying every write)`,
          columns: ["writer", "writes/s (runs)", "median", "vs raw etcd"],
          rows: [
            ["raw etcd puts (etcd3 client, one key each)", rawRates.map((x) => fmt(x)).join(" / "), fmt(rawMedian), "1.00×"],
            ["durable RegionHeartbeat to the PD leader (conf bump each)", pdRates.map((x) => fmt(x)).join(" / "), fmt(pdMedian), ratio(pdMedian, rawMedian)],
          ],
        },
      ],
      notes: [`goal ≥ 0.6× raw etcd puts: ${verdict(pdMedian >= 0.6 * rawMedian)} (${ratio(pdMedian, rawMedian)})`],
    };
  } finally {
    pd?.close();
    probes.close();
    raw.close();
    await Promise.all(pds.map((p) => p.proc.stop(1000)));
    await etcd.stop();
  }
}
