/**
 * `pnpm bench [-- --quick] [--only transport,tso,durability,catalog,storm,failover,etcd-writes]`
 * (or `BENCH_QUICK=1`, `BENCH_ONLY=…`): runs the selected benchmarks and
 * prints one markdown section per benchmark. Full sizes are the default;
 * `--quick` runs every benchmark small, for a fast look.
 */
import { cpus, totalmem } from "node:os";
import { runCatalogBench } from "./catalog.js";
import { runDurabilityBench } from "./durability.js";
import { runEtcdWritesBench } from "./etcd-writes.js";
import { runFailoverBench } from "./failover.js";
import { type BenchResult, renderResult } from "./report.js";
import { runStormBench } from "./storm.js";
import { runTransportBench } from "./transport.js";
import { runTsoBench } from "./tso.js";

type Runner = (quick: boolean) => Promise<BenchResult>;

/** Every benchmark by name, with its full and quick sizes. */
export const BENCHMARKS: Record<string, Runner> = {
  transport: (quick) => runTransportBench(quick ? { rounds: 1, roundMs: 500 } : {}),
  tso: (quick) => runTsoBench(quick ? { durationMs: 1000, runs: 1 } : {}),
  durability: (quick) => runDurabilityBench(quick ? { values: 100_000, naiveCalls: 300 } : {}),
  catalog: (quick) => runCatalogBench(quick ? { sizes: [1000, 10_000, 100_000], ops: 50_000, serverOps: 2000 } : {}),
  storm: (quick) => runStormBench(quick ? { stores: 20, regionsPerStore: 50, durationMs: 1500 } : {}),
  failover: (quick) => runFailoverBench(quick ? { sizes: [1000, 10_000], kills: 3 } : {}),
  "etcd-writes": (quick) => runEtcdWritesBench(quick ? { durationMs: 1500, runs: 1 } : {}),
};

/** Parses the command line and environment into the benchmarks to run and the mode. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): { quick: boolean; only: string[] } {
  let quick = env.BENCH_QUICK === "1" || env.BENCH_QUICK === "true";
  let only = env.BENCH_ONLY ? env.BENCH_ONLY.split(",") : [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") continue;
    if (a === "--quick") quick = true;
    else if (a === "--full") quick = false;
    else if (a === "--only") only = (argv[++i] ?? "").split(",");
    else if (a.startsWith("--only=")) only = a.slice("--only=".length).split(",");
    else if (a === "--help" || a === "-h") {
      throw new Error(`usage: pnpm bench [-- --quick] [--only ${Object.keys(BENCHMARKS).join(",")}]`);
    } else throw new Error(`unknown argument ${JSON.stringify(a)} (try --help)`);
  }
  only = only.map((s) => s.trim()).filter((s) => s !== "");
  for (const name of only) {
    if (!(name in BENCHMARKS)) throw new Error(`unknown benchmark ${JSON.stringify(name)}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
  }
  return { quick, only: only.length > 0 ? only : Object.keys(BENCHMARKS) };
}

async function main(): Promise<number> {
  let args: { quick: boolean; only: string[] };
  try {
    args = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  const started = performance.now();
  process.stdout.write(
    `## NoKV PD benchmarks (${args.quick ? "quick" : "full"})\n\n` +
      `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n`,
  );
  for (const name of args.only) {
    const t0 = performance.now();
    process.stderr.write(`bench: ${name}…\n`);
    const result = await BENCHMARKS[name]!(args.quick);
    process.stdout.write(`${renderResult(result)}\n\n_(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)_\n\n`);
  }
  process.stdout.write(`_total ${((performance.now() - started) / 1000).toFixed(1)} s_\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await main();
}
