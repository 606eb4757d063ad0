import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
/** The real `pd-cli` executable (built `dist/` required). */
export const PD_CLI_BIN = join(REPO_ROOT, "apps/pd-cli/bin.js");

/** A running `pd-cli pd` child process. */
export interface PdProcess {
  readonly child: ChildProcess;
  /** `host:port` from the "listening on" line. */
  readonly addr: string;
  /** Every stdout line so far. */
  readonly stdout: string[];
  /** Every stderr line so far. */
  readonly stderr: string[];
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal; resolves with how it exited. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

/** Waits until `pred()` holds, polling; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, pred: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Spawns `node apps/pd-cli/bin.js pd …args` and resolves once it prints
 * `PD-lite service listening on HOST:PORT` (rejects if it exits first).
 * Pass `--addr 127.0.0.1:0` to get a free port.
 */
export async function startPdProcess(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<PdProcess> {
  const child = spawn(process.execPath, [PD_CLI_BIN, "pd", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...opts.env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lines = (sink: string[]) => {
    let buf = "";
    return (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      const parts = buf.split("\n");
      buf = parts.pop()!;
      sink.push(...parts);
    };
  };
  child.stdout!.on("data", lines(stdout));
  child.stderr!.on("data", lines(stderr));
  const exited = new Promise<number | NodeJS.Signals>((resolveExit) =>
    child.on("exit", (code, signal) => resolveExit(code ?? signal ?? "SIGKILL")),
  );
  let exitedNow = false;
  void exited.then(() => (exitedNow = true));
  const addr = await waitFor(
    "pd-cli to listen",
    () => {
      if (exitedNow) throw new Error(`pd-cli exited before listening:\n${[...stdout, ...stderr].join("\n")}`);
      const line = stdout.find((l) => l.startsWith("PD-lite service listening on "));
      return line?.slice("PD-lite service listening on ".length).trim();
    },
    opts.timeoutMs ?? 15_000,
  );
  return {
    child,
    addr,
    stdout,
    stderr,
    exited,
    stop(signal: NodeJS.Signals = "SIGTERM") {
      if (!exitedNow) child.kill(signal);
      return exited;
    },
  };
}

/** A fresh temporary directory and its removal. */
export async function tempWorkdir(prefix = "pd-e2e-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
