import { readFileSync } from "node:fs";
import type { ConfigWarning } from "@nokv/nokv-config";
import { Command, CommanderError, Option } from "commander";
import type { Logger } from "pino";
import { addClientFlags, type ClientFlags } from "./commands/client-options.js";
import {
  allocIdVerb,
  healthVerb,
  regionsVerb,
  regionVerb,
  storesVerb,
  tsoVerb,
  type VerbResult,
  withClient,
} from "./commands/inspect.js";
import type { PdCommandOptions } from "./config/pd-config.js";
import {
  configSetVerb,
  configShowVerb,
  operatorsVerb,
  schedulerListVerb,
  schedulerPauseVerb,
} from "./commands/scheduling.js";
import { parsePositiveInt, parseUint64 } from "./flags.js";
import { installTestClock } from "./test-clock.js";

/** Where the CLI writes; replaced in tests. */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

/**
 * Writes to a standard stream, ignoring a broken pipe: when whoever read our
 * output is gone (a log collector died), PD keeps running and still stops
 * cleanly on a signal instead of crashing on EPIPE.
 */
function lineWriter(stream: NodeJS.WriteStream): (line: string) => void {
  let broken = false;
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") broken = true;
  });
  return (line) => {
    if (!broken && !stream.destroyed) stream.write(`${line}\n`);
  };
}

let stdio: CliIo | undefined;
const defaultIo: CliIo = {
  stdout: (line) => (stdio ??= { stdout: lineWriter(process.stdout), stderr: lineWriter(process.stderr) }).stdout(line),
  stderr: (line) => (stdio ??= { stdout: lineWriter(process.stdout), stderr: lineWriter(process.stderr) }).stderr(line),
};

/**
 * PD's logger: JSON lines on stderr, or pino-pretty's human-readable lines
 * when stderr is a terminal.
 */
async function createLogger(level: string): Promise<Logger> {
  const { pino } = await import("pino");
  const options = { level, base: { component: "pd" } };
  if (process.stderr.isTTY) {
    const { default: pretty } = await import("pino-pretty");
    return pino(options, pretty({ destination: 2, sync: true, colorize: true }));
  }
  const dest = pino.destination({ fd: 2, sync: true });
  // Nobody reading stderr any more must not crash PD (see lineWriter).
  dest.on("error", () => undefined);
  return pino(options, dest);
}

/**
 * This package's version, read from its package.json (always shipped, one
 * directory up from both `src/` and `dist/`), so that it can never disagree
 * with what was installed.
 */
function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0]!.replace(/^error: /, "");
}

/**
 * Runs `pd-cli` with `argv` (without node and script). Resolves with the
 * exit code. `pd` resolves only after a SIGINT/SIGTERM-triggered graceful
 * stop.
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let running: Promise<number> | undefined;
  // What NoKV's Go nokv-config accepts does not stop pd-cli: such problems are one stderr line each.
  const configWarning = (w: ConfigWarning) => io.stderr(`pd-cli: warning: ${w.message}`);
  const program = new Command("pd-cli")
    .description("Run and inspect NoKV's placement driver (PD).")
    .exitOverride()
    // Help goes to stdout (asked for) or stderr (no command given); errors are
    // printed once, below, as one `pd-cli: …` line.
    .configureOutput({ writeOut: (s) => io.stdout(s.trimEnd()), writeErr: (s) => io.stderr(s.trimEnd()), outputError: () => undefined })
    .showHelpAfterError(false)
    // Printed on stdout, exit 0 (commander's exitOverride reports it as exit code 0).
    .version(cliVersion(), "-V, --version", "print pd-cli's version and exit");

  program
    .command("pd")
    .description("Run the PD service (gRPC pb.PD).")
    .option("--addr <host:port>", "listen address (default 127.0.0.1:2379, or the config's pd address)")
    .option("--workdir <dir>", "persist the region catalog and allocator state here (default: in memory, or the config's pd work dir)")
    .option("--id-start <n>", "lowest id to hand out", parseUint64)
    .option("--recover-missing-state", "start although PD_STATE.json is missing beside a region catalog: ids resume above the largest id in the catalog (add --id-start above any id ever handed out, if known)")
    .option("--ts-start <n>", "lowest timestamp to hand out", parseUint64)
    .option("--compact-min-bytes <n>", "advanced: compact the workdir's edit log into a snapshot once it holds more than this many bytes (and more than the last snapshot) (default 4194304)", parsePositiveInt)
    .option("--config <file>", "raft_config.json to read PD defaults from")
    .addOption(new Option("--scope <scope>", "config scope").choices(["host", "docker"]).default("host"))
    .addOption(new Option("--log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"))
    .option("--status-addr <host:port>", "serve Prometheus metrics (/metrics) and the inspection API (/pd/api/v1) here; off by default, keep it on loopback")
    .option("--cacert <file>", "CA bundle (PEM): require client certificates that chain to it (mutual TLS)")
    .option("--cert <file>", "server certificate (PEM) for TLS on the gRPC and status ports")
    .option("--key <file>", "private key (PEM) of --cert")
    .option("--cert-allowed-cn <cn>", "allowed client certificate CN (repeatable or comma-separated; needs --cacert)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--max-message-bytes <n>", "largest request message in bytes (default 4194304)", parsePositiveInt)
    .option("--max-key-bytes <n>", "longest key or region boundary in bytes (default 65536)", parsePositiveInt)
    .option("--store-disconnected-after-ms <ms>", "a store silent this long is disconnected (default 20000)", parsePositiveInt)
    .option("--store-down-after-ms <ms>", "a store silent this long is down (default 1800000)", parsePositiveInt)
    .option("--transfer-timeout-ms <ms>", "an issued leader transfer counts as in flight at most this long (default 30000)", parsePositiveInt)
    .option("--max-transfers-per-store <n>", "most leader transfers in flight per store (default 4)", parsePositiveInt)
    .option("--etcd <urls>", "distributed mode: etcd client URLs, comma-separated (e.g. http://127.0.0.1:2379); PDs sharing them elect a leader")
    .option("--cluster-id <id>", "distributed mode: names this PD cluster's keys in etcd (/nokv/pd/<id>/…) (default nokv)")
    .option("--name <name>", "distributed mode: this member's unique name (default: its advertise address)")
    .option("--advertise-addr <host:port>", "the address clients dial for this member, named in redirects (default: the bound --addr)")
    .option("--lease-ttl <seconds>", "distributed mode: leader lease TTL; a crashed leader is replaced after about this long (default 2)", parsePositiveInt)
    .action(async (opts: PdCommandOptions & { logLevel: string }) => {
      // Loaded here, not at the top: the inspection verbs need none of the server.
      const [{ routeGrpcLogs }, { startPd }] = await Promise.all([import("@nokv/pd-server"), import("./commands/pd.js")]);
      const log = await createLogger(opts.logLevel);
      routeGrpcLogs(log);
      const testClock = installTestClock(process.env, io.stdout);
      if (testClock !== undefined) log.warn({ hook: testClock }, "TEST ONLY: this process's wall clock is offset (Date.now); never set this in production");
      // Signals are caught from the very start: one that arrives while PD is
      // still starting (e.g. right after "listening on") stops it as soon as
      // it is up, instead of killing it with the default action. A second
      // signal exits at once.
      let requested: NodeJS.Signals | undefined;
      let stop: ((signal: NodeJS.Signals) => void) | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        if (requested !== undefined) {
          io.stderr(`pd-cli: ${signal} again, exiting now`);
          process.exit(1);
        }
        requested = signal;
        stop?.(signal);
      };
      const detach = () => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      let server: Awaited<ReturnType<typeof startPd>>;
      try {
        server = await startPd(opts, log, io.stdout, configWarning);
      } catch (err) {
        detach();
        throw err;
      }
      running = new Promise<number>((resolve) => {
        stop = (signal: NodeJS.Signals) => {
          log.info({ signal }, "stopping");
          server.close().then(
            () => {
              log.info("pd stopped");
              log.flush();
              io.stdout("PD-lite stopped");
              detach();
              resolve(0);
            },
            (err: unknown) => {
              io.stderr(`pd-cli: stop failed: ${oneLine(err)}`);
              detach();
              resolve(1);
            },
          );
        };
        if (requested !== undefined) stop(requested);
      });
    });

  /** Registers an inspection verb: runs it, prints its lines, keeps its exit code. */
  let verbExit = 0;
  const inspect = <F extends ClientFlags>(cmd: Command, run: (flags: F, args: string[]) => Promise<VerbResult>) =>
    addClientFlags(cmd).action(async (...params: unknown[]) => {
      const self = params[params.length - 1] as Command;
      const args = params.slice(0, -2) as string[];
      const result = await run(self.opts<F>(), args);
      for (const line of result.lines) io.stdout(line);
      verbExit = result.exitCode;
    });

  inspect(program.command("stores").description("List the stores PD knows, with stats and liveness."), (f) =>
    withClient(f, (c) => storesVerb(c, f), configWarning),
  );
  inspect<ClientFlags & { limit?: bigint; startKey?: string; hex?: boolean }>(
    program
      .command("regions")
      .description("List regions in key order (one page).")
      .option("--limit <n>", "regions per page (default 100, at most 10000)", parseUint64)
      .option("--start-key <key>", "start from the region holding this key")
      .option("--hex", "--start-key is hex"),
    (f) => withClient(f, (c) => regionsVerb(c, f), configWarning),
  );
  const region = program.command("region").description("Show one region, by key or by id.");
  inspect<ClientFlags & { hex?: boolean }>(
    region.command("key").argument("<key>", "a key (text, or hex with --hex)").option("--hex", "the key is hex").description("The region holding a key."),
    (f, [key]) => withClient(f, (c) => regionVerb(c, f, { key: key! }), configWarning),
  );
  inspect(
    region
      .command("id")
      .argument("<id>", "region id")
      .description("The region with this id."),
    (f, [id]) => withClient(f, (c) => regionVerb(c, f, { id: parseRegionId(id!) }), configWarning),
  );
  inspect(program.command("tso").description("Get a timestamp and print its physical time."), (f) =>
    withClient(f, (c) => tsoVerb(c, f), configWarning),
  );
  inspect<ClientFlags & { count: bigint }>(
    program
      .command("alloc-id")
      .description("Reserve ids from PD's allocator (never handed out again).")
      .option("--count <n>", "how many consecutive ids", parseUint64, 1n),
    (f) => withClient(f, (c) => allocIdVerb(c, f), configWarning),
  );
  inspect(program.command("health").description("Check every PD member's gRPC health (exit 1 unless all serve)."), (f) =>
    withClient(f, (c) => healthVerb(c, f), configWarning),
  );

  // Scheduling: inspection and control through pd-client's calls of pb.PDScheduling, with the same flags and TLS.
  inspect<ClientFlags & { history?: boolean }>(
    program
      .command("operators")
      .description("Operators in flight, with their step and age (--history: those that ended, newest first).")
      .option("--history", "operators that ended instead of those in flight"),
    (f) => withClient(f, (c) => operatorsVerb(c, f), configWarning),
  );
  const scheduler = program.command("scheduler").description("List, pause and resume schedulers and checkers.");
  inspect(scheduler.command("list").description("Every scheduler and checker, and whether it is paused."), (f) =>
    withClient(f, (c) => schedulerListVerb(c, f), configWarning),
  );
  for (const [verb, paused] of [["pause", true], ["resume", false]] as const) {
    inspect(
      scheduler
        .command(verb)
        .argument("<name>", "balance-leader, balance-region or replica (or the full names from `scheduler list`)")
        .description(`${paused ? "Pause" : "Resume"} a scheduler or checker; survives restarts and leader changes.`),
      (f, [name]) => withClient(f, (c) => schedulerPauseVerb(c, f, name!, paused), configWarning),
    );
  }
  const config = program.command("config").description("Show or change the scheduling configuration.");
  inspect(config.command("show").description("max-replicas, store limits and paused schedulers."), (f) =>
    withClient(f, (c) => configShowVerb(c, f), configWarning),
  );
  inspect<ClientFlags & { store?: bigint; type?: "add-peer" | "remove-peer" }>(
    config
      .command("set")
      .argument("<key>", "max-replicas or store-limit")
      .argument("<value>", "max-replicas: voters per region; store-limit: operations per minute (0 with --store removes the override)")
      .option("--store <id>", "store-limit: this store only", parseUint64)
      .addOption(new Option("--type <type>", "store-limit: only this kind (default both)").choices(["add-peer", "remove-peer"]))
      .description("Change the scheduling configuration (durable; applies at once)."),
    (f, [key, value]) =>
      withClient(f, (c) => configSetVerb(c, f, parseSetting(key!, value!, f)), configWarning),
  );

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      // Run without a (sub)command: commander has printed the usage to stderr.
      if (err.code === "commander.help") return err.exitCode || 1;
      io.stderr(`pd-cli: ${oneLine(err)}`);
      return err.exitCode || 1;
    }
    io.stderr(`pd-cli: ${oneLine(err)}`);
    return 1;
  }
  return running ? await running : verbExit;
}

/** The setting of `pd-cli config set KEY VALUE`. */
function parseSetting(key: string, value: string, f: { store?: bigint; type?: "add-peer" | "remove-peer" }) {
  if (key === "max-replicas") {
    if (!/^[1-9][0-9]?$/.test(value)) throw new Error(`invalid max-replicas ${JSON.stringify(value)}: expected a positive integer`);
    if (f.store !== undefined || f.type !== undefined) throw new Error("--store and --type go with store-limit");
    return { key, value: Number(value) } as const;
  }
  if (key === "store-limit") {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new Error(`invalid store-limit ${JSON.stringify(value)}: expected operations per minute`);
    return { key, rate: Number(value), ...(f.store !== undefined && { storeId: f.store }), ...(f.type !== undefined && { type: f.type }) } as const;
  }
  throw new Error(`unknown setting ${JSON.stringify(key)}: expected max-replicas or store-limit`);
}

function parseRegionId(text: string): bigint {
  try {
    const id = parseUint64(text);
    if (id === 0n) throw new Error("zero");
    return id;
  } catch {
    throw new Error(`invalid region id ${JSON.stringify(text)}: expected a decimal uint64 above 0`);
  }
}
