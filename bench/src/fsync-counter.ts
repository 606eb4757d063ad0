import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Counts of real `fsync` / `fdatasync` calls made through `fs/promises` file handles. */
export interface FsyncCounts {
  fsyncs: number;
  fdatasyncs: number;
}

const counts: FsyncCounts = { fsyncs: 0, fdatasyncs: 0 };
let installed = false;

/**
 * Wraps `FileHandle.prototype.sync` and `.datasync` of this process so every
 * call is counted (the storage code's own syncs: the edit log's fdatasync,
 * `PD_STATE.json`'s fsync, directory fsyncs). Benchmark-only; idempotent.
 */
export async function installFsyncCounter(): Promise<FsyncCounts> {
  if (installed) return counts;
  const fh = await open(join(tmpdir(), `.nokv-bench-probe-${process.pid}`), "w");
  const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await fh.close();
  const { unlink } = await import("node:fs/promises");
  await unlink(join(tmpdir(), `.nokv-bench-probe-${process.pid}`)).catch(() => undefined);
  const sync = proto.sync;
  const datasync = proto.datasync;
  proto.sync = function (this: unknown) {
    counts.fsyncs++;
    return sync.call(this);
  };
  proto.datasync = function (this: unknown) {
    counts.fdatasyncs++;
    return datasync.call(this);
  };
  installed = true;
  return counts;
}

/** fsync + fdatasync calls so far. */
export function syncCalls(c: FsyncCounts): number {
  return c.fsyncs + c.fdatasyncs;
}
