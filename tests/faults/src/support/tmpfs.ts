import { spawnSync } from "node:child_process";
import { mkdtempSync, rmdirSync } from "node:fs";
import { mkdtemp, open, rmdir, statfs, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Cleanup } from "@nokv/e2e/harness";

/** Whether this process may mount a tmpfs, and if not, why. */
export interface TmpfsSupport {
  readonly ok: boolean;
  /** Why not (empty when ok). */
  readonly reason: string;
  /** Running as root: the tests must run (CI runs as root), so a failed mount fails them rather than skipping. */
  readonly required: boolean;
}

function mount(sizeBytes: number, dir: string): { ok: boolean; output: string } {
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0700`, "tmpfs", dir], { encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.error?.message ?? ""}${r.stderr ?? ""}`.trim() };
}

function umountSync(dir: string): void {
  spawnSync("umount", [dir]);
}

/** Tries to mount (and unmounts) a tiny tmpfs, once, synchronously: for `describe.skipIf`. */
export function probeTmpfs(): TmpfsSupport {
  const required = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "pd-faults-probe-"));
  try {
    const r = mount(64 * 1024, dir);
    if (r.ok) {
      umountSync(dir);
      return { ok: true, reason: "", required };
    }
    return { ok: false, reason: `cannot mount a tmpfs here (${r.output || "mount failed"}); run as root, as CI does`, required };
  } finally {
    rmdirSync(dir);
  }
}

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh directory; `cleanup` unmounts it
 * and removes the directory (register processes using it afterwards, so that
 * they are stopped first).
 */
export async function mountTmpfs(sizeBytes: number, cleanup: Cleanup): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pd-faults-tmpfs-"));
  cleanup.add(() => rmdir(dir));
  const r = mount(sizeBytes, dir);
  if (!r.ok) throw new Error(`cannot mount a ${sizeBytes}-byte tmpfs on ${dir}: ${r.output}`);
  cleanup.add(() => {
    const u = spawnSync("umount", [dir], { encoding: "utf8" });
    // Busy (a process still has a file open there): detach it now, it goes when the process does.
    if (u.status !== 0) spawnSync("umount", ["-l", dir]);
  });
  return dir;
}

/** Free bytes of the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<bigint> {
  const s = await statfs(dir, { bigint: true });
  return s.bavail * s.bsize;
}

/** A file that takes every free byte of a file system, until `free()` deletes it. */
export interface DiskFiller {
  readonly path: string;
  readonly bytes: number;
  free(): Promise<void>;
}

/** Writes `dir/name` until the file system is full (ENOSPC even for one byte). */
export async function fillDisk(dir: string, name = "filler"): Promise<DiskFiller> {
  const path = join(dir, name);
  const fh = await open(path, "a");
  let bytes = 0;
  try {
    let chunk = 64 * 1024;
    const zeros = Buffer.alloc(chunk, 0x5a);
    while (chunk >= 1) {
      try {
        const { bytesWritten } = await fh.write(zeros, 0, chunk);
        bytes += bytesWritten;
        if (bytesWritten < chunk) chunk = Math.floor(chunk / 2);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        chunk = Math.floor(chunk / 2);
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { path, bytes, free: () => unlink(path) };
}
