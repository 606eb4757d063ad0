import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { PdError } from "@nokv/pd-core";

const LOCK_FILE = "LOCK";
const heldInProcess = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the workdir's `LOCK` file (holding the owner's pid) so that two PDs
 * never write the same workdir. A lock left by a dead process (kill -9) is
 * taken over. The lock names the host too: a lock from another host (or a
 * container sharing the volume) is never taken over, since its pid cannot be
 * checked from here. Two PDs starting over the same stale lock at the same
 * instant could both take it over (no flock in Node); start one at a time.
 *
 * @throws PdError `STORAGE` when a live process holds it.
 */
export async function acquireWorkdirLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  if (heldInProcess.has(path)) throw new PdError("STORAGE", `workdir ${dir} is already open in this process`);
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, "wx", 0o644);
      await fh.writeFile(`${process.pid} ${hostname()}\n`);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) {
        throw new PdError("STORAGE", `workdir ${dir}: cannot take ${LOCK_FILE}: ${(err as Error).message}`, { cause: err });
      }
      const [pidText = "", host] = (await readFile(path, "utf8").catch(() => "")).trim().split(/\s+/);
      const owner = Number.parseInt(pidText, 10);
      // A pid means nothing on another host (or in another container sharing the volume).
      if (host !== undefined && host !== hostname()) {
        throw new PdError(
          "STORAGE",
          `workdir ${dir} is locked by pid ${pidText} on host ${host}; if no PD runs there any more, delete ${path}`,
        );
      }
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new PdError("STORAGE", `workdir ${dir} is in use by another PD (pid ${owner})`);
      }
      await unlink(path).catch(() => undefined);
    }
  }
  heldInProcess.add(path);
  return async () => {
    heldInProcess.delete(path);
    await unlink(path).catch(() => undefined);
  };
}
