import { monitorEventLoopDelay } from "node:perf_hooks";
import { createPdClient, type PdClient, type Region } from "@nokv/pd-client";
import { type Cluster, createCluster } from "@nokv/pd-core";
import { type LocalFileStore, openLocalFileStore } from "@nokv/pd-storage";
import { installFsyncCounter, syncCalls } from "./fsync-counter.js";
import { dirBytes, startPdCli, tempDir } from "./processes.js";
import { boundaryKey, type GenRegion, randomKey, splitToSize, toRegion } from "./regions.js";
import { type BenchResult, fmt, verdict } from "./report.js";

/** Sizes of {@link runCatalogBench}. */
export interface CatalogBenchOptions {
  /** Catalog sizes. Default 1k, 10k, 100k, 1M. */
  readonly sizes?: readonly number[];
  /** Steady heartbeats and lookups measured in process per size. Default 200 000. */
  readonly ops?: number;
  /** Heartbeats, lookups and splits measured through the server per size. Default 20 000. */
  readonly serverOps?: number;
  /** Requests in flight through the server. Default 64. */
  readonly inFlight?: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number | undefined {
  if (gc === undefined) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Runs `ops` async operations with `inFlight` in flight; returns the elapsed seconds. */
async function pipelined(ops: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, ops) }, async () => {
      while (next < ops) await op(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Waits until no fsync has happened for 200 ms (background compaction done), bounded at 60 s. */
async function diskQuiet(count: () => number): Promise<void> {
  const deadline = performance.now() + 60_000;
  let last = count();
  let since = performance.now();
  while (performance.now() < deadline && performance.now() - since < 200) {
    await new Promise((r) => setTimeout(r, 20));
    if (count() !== last) {
      last = count();
      since = performance.now();
    }
  }
}

interface SizeResult {
  readonly n: number;
  readonly splitUs: number;
  readonly steadyUs: number;
  readonly lookupUs: number;
  readonly steadyWrites: number;
  readonly bytesPerRegion: number | undefined;
  readonly worstPauseMs: number;
  readonly buildSyncs: number;
  readonly restartMs: number;
  readonly restartOpenMs: number;
  readonly diskBytes: number;
  readonly cliStartMs: number;
  readonly serverSteadyUs: number;
  readonly serverLookupUs: number;
  readonly serverSplitUs: number;
  readonly serverSteadyWrites: number;
}

async function oneSize(n: number, ops: number, serverOps: number, inFlight: number): Promise<SizeResult> {
  const counts = await installFsyncCounter();
  const work = await tempDir(`catalog-${n}`);
  try {
    const heap0 = heapUsed();
    let store: LocalFileStore = await openLocalFileStore({ dir: work.dir });
    let cluster: Cluster = createCluster({ persistence: store, snapshot: await store.load() });

    // Build: successive splits, sent in chunks (group commit batches them).
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const syncs0 = syncCalls(counts);
    let beats = 0;
    const tBuild = performance.now();
    const final = await splitToSize(n, async (chunk) => {
      beats += chunk.length;
      await Promise.all(chunk.map((g) => cluster.regionHeartbeat(toRegion(g, n))));
    });
    const buildSec = (performance.now() - tBuild) / 1000;
    await diskQuiet(() => syncCalls(counts));
    loop.disable();
    const worstPauseMs = loop.max / 1e6;
    const buildSyncs = syncCalls(counts) - syncs0;
    if (cluster.regions.size !== n) throw new Error(`catalog holds ${cluster.regions.size} regions, expected ${n}`);
    const heap1 = heapUsed();

    // Steady heartbeats of unchanged regions (fresh objects, as decoded from the wire).
    const sample: GenRegion[] = Array.from({ length: ops }, () => final[Math.floor(Math.random() * final.length)]!);
    const steadyBeats = sample.map((g) => toRegion(g, n));
    const writes0 = syncCalls(counts) + store.stats().appends;
    const tSteady = performance.now();
    for (let i = 0; i < steadyBeats.length; i += 1024) {
      await Promise.all(steadyBeats.slice(i, i + 1024).map((r) => cluster.regionHeartbeat(r)));
    }
    const steadySec = (performance.now() - tSteady) / 1000;
    const steadyWrites = syncCalls(counts) + store.stats().appends - writes0;

    // Lookups of random keys.
    const keys = Array.from({ length: ops }, () => randomKey(n));
    let found = 0;
    const tLookup = performance.now();
    for (const k of keys) if (cluster.getRegionByKey(k) !== undefined) found++;
    const lookupSec = (performance.now() - tLookup) / 1000;
    if (found !== ops) throw new Error(`${ops - found} lookups found no region`);

    await cluster.flush();
    await store.close();

    // Restart in process: read snapshot + replay the log tail, rebuild the index.
    const tOpen = performance.now();
    store = await openLocalFileStore({ dir: work.dir });
    const snapshot = await store.load();
    const restartOpenMs = performance.now() - tOpen;
    cluster = createCluster({ persistence: store, snapshot });
    const restartMs = performance.now() - tOpen;
    if (cluster.regions.size !== n) throw new Error(`restart restored ${cluster.regions.size} regions, expected ${n}`);
    await store.close();
    const diskBytes = await dirBytes(work.dir);
    // Drop this process's copy before the server takes over.
    cluster = undefined as unknown as Cluster;
    store = undefined as unknown as LocalFileStore;
    heapUsed();

    // Through the server: pd-cli restarts on the same workdir.
    const pd = await startPdCli(work.dir);
    let client: PdClient | undefined;
    try {
      client = createPdClient({ addr: pd.addr, timeoutMs: 30_000 });
      await client.connect();
      const c = client;
      const serverSample = Array.from({ length: serverOps }, () => toRegion(final[Math.floor(Math.random() * final.length)]!, n));
      await pipelined(Math.min(2000, serverOps), inFlight, (i) => c.regionHeartbeat(serverSample[i]!)); // warm-up
      const diskBefore = await dirBytes(work.dir);
      const hbSec = await pipelined(serverOps, inFlight, (i) => c.regionHeartbeat(serverSample[i]!));
      const serverSteadyWrites = (await dirBytes(work.dir)) - diskBefore;
      const serverKeys = Array.from({ length: serverOps }, () => randomKey(n));
      const lookupServerSec = await pipelined(serverOps, inFlight, async (i) => {
        if ((await c.getRegionByKey(serverKeys[i]!, { bypassCache: true })) === undefined) throw new Error("lookup found no region");
      });
      // Splits through the server: distinct regions, each cut at start + "m".
      const victims = new Set<number>();
      while (victims.size < Math.min(serverOps, final.length)) victims.add(Math.floor(Math.random() * final.length));
      const splitPairs: Array<[Region, Region]> = [...victims].map((v, i) => {
        const g = final[v]!;
        const whole = toRegion(g, n);
        const mid = Buffer.concat([g.a === 0 ? boundaryKey(0) : whole.startKey, Buffer.from("m")]);
        const epoch = { version: g.version + 1n, confVersion: 1n };
        const rightId = 10_000_000_000n + BigInt(i);
        return [
          { ...whole, endKey: mid, epoch },
          { ...whole, id: rightId, startKey: mid, epoch, peers: whole.peers.map((p, k) => ({ storeId: p.storeId, peerId: rightId * 10n + BigInt(k) })) },
        ];
      });
      const splitSec = await pipelined(splitPairs.length, inFlight, async (i) => {
        const [left, right] = splitPairs[i]!;
        await c.regionHeartbeat(left);
        await c.regionHeartbeat(right);
      });
      return {
        n,
        splitUs: (buildSec / beats) * 1e6,
        steadyUs: (steadySec / ops) * 1e6,
        lookupUs: (lookupSec / ops) * 1e6,
        steadyWrites,
        bytesPerRegion: heap0 !== undefined && heap1 !== undefined ? (heap1 - heap0) / n : undefined,
        worstPauseMs,
        buildSyncs,
        restartMs,
        restartOpenMs,
        diskBytes,
        cliStartMs: pd.startMs,
        serverSteadyUs: (hbSec / serverOps) * 1e6,
        serverLookupUs: (lookupServerSec / serverOps) * 1e6,
        serverSplitUs: (splitSec / (splitPairs.length * 2)) * 1e6,
        serverSteadyWrites,
      };
    } finally {
      client?.close();
      await pd.stop(30_000);
    }
  } finally {
    await work.remove();
  }
}

/**
 * Benchmark 4, region catalog scaling: at each size, in process against
 * pd-core over the local-file store (split heartbeats that build the catalog,
 * steady heartbeats of unchanged regions, lookups of random keys, memory,
 * the worst event-loop pause while building and compacting, restart time),
 * then through `pd-cli pd` restarted on the same workdir (its own process).
 */
export async function runCatalogBench(options: CatalogBenchOptions = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [1000, 10_000, 100_000, 1_000_000];
  const ops = options.ops ?? 200_000;
  const serverOps = options.serverOps ?? 20_000;
  const inFlight = options.inFlight ?? 64;
  const results: SizeResult[] = [];
  for (const n of sizes) results.push(await oneSize(n, ops, serverOps, inFlight));
  const first = results[0]!;
  const last = results.at(-1)!;
  const r = (f: (s: SizeResult) => number) => `${(f(last) / f(first)).toFixed(2)}×`;
  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
  const ratioCol = `${label(last.n)}/${label(first.n)}`;
  const inProcess = {
    title: `in process (pd-core + local-file store): µs per operation; ${fmt(ops)} steady heartbeats and lookups per size`,
    columns: ["regions", "split heartbeat µs", "steady heartbeat µs", "GetRegionByKey µs", "disk writes in steady phase", "heap bytes/region", "worst event-loop pause ms (build + compaction)"],
    rows: [
      ...results.map((s) => [
        label(s.n),
        fmt(s.splitUs, 2),
        fmt(s.steadyUs, 2),
        fmt(s.lookupUs, 3),
        s.steadyWrites,
        s.bytesPerRegion === undefined ? "n/a (needs --expose-gc)" : fmt(s.bytesPerRegion),
        fmt(s.worstPauseMs, 1),
      ]),
      [ratioCol, r((s) => s.splitUs), r((s) => s.steadyUs), r((s) => s.lookupUs), "", "", ""],
    ],
  };
  const server = {
    title: `through pd-cli pd --workdir (own process, pd-client, ${inFlight} in flight): µs per operation (wall time / ops); ${fmt(serverOps)} ops per size`,
    columns: ["regions", "steady RegionHeartbeat µs", "GetRegionByKey µs", "split RegionHeartbeat µs", "workdir growth in steady phase (bytes)"],
    rows: [
      ...results.map((s) => [label(s.n), fmt(s.serverSteadyUs, 1), fmt(s.serverLookupUs, 1), fmt(s.serverSplitUs, 1), s.serverSteadyWrites]),
      [ratioCol, r((s) => s.serverSteadyUs), r((s) => s.serverLookupUs), r((s) => s.serverSplitUs), ""],
    ],
  };
  const restart = {
    title: "restart on the workdir",
    columns: ["regions", "in-process open + load + replay ms", "…plus index rebuild ms", "pd-cli spawn → listening ms", "workdir bytes", "bytes/region on disk", "fsyncs while building"],
    rows: results.map((s) => [label(s.n), fmt(s.restartOpenMs), fmt(s.restartMs), fmt(s.cliStartMs), fmt(s.diskBytes), fmt(s.diskBytes / s.n, 1), fmt(s.buildSyncs)]),
  };
  const worstRatio = Math.max(last.steadyUs / first.steadyUs, last.lookupUs / first.lookupUs, last.serverSteadyUs / first.serverSteadyUs, last.serverLookupUs / first.serverLookupUs);
  const notes = [
    `per-op ratio ${ratioCol} ≤ 3 (steady heartbeat and lookup, in process and through the server): ${verdict(worstRatio <= 3)} (worst ${worstRatio.toFixed(2)}×; split heartbeats in process ${r((s) => s.splitUs)})`,
    `steady unchanged heartbeats cause zero disk writes: ${verdict(results.every((s) => s.steadyWrites === 0 && s.serverSteadyWrites === 0))}`,
    `restart of ${label(last.n)} regions < 30 s: ${verdict(last.cliStartMs < 30_000 && last.restartMs < 30_000)} (pd-cli ${fmt(last.cliStartMs / 1000, 1)} s, in process ${fmt(last.restartMs / 1000, 1)} s)`,
  ];
  return { name: "4. Region catalog scaling", tables: [inProcess, server, restart], notes };
}
