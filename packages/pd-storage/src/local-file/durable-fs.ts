import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/** fsyncs a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `chunks` to a new file at `path` (replacing one of that name) and
 * fsyncs it; on any failure the file is removed. `chunks` may be produced
 * lazily (awaited between writes) so large files do not stall the event loop.
 * Returns the bytes written.
 */
export async function writeSyncedFile(path: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number> {
  const fh = await open(path, "w", 0o644);
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
      bytes += chunk.length;
    }
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  await fh.close();
  return bytes;
}

/**
 * Replaces `path` atomically: writes `path.tmp`, fsyncs it, renames it over
 * `path`, fsyncs the directory. A crash leaves the old or the new content,
 * never a torn file.
 */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number> {
  const tmp = `${path}.tmp`;
  const bytes = await writeSyncedFile(tmp, chunks);
  await rename(tmp, path);
  await fsyncDir(dirname(path));
  return bytes;
}
