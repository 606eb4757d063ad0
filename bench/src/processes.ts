import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** `apps/pd-cli/bin.js` of this workspace (same depth from `src/` and `dist/`). */
export const PD_CLI_BIN = fileURLToPath(new URL("../../apps/pd-cli/bin.js", import.meta.url));

/** A compiled entry point of this package (children run the built `dist/`, also under vitest). */
export function benchEntry(name: string): string {
  return fileURLToPath(new URL(`../dist/${name}`, import.meta.url));
}

/** A child process serving gRPC on 127.0.0.1. */
export interface ServerProcess {
  readonly addr: string;
  readonly child: ChildProcess;
  /** Milliseconds from spawn to the "listening" line. */
  readonly startMs: number;
  /** Everything the child printed on stdout so far. */
  readonly stdout: string[];
  /** Stops the child (SIGTERM, then SIGKILL after `graceMs`) and waits for its exit. */
  stop(graceMs?: number): Promise<void>;
}

const LISTENING = /listening on (\S+:\d+)/;

/**
 * Spawns `node args…` and waits (up to `timeoutMs`) for a line matching
 * `listening on HOST:PORT` on stdout. `ipc` adds an IPC channel.
 */
export async function startServerProcess(
  args: readonly string[],
  options: { timeoutMs?: number; ipc?: boolean; nodeFlags?: readonly string[] } = {},
): Promise<ServerProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...args], {
    stdio: options.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const addr = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")}: not listening after ${options.timeoutMs ?? 60_000} ms; stderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        stdout.push(line);
        const m = LISTENING.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  const startMs = performance.now() - started;
  return {
    addr,
    child,
    startMs,
    stdout,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts `pd-cli pd` on 127.0.0.1:0, with `--workdir` when given. */
export function startPdCli(workdir?: string): Promise<ServerProcess> {
  const args = [PD_CLI_BIN, "pd", "--addr", "127.0.0.1:0", "--log-level", "warn"];
  if (workdir !== undefined) args.push("--workdir", workdir);
  return startServerProcess(args, { timeoutMs: 120_000 });
}

/** A fresh temporary directory and its remover. */
export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `nokv-bench-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Total bytes of the regular files directly in `dir`. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const st = await stat(join(dir, name));
    if (st.isFile()) total += st.size;
  }
  return total;
}
