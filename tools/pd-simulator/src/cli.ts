import { writeFile } from "node:fs/promises";
import { stringifyJson } from "@nokv/pd-model";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { CASES, findCase } from "./cases/index.js";
import { buildReport, formatReport } from "./report/report.js";
import { regionCountChart } from "./report/svg-chart.js";
import { runCase } from "./runner.js";

/** Where the CLI writes; replaced in tests. */
export interface SimIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

const defaultIo: SimIo = { stdout: (l) => process.stdout.write(`${l}\n`), stderr: (l) => process.stderr.write(`${l}\n`) };

function positiveInt(v: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(v.trim())) throw new InvalidArgumentError("expected a positive integer");
  return Number(v);
}

/**
 * Runs `pd-sim` with `argv` (without node and script); resolves with the
 * exit code. `run` exits 0 only when the case's predicate held and no
 * invariant broke.
 */
export async function main(argv: readonly string[], io: SimIo = defaultIo): Promise<number> {
  let exit = 0;
  const program = new Command("pd-sim")
    .description("Cluster simulator: simulated stores drive a real NoKV PD and its scheduling is checked.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s.trimEnd()), writeErr: (s) => io.stderr(s.trimEnd()), outputError: () => undefined });
  program
    .command("list")
    .description("List the cases.")
    .action(() => {
      const w = Math.max(...CASES.map((c) => c.name.length));
      for (const c of CASES) io.stdout(`${c.name.padEnd(w)}  ${String(c.defaults.stores).padStart(3)} stores ${String(c.defaults.regions).padStart(6)} regions  ${c.description}`);
    });
  program
    .command("run")
    .argument("<case>", "a case from `pd-sim list`")
    .option("--stores <n>", "stores (default: the case's)", positiveInt)
    .option("--regions <n>", "regions (default: the case's)", positiveInt)
    .option("--seed <n>", "random seed", positiveInt, 1)
    .option("--time-limit <minutes>", "stop after this many simulated minutes (default: the case's)", positiveInt)
    .option("--json", "print one JSON object instead of the table")
    .option("--svg <file>", "write a chart of region counts per store over time")
    .description("Run a case; exit 0 only when its predicate held and no invariant broke.")
    .action(async (name: string, opts: { stores?: number; regions?: number; seed: number; timeLimit?: number; json?: boolean; svg?: string }) => {
      const c = findCase(name);
      if (c === undefined) throw new Error(`unknown case ${JSON.stringify(name)} (see pd-sim list)`);
      const params = {
        stores: opts.stores ?? c.defaults.stores,
        regions: opts.regions ?? c.defaults.regions,
        seed: opts.seed,
        ...(opts.timeLimit !== undefined && { timeLimitMs: opts.timeLimit * 60_000 }),
      };
      const run = await runCase(c, params);
      const report = buildReport(run);
      if (opts.svg !== undefined) {
        await writeFile(opts.svg, regionCountChart(`${c.name}: peers per store (${params.stores} stores, ${params.regions} regions)`, run.samples, run.events));
      }
      if (opts.json === true) io.stdout(stringifyJson(report));
      else for (const l of formatReport(report)) io.stdout(l);
      exit = report.ok ? 0 : 1;
    });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      if (err.code === "commander.help") return err.exitCode || 1;
      io.stderr(`pd-sim: ${err.message.replace(/^error: /, "")}`);
      return 2;
    }
    io.stderr(`pd-sim: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  return exit;
}
