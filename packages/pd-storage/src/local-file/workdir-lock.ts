import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { PdError } from "@nokv/pd-core";
import { tryLock } from "fs-native-extensions";

/** The lock file of a workdir (see {@link acquireWorkdirLock}). */
export const LOCK_FILE = "LOCK";

/** Who holds (or last held) a workdir, as written into `LOCK`. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22); with `bootId`, it tells a live owner from a reused pid. */
  readonly startTicks?: string;
  /** `/proc/sys/kernel/random/boot_id`: a different boot means the owner is gone. */
  readonly bootId?: string;
  /** Wall-clock time the lock was taken (for people reading the file; never used to decide). */
  readonly since?: string;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime) of `/proc/<pid>/stat`; undefined where there is no procfs or no such process. */
export function processStartTicks(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

function currentBootId(): string | undefined {
  return readProc("/proc/sys/kernel/random/boot_id")?.trim();
}

/** The owner record of this process. */
export function selfOwner(): LockOwner {
  const startTicks = processStartTicks(process.pid);
  const bootId = currentBootId();
  return {
    pid: process.pid,
    host: hostname(),
    ...(startTicks !== undefined && { startTicks }),
    ...(bootId !== undefined && { bootId }),
    since: new Date().toISOString(),
  };
}

/** Parses `LOCK`: the JSON record written since this version, or the older `pid host` line. */
export function parseLockOwner(text: string): LockOwner | undefined {
  const t = text.trim();
  if (t.startsWith("{")) {
    try {
      const o = JSON.parse(t) as Record<string, unknown>;
      if (typeof o.pid !== "number" || typeof o.host !== "string") return undefined;
      return {
        pid: o.pid,
        host: o.host,
        ...(typeof o.startTicks === "string" && { startTicks: o.startTicks }),
        ...(typeof o.bootId === "string" && { bootId: o.bootId }),
        ...(typeof o.since === "string" && { since: o.since }),
      };
    } catch {
      return undefined;
    }
  }
  const m = /^(\d+)(?:\s+(\S+))?$/.exec(t);
  if (m === null) return undefined;
  return { pid: Number.parseInt(m[1]!, 10), host: m[2] ?? "" };
}

/**
 * Whether the recorded owner is still running here: same host, same boot,
 * and a process with that pid that started at the recorded time. "unknown"
 * when the record lacks what it takes to tell (another host, no procfs).
 */
export function ownerState(owner: LockOwner): "alive" | "dead" | "unknown" {
  if (owner.host !== "" && owner.host !== hostname()) return "unknown";
  const boot = currentBootId();
  if (owner.bootId !== undefined && boot !== undefined && owner.bootId !== boot) return "dead";
  const ticks = processStartTicks(owner.pid);
  if (owner.startTicks !== undefined && ticks !== undefined) return ticks === owner.startTicks ? "alive" : "dead";
  if (ticks !== undefined) return "alive";
  try {
    process.kill(owner.pid, 0);
    return "alive";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? "alive" : "dead";
  }
}

function describeOwner(owner: LockOwner | undefined): string {
  if (owner === undefined) return "a process that has not written its details yet";
  const started = owner.since === undefined ? "" : `, locked since ${owner.since}`;
  return `pid ${owner.pid} on host ${owner.host || "?"}${started}`;
}

/** Options of {@link acquireWorkdirLock}. */
export interface WorkdirLockOptions {
  /**
   * When the workdir is locked, how long to wait for its holder's details
   * to appear in `LOCK` (a PD writes them right after locking), in ms, so
   * that the refusal names the real owner rather than a previous, dead one.
   * Default 2000.
   */
  readonly ownerWaitMs?: number;
}

/**
 * Takes exclusive ownership of a workdir for this process, so that two PDs
 * never write one workdir.
 *
 * The ownership is a kernel lock (Linux: an open-file-description lock) on
 * the workdir's `LOCK` file, held through an open descriptor for as long as
 * the store is open. The kernel grants it to one descriptor at a time and
 * drops it when that descriptor is closed or its process dies in any way
 * (kill -9 included), so there is no stale lock to detect and no race
 * between two PDs starting together. After locking, the descriptor must
 * still be the file named `LOCK` (a releasing owner unlinks it while still
 * holding the lock); otherwise the lock was taken on a file already gone and
 * is taken again.
 *
 * Once locked, `LOCK` holds the owner's pid, host, boot id and process start
 * time, only to name the owner when another PD is refused. The holder
 * writes them just after locking, so a refused PD may read what a previous,
 * dead owner left (or nothing): it then waits a little for the holder's
 * details (trying the lock again meanwhile, in case the holder is gone)
 * and never names a process that is not running as the owner.
 *
 * A `LOCK` in the older `pid host` form was written by a PD version that
 * took no kernel lock; it is honoured while its pid is alive on this host
 * (and always when it names another host), so that an older PD still
 * running is not overrun during an upgrade.
 *
 * @returns a release function (idempotent): removes `LOCK`, then drops the lock.
 * @throws PdError `STORAGE` naming the owner and what to do, when the
 *   workdir is in use, or when `LOCK` cannot be opened or written.
 */
export async function acquireWorkdirLock(dir: string, options: WorkdirLockOptions = {}): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const deadline = performance.now() + (options.ownerWaitMs ?? 2000);
  for (let replaced = 0; ; ) {
    const got = lockOnce(dir, path);
    if (typeof got === "number") return releaser(path, got);
    if (got === "busy") {
      const owner = parseLockOwner(readProc(path) ?? "");
      if (owner !== undefined && ownerState(owner) !== "dead") throw inUse(dir, describeOwner(owner));
      if (performance.now() >= deadline) {
        const stale = owner === undefined ? "" : ` (${LOCK_FILE} still names ${describeOwner(owner)}, which is no longer running)`;
        throw inUse(dir, `${describeOwner(undefined)}${stale}`);
      }
      await delay(10);
      continue;
    }
    if (++replaced >= 100) throw new PdError("STORAGE", `workdir ${dir}: ${LOCK_FILE} keeps being replaced while locking; is another PD starting and stopping?`);
  }
}

function inUse(dir: string, owner: string): PdError {
  return new PdError("STORAGE", `workdir ${dir} is in use by another PD (${owner}); stop that PD first, or give this one another --workdir`);
}

/** One attempt: the locked descriptor, "busy" when another holds the lock, or "replaced" when the file was replaced meanwhile. */
function lockOnce(dir: string, path: string): number | "busy" | "replaced" {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  } catch (err) {
    throw new PdError("STORAGE", `workdir ${dir}: cannot open ${LOCK_FILE}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (!tryLock(fd)) {
      closeSync(fd);
      return "busy";
    }
    const mine = fstatSync(fd);
    let named: { ino: number; dev: number } | undefined;
    try {
      named = statSync(path);
    } catch {
      named = undefined;
    }
    if (named === undefined || named.ino !== mine.ino || named.dev !== mine.dev) {
      closeSync(fd);
      return "replaced";
    }
    const previous = readProc(path) ?? "";
    const legacy = previous.trim().startsWith("{") ? undefined : parseLockOwner(previous);
    if (legacy !== undefined && legacy.pid !== process.pid && ownerState(legacy) !== "dead") {
      throw new PdError(
        "STORAGE",
        `workdir ${dir}: ${path} was written by an older PD (${describeOwner(legacy)}) that may still be running; ` +
          `stop it, or if no PD uses this workdir any more, delete ${path}`,
      );
    }
    const record = Buffer.from(`${JSON.stringify(selfOwner())}\n`);
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, record, 0, record.length, 0);
      fsyncSync(fd);
    } catch (err) {
      // Still holding the lock: remove what is left of LOCK (empty or partial), as a release
      // would, so that a refused start (a full disk) leaves nothing behind.
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
      throw new PdError("STORAGE", `workdir ${dir}: cannot write ${path}: ${(err as Error).message}`, { cause: err });
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    if (err instanceof PdError) throw err;
    throw new PdError("STORAGE", `workdir ${dir}: cannot take ${LOCK_FILE}: ${(err as Error).message}`, { cause: err });
  }
}

function releaser(path: string, fd: number): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    // Unlink while still holding the lock: whoever opened the old file
    // meanwhile sees that it is no longer `LOCK` and starts over.
    try {
      unlinkSync(path);
    } catch {
      // Already gone: nothing to tidy.
    }
    closeSync(fd);
  };
}
