import { type AllocatorState, createCluster, type Run } from "@nokv/pd-core";
import { openLocalFileStore } from "@nokv/pd-storage";
import { installFsyncCounter, syncCalls } from "./fsync-counter.js";
import { tempDir } from "./processes.js";
import { type BenchResult, fmt, ratio } from "./report.js";

/** Sizes of {@link runDurabilityBench}. */
export interface DurabilityBenchOptions {
  /** Values allocated per allocator with PD's allocators. Default 100 000. */
  readonly values?: number;
  /** Calls of the naive persist-every-call baseline (extrapolated to `values`). Default 2000. */
  readonly naiveCalls?: number;
}

interface Measured {
  readonly syncs: number;
  readonly stateWrites: number;
  readonly seconds: number;
  readonly calls: number;
}

/**
 * Calls `alloc(1)` `calls` times in sequence, awaiting only when it returns
 * a promise. Every 64 calls it yields to I/O, as a server does between RPCs:
 * otherwise a background ceiling write could never land during the loop.
 */
async function allocLoop(alloc: (count: bigint) => Run | Promise<Run>, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const r = alloc(1n);
    if (r instanceof Promise) await r;
    if ((i & 63) === 63) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Benchmark 3, the allocators' durability cost with `--workdir` (pd-core's
 * allocators over pd-storage's local-file store in a temp dir, in process):
 * one-value AllocID and Tso calls, counting every real fsync/fdatasync the
 * process makes, against a naive allocator that makes `PD_STATE.json`
 * durable on every call, in the same run.
 */
export async function runDurabilityBench(options: DurabilityBenchOptions = {}): Promise<BenchResult> {
  const values = options.values ?? 100_000;
  const naiveCalls = options.naiveCalls ?? 2000;
  const counts = await installFsyncCounter();
  const work = await tempDir("durability");
  try {
    const store = await openLocalFileStore({ dir: work.dir });
    const cluster = createCluster({ persistence: store, snapshot: await store.load() });
    const measure = async (what: () => Promise<void>, calls: number): Promise<Measured> => {
      await quiet(() => store.stats().stateWrites); // settle anything pending
      const syncs0 = syncCalls(counts);
      const writes0 = store.stats().stateWrites;
      const t0 = performance.now();
      await what();
      const seconds = (performance.now() - t0) / 1000;
      // Background refills started by the loop are part of the cost: wait
      // until no write has landed for 50 ms (bounded at 2 s).
      await quiet(() => store.stats().stateWrites);
      return { syncs: syncCalls(counts) - syncs0, stateWrites: store.stats().stateWrites - writes0, seconds, calls };
    };
    const ids = await measure(() => allocLoop((n) => cluster.allocId(n), values), values);
    const tso = await measure(() => allocLoop((n) => cluster.allocTimestamps(n), values), values);
    // Naive: the same store, one durable PD_STATE.json write per call.
    let idCurrent = cluster.checkpoint.durable.idCurrent;
    const naive = await measure(async () => {
      for (let i = 0; i < naiveCalls; i++) {
        idCurrent += 1n;
        const state: AllocatorState = { idCurrent, tsCurrent: cluster.checkpoint.durable.tsCurrent };
        await store.saveAllocatorState(state);
      }
    }, naiveCalls);
    await store.close();
    const per100k = (m: Measured) => (m.syncs / m.calls) * 100_000;
    const rows = [
      ["AllocID (count 1), PD", fmt(values), fmt(ids.stateWrites), fmt(ids.syncs), fmt(per100k(ids), 1), fmt(values / ids.seconds)],
      ["Tso (count 1), PD", fmt(values), fmt(tso.stateWrites), fmt(tso.syncs), fmt(per100k(tso), 1), fmt(values / tso.seconds)],
      [
        "naive: persist every call",
        fmt(naiveCalls),
        fmt(naive.stateWrites),
        fmt(naive.syncs),
        fmt(per100k(naive), 0),
        fmt(naiveCalls / naive.seconds),
      ],
    ];
    return {
      name: "3. Allocator durability cost (--workdir)",
      tables: [
        {
          title: "one value per call, in process, pd-core allocators over the local-file store; fsyncs counted at the file handle",
          columns: ["allocator", "calls", "PD_STATE.json writes", "fsync+fdatasync calls", "syncs per 100k values", "values/s"],
          rows,
        },
      ],
      notes: [
        `PD makes ${ratio(per100k(naive), Math.max(per100k(ids), 1e-9))} fewer syncs than the naive baseline for AllocID and ${ratio(per100k(naive), Math.max(per100k(tso), 1e-9))} fewer for Tso (naive extrapolated from ${fmt(naiveCalls)} calls); each PD_STATE.json write is an fsync of the temp file plus one of the directory`,
        `ids are reserved 1000 ahead per write (--id window), timestamps 3 s of physical time ahead, refilled in the background before the ceiling is reached`,
      ],
    };
  } finally {
    await work.remove();
  }
}

/** Resolves once `counter()` has not changed for 50 ms, or after 2 s. */
async function quiet(counter: () => number): Promise<void> {
  const deadline = performance.now() + 2000;
  let last = counter();
  let stableSince = performance.now();
  while (performance.now() < deadline && performance.now() - stableSince < 50) {
    await new Promise((r) => setTimeout(r, 5));
    const now = counter();
    if (now !== last) {
      last = now;
      stableSince = performance.now();
    }
  }
}
