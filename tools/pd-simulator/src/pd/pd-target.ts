import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { Cluster } from "@nokv/pd-core";
import { createPdServer, type PdServer } from "@nokv/pd-server";
import { createMemoryStore } from "@nokv/pd-storage";
import { pino } from "pino";
import type { SimClock } from "../engine/clock.js";

/** The PD a case runs against. */
export interface PdTarget {
  readonly addr: string;
  /** The in-process cluster model (for PD's own view and cost), or undefined for a separate process. */
  readonly cluster: Cluster | undefined;
  /** `in-process` or `process`. */
  readonly kind: "in-process" | "process";
  close(): Promise<void>;
}

/** PD settings a case chooses. */
export interface PdSettings {
  readonly disconnectedAfterMs: number;
  readonly downAfterMs: number;
}

/** The server library in this process, its clocks the simulation's (virtual time). */
export async function startInProcessPd(clock: SimClock, settings: PdSettings): Promise<PdTarget> {
  const server: PdServer = await createPdServer({
    addr: "127.0.0.1:0",
    logger: pino({ level: "silent" }),
    store: createMemoryStore(),
    clock: { nowMs: () => clock.wallMs(), monotonicMs: () => clock.elapsedMs() },
    // CPU time of this process: the machine may be shared, and elapsed time would count the others' turns.
    costClock: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    },
    liveness: { disconnectedAfterMs: settings.disconnectedAfterMs, downAfterMs: settings.downAfterMs },
    reflection: false,
  });
  return {
    addr: server.address,
    get cluster() {
      return server.cluster;
    },
    kind: "in-process",
    close: () => server.close(),
  };
}

/** The path of `pd-cli`'s bin in this workspace. */
function pdCliBin(): string {
  // The package exports its API (dist/index.js) only; the bin sits beside dist/.
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@nokv/pd-cli")), "..", "bin.js");
}

/**
 * `pd-cli pd` as a separate process on the wall clock, on a free loopback
 * port, in memory. Resolves once it prints its listening line; rejects with
 * its stderr when it exits first.
 */
export async function startPdProcess(settings: PdSettings): Promise<PdTarget> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      pdCliBin(),
      "pd",
      "--addr",
      "127.0.0.1:0",
      "--log-level",
      "warn",
      "--store-disconnected-after-ms",
      String(settings.disconnectedAfterMs),
      "--store-down-after-ms",
      String(settings.downAfterMs),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const addr = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`pd-cli pd exited with ${code} before listening: ${stderr.trim()}`)));
  });
  return {
    addr,
    cluster: undefined,
    kind: "process",
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
