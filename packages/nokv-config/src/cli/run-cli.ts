import { resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { ConfigError } from "../config-error.js";
import { writeJson } from "../json/write-json.js";
import { loadConfig } from "../raft-config/load-config.js";
import type { RaftConfig } from "../raft-config/model.js";
import type { ConfigSection } from "../raft-config/validate-config.js";
import { pdToJson, regionToJson, storeToJson } from "../raft-config/stringify-config.js";
import { resolvePdAddr, resolvePdAddrs, resolvePdWorkDir } from "../scope/resolve.js";
import type { Scope } from "../scope/scope.js";
import { formatRegionLine, formatStoreLine } from "./format-lines.js";

/** Where {@link runCli} writes and which directory relative paths start from. */
export interface CliIo {
  /** Receives standard output, in chunks that end with a newline. */
  readonly stdout: (text: string) => void;
  /** Receives error messages and usage, in chunks that end with a newline. */
  readonly stderr: (text: string) => void;
  /** Directory that `--config` (and its default) resolve against. */
  readonly cwd: string;
}

/** The file `--config` defaults to, relative to {@link CliIo.cwd}. */
export const DEFAULT_CONFIG_FILE = "raft_config.example.json";

type Format = "simple" | "json";
type PdField = "addr" | "addrs" | "workdir";

interface CommonOptions {
  readonly config: string;
  readonly format: string;
}

interface PdOptions extends CommonOptions {
  readonly scope: string;
  readonly field: string;
}

/**
 * Runs the `nokv-config` command line in-process.
 *
 * Commands (`--config` defaults to `./raft_config.example.json`,
 * `--format` to `simple`):
 * - `pd [--scope host|docker] [--field addr|addrs|workdir]` prints the
 *   resolved value (simple; `--field` defaults to `addr`, `addrs` prints the
 *   comma-separated member list) or the `pd` block (json);
 * - `stores` prints one line per store (see `formatStoreLine`) or the
 *   stores array (json);
 * - `regions` prints one line per region (see `formatRegionLine`) or the
 *   regions array (json).
 * JSON is one compact line, ids written as exact numbers.
 *
 * A command fails only on what NoKV's Go `nokv-config` validates (store ids,
 * peer ids, references, templates) or on a problem in what it reads (the PD
 * member lists for `pd`, except `--field workdir`). Anything else this
 * package checks (e.g. a region with `start_key >= end_key`) is written to
 * `io.stderr` as `nokv-config <command>: warning: <message>` and the output
 * is printed as usual, as Go's tool prints it.
 *
 * Nothing is thrown: a failure writes one line `nokv-config <command>:
 * <message>` to `io.stderr` and yields exit code 1. Flag parsing errors and
 * usage come from commander (exit 1; `--help` exits 0).
 *
 * @param argv - the arguments after the program name.
 * @returns the process exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let failure: { readonly command: string; readonly error: unknown } | undefined;
  const guarded =
    <T extends CommonOptions>(command: string, body: (opts: T) => Promise<string>) =>
    async (opts: T): Promise<void> => {
      try {
        // Build the whole output first so a failure never leaves half of it.
        io.stdout(await body(opts));
      } catch (error) {
        failure = { command, error };
      }
    };

  const program = new Command("nokv-config")
    .description("Query NoKV's raft_config.json (PD endpoint, stores, regions) from shell scripts.")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      "after",
      [
        "",
        "Simple output:",
        "  pd       the --field value for --scope (addr by default)",
        "  stores   id listen addr docker_listen docker_addr host_workdir docker_workdir",
        "  regions  id start end version conf_version store:peer,... leader",
        'Empty values print as "-"; keys that are not printable ASCII as hex:<bytes>.',
      ].join("\n"),
    );

  program
    .command("pd")
    .description("print the PD-lite endpoint or work directory")
    .addOption(configOption())
    .addOption(formatOption())
    .addOption(new Option("--scope <scope>", "address scope: host|docker").default("host"))
    .addOption(new Option("--field <field>", "simple output field: addr|addrs|workdir").default("addr"))
    .action(guarded<PdOptions>("pd", (opts) => runPd(opts, io)));

  program
    .command("stores")
    .description("print store endpoints and work directories")
    .addOption(configOption())
    .addOption(formatOption())
    .action(guarded<CommonOptions>("stores", (opts) => runStores(opts, io)));

  program
    .command("regions")
    .description("print bootstrap region metadata")
    .addOption(configOption())
    .addOption(formatOption())
    .action(guarded<CommonOptions>("regions", (opts) => runRegions(opts, io)));

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    // commander has already printed its message or the help text.
    if (err instanceof CommanderError) return err.exitCode;
    failure = { command: "", error: err };
  }
  if (failure === undefined) return 0;
  const prefix = failure.command === "" ? "nokv-config" : `nokv-config ${failure.command}`;
  io.stderr(`${prefix}: ${describeError(failure.error)}\n`);
  return 1;
}

/**
 * Runs `nokv-config` against the real process: `process.argv`, stdout,
 * stderr and working directory.
 *
 * @returns the exit code; the caller sets `process.exitCode` so pending
 *   output is flushed before the process ends.
 */
export function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  return runCli(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  });
}

async function runPd(opts: PdOptions, io: CliIo): Promise<string> {
  // Flags are checked before the file is read, as the Go tool does, so a
  // typo is reported as such even when the config is also missing.
  const scope = parseChoice<Scope>(opts.scope, ["host", "docker"], "scope");
  const format = parseFormat(opts.format);
  const field = parseChoice<PdField>(opts.field, ["addr", "addrs", "workdir"], "field");
  // Every output but the work dir reads the PD member lists, so only that one tolerates a broken list.
  const readsAddrs = format === "json" || field !== "workdir";
  const cfg = await load("pd", opts, io, readsAddrs ? ["pd"] : []);
  if (cfg.pd === undefined) throw new ConfigError("NOT_FOUND", "pd block missing from configuration");
  if (format === "json") return `${writeJson(pdToJson(cfg.pd))}\n`;
  let value: string | undefined;
  switch (field) {
    case "addr":
      value = resolvePdAddr(cfg, scope);
      break;
    case "addrs":
      value = resolvePdAddrs(cfg, scope).join(",") || undefined;
      break;
    case "workdir":
      value = resolvePdWorkDir(cfg, scope);
      break;
  }
  if (value === undefined) {
    const what = field === "workdir" ? "workdir" : "address";
    throw new ConfigError("NOT_FOUND", `pd ${what} missing for scope ${JSON.stringify(scope)}`);
  }
  return `${value}\n`;
}

async function runStores(opts: CommonOptions, io: CliIo): Promise<string> {
  const format = parseFormat(opts.format);
  const cfg = await load("stores", opts, io, []);
  if (format === "json") return `${writeJson(cfg.stores.map(storeToJson))}\n`;
  return cfg.stores.map((store) => `${formatStoreLine(cfg, store)}\n`).join("");
}

async function runRegions(opts: CommonOptions, io: CliIo): Promise<string> {
  const format = parseFormat(opts.format);
  // Go's tool prints the regions as they are, inverted or overlapping: so does this one, with warnings.
  const cfg = await load("regions", opts, io, []);
  if (format === "json") return `${writeJson(cfg.regions.map(regionToJson))}\n`;
  return cfg.regions.map((region) => `${formatRegionLine(region)}\n`).join("");
}

/** Loads `--config`, writing each warning to stderr as `nokv-config <command>: warning: …`. */
function load(command: string, opts: CommonOptions, io: CliIo, strict: readonly ConfigSection[]): Promise<RaftConfig> {
  return loadConfig(resolve(io.cwd, opts.config), {
    strict,
    onWarning: (w) => io.stderr(`nokv-config ${command}: warning: ${w.message}\n`),
  });
}

function configOption(): Option {
  return new Option("--config <path>", "path to raft_config JSON").default(DEFAULT_CONFIG_FILE, `./${DEFAULT_CONFIG_FILE}`);
}

function formatOption(): Option {
  return new Option("--format <format>", "output format: simple|json").default("simple");
}

function parseFormat(text: string): Format {
  return parseChoice<Format>(text, ["simple", "json"], "format");
}

// Case-insensitive and trimmed, like the Go tool, so existing scripts work.
function parseChoice<T extends string>(text: string, choices: readonly T[], what: string): T {
  const normalized = text.trim().toLowerCase();
  const match = choices.find((c) => c === normalized);
  if (match !== undefined) return match;
  throw new ConfigError(
    "INVALID_ARGUMENT",
    `unknown ${what} ${JSON.stringify(text)} (expected ${choices.join("|")})`,
  );
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.name;
  return String(error);
}
