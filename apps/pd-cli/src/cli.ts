import { Command, CommanderError, Option } from "commander";
import { pino } from "pino";
import { routeGrpcLogs } from "@nokv/pd-server";
import { startPd } from "./commands/pd.js";
import { parseUint64 } from "./flags.js";

/** Where the CLI writes; replaced in tests. */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

const defaultIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

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
  const program = new Command("pd-cli")
    .description("Run and inspect NoKV's placement driver (PD).")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s.trimEnd()), writeErr: () => undefined })
    .showHelpAfterError(false);

  program
    .command("pd")
    .description("Run the PD service (gRPC pb.PD).")
    .option("--addr <host:port>", "listen address (default 127.0.0.1:2379, or the config's pd address)")
    .option("--workdir <dir>", "persist the region catalog and allocator state here (default: in memory, or the config's pd work dir)")
    .option("--id-start <n>", "lowest id to hand out", parseUint64)
    .option("--ts-start <n>", "lowest timestamp to hand out", parseUint64)
    .option("--config <file>", "raft_config.json to read PD defaults from")
    .addOption(new Option("--scope <scope>", "config scope").choices(["host", "docker"]).default("host"))
    .addOption(new Option("--log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"))
    .action(async (opts: { addr?: string; workdir?: string; idStart?: bigint; tsStart?: bigint; config?: string; scope: string; logLevel: string }) => {
      const log = pino({ level: opts.logLevel, base: { component: "pd" } }, pino.destination(2));
      routeGrpcLogs(log);
      const server = await startPd(opts, log, io.stdout);
      running = new Promise<number>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            io.stderr(`pd-cli: ${signal} again, exiting now`);
            process.exit(1);
          }
          stopping = true;
          log.info({ signal }, "stopping");
          server.close().then(
            () => {
              log.info("pd stopped");
              log.flush();
              io.stdout("PD-lite stopped");
              resolve(0);
            },
            (err: unknown) => {
              io.stderr(`pd-cli: stop failed: ${oneLine(err)}`);
              resolve(1);
            },
          );
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      io.stderr(`pd-cli: ${oneLine(err)}`);
      return err.exitCode || 1;
    }
    io.stderr(`pd-cli: ${oneLine(err)}`);
    return 1;
  }
  return running ? await running : 0;
}
