import { type ChildProcess, spawn } from "node:child_process";
import { PD_CLI_BIN, REPO_ROOT } from "./pd-process.js";

/** How a command that ran to completion exited, and what it printed. */
export interface CommandResult {
  /** Exit code, or `null` when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Every stdout line (a trailing partial line included). */
  readonly stdout: string[];
  /** Every stderr line (a trailing partial line included). */
  readonly stderr: string[];
  /** Wall time from spawn to exit, in ms. */
  readonly durationMs: number;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill (SIGKILL) and reject when the command has not exited by then. Default 15 000 ms. */
  readonly timeoutMs?: number;
}

/** Commands still running; killed if the test process exits first (e.g. a failed test file). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
}

/** Kills (SIGKILL) every command started by {@link runCommand} that is still running. */
export function killRunningCommands(): void {
  for (const c of running) c.kill("SIGKILL");
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * Runs `cmd args…` to completion and resolves with its exit status and
 * output. Rejects with a readable message when the command cannot be
 * started (e.g. not on `PATH`) or does not exit within `timeoutMs` (it is
 * then killed, so no process outlives the test).
 */
export function runCommand(cmd: string, args: readonly string[], opts: RunCommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const started = performance.now();
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...opts.env },
    });
    track(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} did not exit within ${timeoutMs} ms; output:\n${out}${err}`));
    }, timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === "ENOENT"
          ? new Error(`cannot run ${JSON.stringify(cmd)}: not found on PATH (${process.env.PATH ?? ""})`)
          : e,
      );
    });
    // "close" (not "exit"): both pipes are drained, so no output is lost.
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: splitLines(out), stderr: splitLines(err), durationMs: performance.now() - started });
    });
  });
}

/** Runs `node apps/pd-cli/bin.js …args` to completion (for runs expected to exit on their own). */
export function runPdCli(args: readonly string[], opts: RunCommandOptions = {}): Promise<CommandResult> {
  return runCommand(process.execPath, [PD_CLI_BIN, ...args], opts);
}
