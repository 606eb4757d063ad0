import { credentials, Metadata } from "@grpc/grpc-js";
import { PDClient, PDService, type TsoRequest, type TsoResponse } from "@nokv/pd-proto";
import { LatencyHistogram } from "./histogram.js";
import { benchEntry, startPdCli, startServerProcess, tempDir, type ServerProcess } from "./processes.js";
import { type BenchResult, fmt, median, ratio, verdict } from "./report.js";

/** Sizes of {@link runTransportBench}. */
export interface TransportBenchOptions {
  /** Calls in flight to compare. Default [1, 16, 128]. */
  readonly inFlight?: readonly number[];
  /** Measured rounds per target and concurrency; targets alternate within a round. Default 3. */
  readonly rounds?: number;
  /** Length of one round in ms. Default 1000. */
  readonly roundMs?: number;
}

interface Sample {
  readonly callsPerSec: number;
  readonly hist: LatencyHistogram;
}

/**
 * Closed loop: `inFlight` callers each sending the next unary `Tso` as soon as
 * the previous answer arrives, for `durationMs`. The client is a raw grpc-js
 * client (no pd-client logic), the same for every target.
 */
async function closedLoop(client: PDClient, inFlight: number, durationMs: number): Promise<Sample> {
  const def = PDService.tso;
  const hist = new LatencyHistogram();
  const request: TsoRequest = { count: 1n };
  let stop = false;
  let calls = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      client.makeUnaryRequest<TsoRequest, TsoResponse>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new Metadata(),
        {},
        (err) => {
          if (err) return reject(err);
          hist.record(performance.now() - t0);
          calls++;
          resolve();
        },
      );
    });
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), durationMs);
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (!stop) await one();
    }),
  );
  clearTimeout(timer);
  return { callsPerSec: calls / ((performance.now() - started) / 1000), hist };
}

async function connect(addr: string): Promise<PDClient> {
  const c = new PDClient(addr, credentials.createInsecure());
  await new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
  return c;
}

/**
 * Benchmark 1, the transport ceiling: the same raw grpc-js client drives a
 * bare grpc-js server (no-op `Tso`), `pd-cli pd` in memory and `pd-cli pd
 * --workdir`, each in its own process, at each concurrency. Rounds alternate
 * between the targets so that machine noise hits all of them alike; the
 * table shows medians over rounds and PD's ratio to the bare server.
 */
export async function runTransportBench(options: TransportBenchOptions = {}): Promise<BenchResult> {
  const inFlights = options.inFlight ?? [1, 16, 128];
  const rounds = options.rounds ?? 3;
  const roundMs = options.roundMs ?? 1000;
  const work = await tempDir("transport");
  const procs: ServerProcess[] = [];
  const clients: PDClient[] = [];
  try {
    const bare = await startServerProcess([benchEntry("bare-server.js")]);
    procs.push(bare);
    const pdMem = await startPdCli();
    procs.push(pdMem);
    const pdDisk = await startPdCli(work.dir);
    procs.push(pdDisk);
    const targets = [
      { name: "bare grpc-js (no-op Tso)", addr: bare.addr },
      { name: "pd-cli pd (memory)", addr: pdMem.addr },
      { name: "pd-cli pd --workdir", addr: pdDisk.addr },
    ];
    for (const t of targets) clients.push(await connect(t.addr));
    const rows: Array<Array<string | number>> = [];
    const notes: string[] = [];
    for (const inFlight of inFlights) {
      // Warm-up: JIT and connections, not measured.
      for (const c of clients) await closedLoop(c, inFlight, Math.min(300, roundMs));
      const perTarget = targets.map(() => ({ rates: [] as number[], hist: new LatencyHistogram() }));
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < targets.length; i++) {
          const s = await closedLoop(clients[i]!, inFlight, roundMs);
          perTarget[i]!.rates.push(s.callsPerSec);
          perTarget[i]!.hist.merge(s.hist);
        }
      }
      const bareRate = median(perTarget[0]!.rates);
      for (let i = 0; i < targets.length; i++) {
        const p = perTarget[i]!;
        const rate = median(p.rates);
        rows.push([
          inFlight,
          targets[i]!.name,
          fmt(rate),
          fmt(p.hist.quantile(0.5) * 1000),
          fmt(p.hist.quantile(0.99) * 1000),
          i === 0 ? "1.00×" : ratio(rate, bareRate),
        ]);
        if (i > 0) notes.push(`${inFlight} in flight, ${targets[i]!.name}: ${ratio(rate, bareRate)} of bare (goal ≥ 0.85×: ${verdict(rate >= 0.85 * bareRate)})`);
      }
    }
    return {
      name: "1. Transport ceiling: bare grpc-js vs PD's Tso",
      tables: [
        {
          title: `unary Tso{count:1}, same raw grpc-js client, server in its own process; median of ${rounds} × ${roundMs} ms rounds`,
          columns: ["in flight", "server", "calls/s", "p50 µs", "p99 µs", "vs bare"],
          rows,
        },
      ],
      notes,
    };
  } finally {
    for (const c of clients) c.close();
    await Promise.all(procs.map((p) => p.stop()));
    await work.remove();
  }
}
