import { createPdAdapter, type PdAdapter } from "@nokv/pd-adapter";
import type { Region } from "@nokv/pd-client";
import { benchEntry, startServerProcess, tempDir, type ServerProcess } from "./processes.js";
import { toRegion } from "./regions.js";
import { type BenchResult, fmt } from "./report.js";

/** Sizes of {@link runStormBench}. */
export interface StormBenchOptions {
  /** Simulated stores, each with its own adapter (client, connection). Default 100. */
  readonly stores?: number;
  /** Regions each store leads and reports. Default 200. */
  readonly regionsPerStore?: number;
  /** Length of each measured phase in ms. Default 5000. */
  readonly durationMs?: number;
  /** Heartbeats in flight per store. Default 8. */
  readonly inFlightPerStore?: number;
}

interface LoopStats {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly regions: number;
}

function ask<T>(pd: ServerProcess, msg: string, want: (m: unknown) => m is T): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (!want(m)) return;
      pd.child.off("message", on);
      resolve(m);
    };
    pd.child.on("message", on);
    pd.child.send(msg);
  });
}
const isStats = (m: unknown): m is LoopStats => typeof m === "object" && m !== null && "p99Ms" in m;
const isReset = (m: unknown): m is string => m === "reset-done";

/**
 * Benchmark 5, heartbeat storm: `stores` simulated stores, each through its
 * own pd-adapter, heartbeat their regions concurrently into `pd-cli pd
 * --workdir` (its own process, with an event-loop delay monitor). Phases:
 * registering every region (each one a durable write), steady heartbeats of
 * unchanged regions plus store heartbeats, and heartbeats that change every
 * region (a conf-version bump each: a durable write each).
 */
export async function runStormBench(options: StormBenchOptions = {}): Promise<BenchResult> {
  const stores = options.stores ?? 100;
  const perStore = options.regionsPerStore ?? 200;
  const durationMs = options.durationMs ?? 5000;
  const inFlight = options.inFlightPerStore ?? 8;
  const n = stores * perStore;
  const work = await tempDir("storm");
  let pd: ServerProcess | undefined;
  const adapters: PdAdapter[] = [];
  try {
    pd = await startServerProcess([benchEntry("pd-probe.js"), work.dir], { ipc: true, timeoutMs: 60_000 });
    let errors = 0;
    // Region i is led by store (i % stores) + 1 (its first peer), as toRegion places peers.
    const owned: Region[][] = Array.from({ length: stores }, () => []);
    for (let i = 0; i < n; i++) {
      const r = toRegion({ id: BigInt(i + 1), a: i, b: i + 1, version: 1n }, n, stores);
      owned[Number(r.peers[0]!.storeId) - 1]!.push(r);
    }
    for (let s = 0; s < stores; s++) {
      adapters.push(createPdAdapter({ addr: pd.addr, timeoutMs: 30_000, onError: () => void errors++ }));
    }
    await Promise.all(adapters.map((a) => a.client.connect({ timeoutMs: 30_000 })));

    const phase = async (name: string, timed: boolean, next: (s: number, i: number) => Region | "store" | undefined) => {
      await ask(pd!, "reset", isReset);
      const errors0 = errors;
      let beats = 0;
      let stop = false;
      const timer = timed ? setTimeout(() => (stop = true), durationMs) : undefined;
      const t0 = performance.now();
      await Promise.all(
        adapters.flatMap((adapter, s) => {
          let i = 0;
          return Array.from({ length: inFlight }, async () => {
            for (;;) {
              if (stop) return;
              const what = next(s, i++);
              if (what === undefined) return;
              if (what === "store") {
                await adapter.submitStoreHeartbeat({ storeId: BigInt(s + 1), regionNum: BigInt(perStore), leaderNum: BigInt(perStore), capacity: 1n << 40n, available: 1n << 39n });
              } else {
                await adapter.submitRegionHeartbeat(what);
              }
              beats++;
            }
          });
        }),
      );
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const loop = await ask(pd!, "read", isStats);
      return [name, fmt(beats), fmt(beats / seconds), errors - errors0, fmt(loop.p50Ms, 1), fmt(loop.p99Ms, 1), fmt(loop.maxMs, 1), fmt(loop.regions)];
    };

    const rows = [];
    // Register: every region's first heartbeat (a durable insert), once.
    rows.push(await phase("register (each a durable write)", false, (s, i) => owned[s]![i]));
    // Steady: a store heartbeat every `perStore` region heartbeats, regions unchanged.
    rows.push(await phase("steady (unchanged regions + store heartbeats)", true, (s, i) => (i % (perStore + 1) === perStore ? "store" : owned[s]![i % (perStore + 1)])));
    // Changing: each heartbeat bumps the region's conf version.
    const conf = new Map<bigint, bigint>();
    rows.push(
      await phase("changing (conf version bump: a durable write each)", true, (s, i) => {
        const r = owned[s]![i % perStore]!;
        const c = (conf.get(r.id) ?? 1n) + 1n;
        conf.set(r.id, c);
        return { ...r, epoch: { version: r.epoch.version, confVersion: c } };
      }),
    );
    return {
      name: "5. Heartbeat storm",
      tables: [
        {
          title: `${stores} stores × ${perStore} regions (${fmt(n)} regions), one pd-adapter each, ${inFlight} in flight per store, into pd-cli pd --workdir (own process); timed phases ${durationMs / 1000} s`,
          columns: ["phase", "heartbeats", "heartbeats/s", "errors", "server loop delay p50 ms", "p99 ms", "max ms", "regions in PD"],
          rows,
        },
      ],
      notes: ["event-loop delay is measured inside the PD process (perf_hooks.monitorEventLoopDelay, 1 ms resolution) over each phase"],
    };
  } finally {
    for (const a of adapters) a.close();
    await pd?.stop();
    await work.remove();
  }
}
