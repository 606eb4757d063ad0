import { setTimeout as delay } from "node:timers/promises";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../net/free-port.js";
import { performance } from "node:perf_hooks";

/**
 * A throwaway etcd cluster for tests: 1 or 3 real `etcd` processes on free
 * loopback ports, each with its own temporary data directory.
 *
 * Part of the private `@nokv/testkit`: tests of every workspace package
 * import it by name.
 */
export interface EtcdCluster {
  /** Client URLs of every member, `http://127.0.0.1:<port>`, in member order. */
  readonly endpoints: readonly string[];
  /** Member names (`m0`, `m1`, …), in member order. */
  readonly names: readonly string[];
  /** Whether member `i` is currently running. */
  isRunning(i: number): boolean;
  /** SIGKILLs member `i` (a crash: nothing is flushed) and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Freezes member `i` (SIGSTOP): it keeps its sockets open but answers nothing, like a hung process. */
  pause(i: number): void;
  /** Lets a paused member `i` run again (SIGCONT). */
  resume(i: number): void;
  /** The process id of member `i` while it runs. */
  pid(i: number): number | undefined;
  /** Stops member `i` gracefully (SIGTERM) and waits for it to exit. */
  stopMember(i: number): Promise<void>;
  /** Starts stopped or killed member `i` again on its old ports and data, and waits until it is healthy. */
  restart(i: number): Promise<void>;
  /** Kills every member and removes all data directories. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startEtcdCluster}. */
export interface EtcdClusterOptions {
  /** Number of members. Default 1. */
  readonly members?: 1 | 3;
  /** The etcd binary. Default `$ETCD_BIN`, else `etcd` on the `PATH`. */
  readonly binary?: string;
  /** How long to wait for the cluster (or a restarted member) to become healthy, in ms. Default 20 000. */
  readonly readyTimeoutMs?: number;
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  proc: ChildProcess | undefined;
}

const POLL_INTERVAL_MS = 50;

// Members still running when the test process exits (a crash, a forgotten
// stop()) are killed with it rather than left behind.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(proc: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const p of live) p.kill("SIGKILL");
    });
  }
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
}
const INSTALL_HINT =
  "the etcd binary was not found: install etcd-server (Debian/Ubuntu: `apt-get install -y etcd-server`) or set ETCD_BIN";

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** True when the member answers `GET /health` with `{"health":"true"}`. */
async function healthy(clientPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${clientPort}/health`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { health?: unknown };
    return body.health === "true" || body.health === true;
  } catch {
    return false;
  }
}

/**
 * Starts a fresh etcd cluster of `members` processes on free loopback ports
 * and resolves once every member reports healthy (polled with a deadline).
 *
 * @throws Error naming `etcd-server` when the binary is missing; Error with
 *   the member's log tail when a member exits or is not healthy in time.
 */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  const binary = options.binary ?? process.env["ETCD_BIN"] ?? "etcd";
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const root = await mkdtemp(join(tmpdir(), "nokv-etcd-"));
  const members: Member[] = [];
  for (let i = 0; i < count; i++) {
    members.push({
      name: `m${i}`,
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: join(root, `m${i}.etcd`),
      logFile: join(root, `m${i}.log`),
      proc: undefined,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(",");
  let stopped = false;

  function launch(m: Member): void {
    const fd = openSync(m.logFile, "a");
    try {
      const proc = spawn(
        binary,
        [
          "--name", m.name,
          "--data-dir", m.dataDir,
          "--listen-client-urls", `http://127.0.0.1:${m.clientPort}`,
          "--advertise-client-urls", `http://127.0.0.1:${m.clientPort}`,
          "--listen-peer-urls", `http://127.0.0.1:${m.peerPort}`,
          "--initial-advertise-peer-urls", `http://127.0.0.1:${m.peerPort}`,
          "--initial-cluster", initialCluster,
          "--initial-cluster-state", "new",
          "--initial-cluster-token", `nokv-test-${root}`,
          "--logger", "zap",
          "--log-outputs", "stderr",
        ],
        { stdio: ["ignore", fd, fd] },
      );
      m.proc = proc;
      track(proc);
      proc.once("exit", () => {
        if (m.proc === proc) m.proc = undefined;
      });
    } finally {
      closeSync(fd);
    }
  }

  async function spawnChecked(m: Member): Promise<void> {
    launch(m);
    const proc = m.proc!;
    // A missing binary surfaces as an asynchronous 'error' event (ENOENT).
    const failure = await Promise.race([
      once(proc, "error").then(([err]) => err as NodeJS.ErrnoException),
      once(proc, "spawn").then(() => undefined),
    ]);
    if (failure !== undefined) {
      m.proc = undefined;
      if (failure.code === "ENOENT") throw new Error(`${INSTALL_HINT} (tried "${binary}")`);
      throw new Error(`etcd ${m.name}: cannot start "${binary}": ${failure.message}`);
    }
  }

  async function waitHealthy(targets: readonly Member[]): Promise<void> {
    const deadline = performance.now() + readyTimeoutMs;
    const pending = new Set(targets);
    while (pending.size > 0) {
      for (const m of [...pending]) {
        if (m.proc === undefined) {
          throw new Error(`etcd ${m.name} exited during start-up; log tail:\n${await tail(m.logFile)}`);
        }
        if (await healthy(m.clientPort)) pending.delete(m);
      }
      if (pending.size === 0) return;
      if (performance.now() > deadline) {
        const m = [...pending][0]!;
        throw new Error(`etcd ${m.name} not healthy after ${readyTimeoutMs} ms; log tail:\n${await tail(m.logFile)}`);
      }
      await delay(POLL_INTERVAL_MS);
    }
  }

  async function signal(m: Member, sig: NodeJS.Signals): Promise<void> {
    const proc = m.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) {
      m.proc = undefined;
      return;
    }
    const exited = once(proc, "exit");
    proc.kill(sig);
    await exited;
    m.proc = undefined;
  }

  function member(i: number): Member {
    const m = members[i];
    if (m === undefined) throw new RangeError(`etcd cluster has no member ${i} (members: ${members.length})`);
    return m;
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await Promise.all(members.map((m) => signal(m, "SIGKILL")));
    await rm(root, { recursive: true, force: true });
  }

  try {
    for (const m of members) await spawnChecked(m);
    await waitHealthy(members);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    endpoints: members.map((m) => `http://127.0.0.1:${m.clientPort}`),
    names: members.map((m) => m.name),
    isRunning: (i) => member(i).proc !== undefined,
    kill: (i) => signal(member(i), "SIGKILL"),
    pause: (i) => void member(i).proc?.kill("SIGSTOP"),
    resume: (i) => void member(i).proc?.kill("SIGCONT"),
    pid: (i) => member(i).proc?.pid,
    stopMember: (i) => signal(member(i), "SIGTERM"),
    async restart(i) {
      const m = member(i);
      if (stopped) throw new Error("etcd cluster already stopped");
      if (m.proc !== undefined) throw new Error(`etcd ${m.name} is still running`);
      await spawnChecked(m);
      await waitHealthy([m]);
    },
    stop,
  };
}
