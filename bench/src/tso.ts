import { createPdClient, type PdClient } from "@nokv/pd-client";
import { LatencyHistogram } from "./histogram.js";
import { startPdCli, tempDir, type ServerProcess } from "./processes.js";
import { type BenchResult, fmt, median, ratio, verdict } from "./report.js";

/** Sizes of {@link runTsoBench}. */
export interface TsoBenchOptions {
  /** Concurrent `getTimestamp()` callers. Default 1000. */
  readonly callers?: number;
  /** Measured time per run in ms. Default 5000. */
  readonly durationMs?: number;
  /** Runs per transport (alternating); the table shows medians. Default 3. */
  readonly runs?: number;
}

interface TsoRun {
  readonly perSec: number;
  readonly hist: LatencyHistogram;
  readonly requests: number;
  readonly streams: number;
}

/** `callers` callers, each awaiting `getTimestamp()` in a loop for `durationMs`. */
async function drive(client: PdClient, callers: number, durationMs: number): Promise<TsoRun> {
  const before = client.stats();
  const hist = new LatencyHistogram();
  let stop = false;
  let got = 0;
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), durationMs);
  await Promise.all(
    Array.from({ length: callers }, async () => {
      let i = 0;
      let last = 0n; // this caller's values only ever go up
      while (!stop) {
        // Reading the clock around every call costs a third of the
        // throughput at this rate: time every 16th call of each caller (a
        // uniform sample of the calls).
        if ((++i & 15) === 0) {
          const t0 = performance.now();
          const ts = await client.getTimestamp();
          hist.record(performance.now() - t0);
          if (ts <= last) throw new Error(`timestamp went back from ${last} to ${ts}`);
          last = ts;
        } else {
          await client.getTimestamp();
        }
        got++;
      }
    }),
  );
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const after = client.stats();
  return {
    perSec: got / seconds,
    hist,
    requests: after.tsoRpcs - before.tsoRpcs,
    streams: after.tsoStreams - before.tsoStreams,
  };
}

/**
 * Benchmark 2, timestamps to many callers: `callers` concurrent
 * `getTimestamp()` loops through one pd-client against `pd-cli pd --workdir`
 * (its own process), over the `TsoStream` and over unary `Tso`
 * (`tsoStream: false`), alternating runs.
 */
export async function runTsoBench(options: TsoBenchOptions = {}): Promise<BenchResult> {
  const callers = options.callers ?? 1000;
  const durationMs = options.durationMs ?? 5000;
  const runs = options.runs ?? 3;
  const work = await tempDir("tso");
  let pd: ServerProcess | undefined;
  const clients: PdClient[] = [];
  try {
    pd = await startPdCli(work.dir);
    const variants = [
      { name: "pd-client, TsoStream", client: createPdClient({ addr: pd.addr, timeoutMs: 10_000 }) },
      { name: "pd-client, unary Tso", client: createPdClient({ addr: pd.addr, timeoutMs: 10_000, tsoStream: false }) },
    ];
    for (const v of variants) {
      clients.push(v.client);
      await v.client.connect();
      await drive(v.client, callers, Math.min(1000, durationMs)); // warm-up: JIT, connection, stream
    }
    const results = variants.map(() => [] as TsoRun[]);
    for (let r = 0; r < runs; r++) {
      for (let i = 0; i < variants.length; i++) results[i]!.push(await drive(variants[i]!.client, callers, durationMs));
    }
    const rows: Array<Array<string | number>> = [];
    const summary = results.map((rs) => {
      const hist = new LatencyHistogram();
      for (const r of rs) hist.merge(r.hist);
      const perSec = median(rs.map((r) => r.perSec));
      const requests = median(rs.map((r) => r.requests));
      const values = median(rs.map((r) => r.perSec * (durationMs / 1000)));
      return { perSec, hist, requests, batch: values / Math.max(1, requests), streams: rs.reduce((a, r) => a + r.streams, 0) };
    });
    for (let i = 0; i < variants.length; i++) {
      const s = summary[i]!;
      rows.push([
        variants[i]!.name,
        callers,
        fmt(s.perSec),
        fmt(s.hist.quantile(0.5), 2),
        fmt(s.hist.quantile(0.99), 2),
        fmt(s.requests),
        fmt(s.batch, 0),
        ratio(s.perSec, summary[1]!.perSec),
      ]);
    }
    const best = summary[0]!;
    return {
      name: "2. Timestamps to many callers",
      tables: [
        {
          title: `${callers} concurrent getTimestamp() loops, one client, pd-cli pd --workdir in its own process; median of ${runs} × ${durationMs / 1000} s runs`,
          columns: ["transport", "callers", "timestamps/s", "p50 ms (sampled)", "p99 ms (sampled)", "requests sent per run", "avg batch", "vs unary"],
          rows,
        },
      ],
      notes: [
        `anchors: TiKV pd-tso-bench ≈ 0.8M/s; Percolator's oracle ≈ 2M/s`,
        `goal ≥ 2M timestamps/s: ${verdict(best.perSec >= 2_000_000)} (${fmt(best.perSec)}/s); p99 < 5 ms: ${verdict(best.hist.quantile(0.99) < 5)} (${fmt(best.hist.quantile(0.99), 2)} ms)`,
        `streams opened over all measured runs: ${best.streams} (TsoStream variant)`,
      ],
    };
  } finally {
    for (const c of clients) c.close();
    await pd?.stop();
    await work.remove();
  }
}
