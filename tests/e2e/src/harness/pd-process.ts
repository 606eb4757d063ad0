import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitUntil } from "@nokv/testkit";

/** The repository root (the same from `src/harness/` and from the built `dist/harness/`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
/** The real `pd-cli` executable (built `dist/` required). */
export const PD_CLI_BIN = join(REPO_ROOT, "apps/pd-cli/bin.js");

const LISTENING = "PD-lite service listening on ";

/** A running `pd-cli pd` child process. */
export interface PdProcess {
  /** The spawned process: pd-cli itself, or the wrapper (e.g. strace) that runs it. */
  readonly child: ChildProcess;
  /** The pid of pd-cli itself (differs from `child.pid` under a wrapper). */
  readonly pid: number;
  /** `host:port` from the "listening on" line. */
  readonly addr: string;
  /** Every stdout line so far. */
  readonly stdout: string[];
  /** Every stderr line so far. */
  readonly stderr: string[];
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal to pd-cli; resolves with how the spawned process exited. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

/** How a `pd-cli pd` that did not get to listen ended, with everything it printed. */
export interface PdExit {
  /** Exit code, or the signal name. */
  readonly exit: number | NodeJS.Signals;
  readonly stdout: string[];
  readonly stderr: string[];
}

/** The outcome of {@link launchPdProcess}: listening, or exited first. */
export type PdLaunch = ({ readonly listening: true } & PdProcess) | ({ readonly listening: false } & PdExit);

/** Options of {@link launchPdProcess} and {@link startPdProcess}. */
export interface PdLaunchOptions {
  /** Give up (SIGKILL, reject) when pd-cli has neither listened nor exited by then. Default 15 000 ms. */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A command that runs pd-cli, e.g. `["strace", "-f", …, "--"]`: spawned as
   * `wrapper… node apps/pd-cli/bin.js pd …args`. The wrapper must run pd-cli
   * as its direct child (found through `/proc`) and exit when it exits.
   */
  readonly wrapper?: readonly string[];
}


/** The only child of `pid` (Linux `/proc`), or undefined while it has none. */
function onlyChild(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((s) => s !== "");
    return kids.length === 1 ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Spawns `node apps/pd-cli/bin.js pd …args` and resolves once it prints
 * `PD-lite service listening on HOST:PORT`, or once it has exited (with
 * everything it printed), whichever comes first. For runs that may be
 * refused at start-up; {@link startPdProcess} when it must listen.
 */
export async function launchPdProcess(args: readonly string[], opts: PdLaunchOptions = {}): Promise<PdLaunch> {
  const wrapper = opts.wrapper ?? [];
  const command = [...wrapper, process.execPath, PD_CLI_BIN, "pd", ...args];
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...opts.env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const partial = { out: "", err: "" };
  const lines = (sink: string[], which: "out" | "err") => (chunk: Buffer) => {
    partial[which] += chunk.toString("utf8");
    const parts = partial[which].split("\n");
    partial[which] = parts.pop()!;
    sink.push(...parts);
  };
  child.stdout!.on("data", lines(stdout, "out"));
  child.stderr!.on("data", lines(stderr, "err"));
  const exited = new Promise<number | NodeJS.Signals>((resolveExit) =>
    child.on("exit", (code, signal) => resolveExit(code ?? signal ?? "SIGKILL")),
  );
  // "close": the process has exited and both pipes are drained, so no output is lost.
  let closed: number | NodeJS.Signals | undefined;
  const spawnError = new Promise<never>((_, reject) => child.on("error", reject));
  spawnError.catch(() => undefined); // an error after the race below is settled has no one to tell
  child.on("close", (code, signal) => {
    if (partial.out !== "") stdout.push(partial.out);
    if (partial.err !== "") stderr.push(partial.err);
    partial.out = partial.err = "";
    closed = code ?? signal ?? "SIGKILL";
  });
  let addr: string | undefined;
  try {
    addr = await Promise.race([
      spawnError,
      waitUntil(
        "pd-cli to listen or exit",
        () => {
          const line = stdout.find((l) => l.startsWith(LISTENING));
          if (line !== undefined) return line.slice(LISTENING.length).trim().split(" ")[0]!;
          return closed !== undefined ? "" : undefined;
        },
        opts.timeoutMs ?? 15_000,
      ),
    ]);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}; output so far:\n${[...stdout, ...stderr].join("\n")}`, { cause: err });
  }
  if (addr === "") return { listening: false, exit: closed!, stdout, stderr };
  const pid = wrapper.length === 0 ? child.pid! : await waitUntil("the wrapped pd-cli's pid", () => onlyChild(child.pid!), 5000);
  let exitedNow = false;
  void exited.then(() => (exitedNow = true));
  return {
    listening: true,
    child,
    pid,
    addr,
    stdout,
    stderr,
    exited,
    stop(signal: NodeJS.Signals = "SIGTERM") {
      if (!exitedNow) {
        try {
          process.kill(pid, signal);
        } catch {
          // Already gone: the wrapper is about to exit too.
        }
      }
      return exited;
    },
  };
}

/**
 * Spawns `node apps/pd-cli/bin.js pd …args` and resolves once it prints
 * `PD-lite service listening on HOST:PORT` (rejects, with its output, if it
 * exits first). Pass `--addr 127.0.0.1:0` to get a free port.
 */
export async function startPdProcess(args: readonly string[], opts: PdLaunchOptions = {}): Promise<PdProcess> {
  const launched = await launchPdProcess(args, opts);
  if (!launched.listening) {
    throw new Error(`pd-cli exited (${launched.exit}) before listening:\n${[...launched.stdout, ...launched.stderr].join("\n")}`);
  }
  return launched;
}

/** A fresh temporary directory and its removal. */
export async function tempWorkdir(prefix = "pd-e2e-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
