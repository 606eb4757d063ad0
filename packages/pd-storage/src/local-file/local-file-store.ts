import { type FileHandle, mkdir, open, readdir, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type AllocatorState, type ClusterSnapshot, PdError, type Region, type RegionEdit } from "@nokv/pd-core";
import { storageError } from "../storage-error.js";
import type { Store } from "../store.js";
import { formatAllocatorState, readAllocatorStateFile, STATE_FILE } from "./allocator-state-file.js";
import { fsyncDir, writeFileAtomic } from "./durable-fs.js";
import { decodeEdits, encodeEdits } from "./region-codec.js";
import { frameRecord, scanRecords } from "./record-file.js";
import { acquireWorkdirLock } from "./workdir-lock.js";

const LOG_MAGIC = Buffer.from("NOKVPDL1");
const SNAP_MAGIC = Buffer.from("NOKVPDS1");
const SNAP_FILE = "regions.snap";
const LOG_RE = /^regions\.(\d{20})\.log$/;
const SNAP_CHUNK = 1024;

const logName = (gen: bigint) => `regions.${gen.toString().padStart(20, "0")}.log`;

/** Options of {@link openLocalFileStore}. */
export interface LocalFileStoreOptions {
  /** The workdir (`--workdir`); created when missing. */
  readonly dir: string;
  /**
   * Compact the edit log into a snapshot once it holds more than this many
   * bytes and more than the last snapshot. Default 4 MiB.
   */
  readonly compactMinBytes?: number;
}

/** What {@link openLocalFileStore} repaired on open. */
export interface RecoveryReport {
  /** A torn last record (crash mid-append) that was cut off, if any. */
  readonly truncated?: { readonly file: string; readonly offset: number; readonly droppedBytes: number };
}

/** Counters of the local-file store, for metrics and benchmarks. */
export interface LocalFileStoreStats {
  readonly appends: number;
  readonly logSyncs: number;
  readonly stateWrites: number;
  readonly compactions: number;
  readonly logBytes: number;
  readonly snapshotBytes: number;
}

interface PendingAppend {
  readonly edits: readonly RegionEdit[];
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * The local-file {@link Store} of `--workdir`:
 *
 * - `PD_STATE.json`: allocator ceilings, replaced atomically (temp file,
 *   fsync, rename, directory fsync).
 * - `regions.<gen>.log`: the region catalog as an append-only edit log. One
 *   append = one record (length, checksums, payload) = one atomic batch;
 *   appends arriving together share one write and one fdatasync (group
 *   commit) and each resolves after it.
 * - `regions.snap`: a compacted snapshot covering every log up to its base
 *   generation. Compaction switches appends to a new log, writes the
 *   snapshot in chunks beside the live traffic, then deletes the old logs;
 *   a crash at any point leaves a loadable set of files.
 * - `LOCK`: the owner's pid.
 *
 * On open a torn last record is cut off (see {@link RecoveryReport}); a
 * damaged record elsewhere, an unreadable snapshot or `PD_STATE.json` fail the
 * open with the file and offset, and nothing is modified.
 */
export class LocalFileStore implements Store {
  readonly description: string;
  readonly dir: string;
  readonly recovery: RecoveryReport;
  readonly #regions: Map<bigint, Region>;
  #allocator: AllocatorState;
  #log: FileHandle;
  #logGen: bigint;
  #logBytes: number;
  #snapshotBytes: number;
  readonly #compactMinBytes: number;
  readonly #releaseLock: () => Promise<void>;
  #queue: PendingAppend[] = [];
  #writing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
  #stateChain: Promise<void> = Promise.resolve();
  #switchWanted = false;
  #compactWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  #broken: PdError | undefined;
  #closed = false;
  #stats = { appends: 0, logSyncs: 0, stateWrites: 0, compactions: 0 };

  /** @internal use {@link openLocalFileStore}. */
  constructor(init: {
    dir: string;
    regions: Map<bigint, Region>;
    allocator: AllocatorState;
    log: FileHandle;
    logGen: bigint;
    logBytes: number;
    snapshotBytes: number;
    compactMinBytes: number;
    releaseLock: () => Promise<void>;
    recovery: RecoveryReport;
  }) {
    this.dir = init.dir;
    this.description = `local-file ${init.dir}`;
    this.#regions = init.regions;
    this.#allocator = init.allocator;
    this.#log = init.log;
    this.#logGen = init.logGen;
    this.#logBytes = init.logBytes;
    this.#snapshotBytes = init.snapshotBytes;
    this.#compactMinBytes = init.compactMinBytes;
    this.#releaseLock = init.releaseLock;
    this.recovery = init.recovery;
  }

  /** Counters for metrics and benchmarks. */
  stats(): LocalFileStoreStats {
    return { ...this.#stats, logBytes: this.#logBytes, snapshotBytes: this.#snapshotBytes };
  }

  async load(): Promise<ClusterSnapshot> {
    this.#checkWritable();
    return { regions: [...this.#regions.values()], allocator: this.#allocator };
  }

  appendRegionEdits(edits: readonly RegionEdit[]): Promise<void> {
    try {
      this.#checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    if (edits.length === 0) return Promise.resolve();
    const frame = frameRecord(encodeEdits(edits));
    return new Promise((resolve, reject) => {
      this.#queue.push({ edits, frame, resolve, reject });
      this.#writing ??= this.#drain();
    });
  }

  saveAllocatorState(state: AllocatorState): Promise<void> {
    try {
      this.#checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    const write = this.#stateChain.then(async () => {
      try {
        await writeFileAtomic(join(this.dir, STATE_FILE), [Buffer.from(formatAllocatorState(state))]);
      } catch (err) {
        throw storageError(`${join(this.dir, STATE_FILE)}: write failed`, err);
      }
      this.#stats.stateWrites++;
      this.#allocator = state;
    });
    this.#stateChain = write.catch(() => undefined);
    return write;
  }

  /** Compacts now (normally automatic); resolves when the new snapshot is durable. */
  async compact(): Promise<void> {
    this.#checkWritable();
    // One compaction at a time: two snapshot writers would share regions.snap.tmp.
    while (this.#compacting !== undefined || this.#switchWanted) await (this.#compacting ?? this.#writing);
    const done = new Promise<void>((resolve, reject) => this.#compactWaiters.push({ resolve, reject }));
    this.#switchWanted = true;
    this.#writing ??= this.#drain();
    await done;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writing;
    await this.#compacting?.catch(() => undefined);
    await this.#stateChain;
    await this.#log.close().catch(() => undefined);
    await this.#releaseLock();
  }

  #checkWritable(): void {
    if (this.#closed) throw new PdError("UNAVAILABLE", `${this.description}: closed`);
    if (this.#broken) throw this.#broken;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 || this.#switchWanted) {
        if (this.#switchWanted) {
          this.#switchWanted = false;
          await this.#startCompaction();
          continue;
        }
        const batch = this.#queue;
        this.#queue = [];
        const data = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((p) => p.frame));
        const file = join(this.dir, logName(this.#logGen));
        try {
          if (this.#broken) throw this.#broken;
          let off = 0;
          while (off < data.length) {
            const { bytesWritten } = await this.#log.write(data, off, data.length - off, this.#logBytes + off);
            off += bytesWritten;
          }
          await this.#log.datasync();
        } catch (cause) {
          const err = storageError(`${file}: append failed`, cause);
          // Cut off whatever part of the batch reached the file, so a later
          // append does not follow a damaged record.
          await this.#log.truncate(this.#logBytes).then(
            () => this.#log.datasync(),
          ).catch((truncErr: unknown) => {
            this.#broken = storageError(`${file}: cannot repair after a failed append; restart PD`, truncErr);
          });
          for (const p of batch) p.reject(err);
          continue;
        }
        this.#logBytes += data.length;
        this.#stats.appends += batch.length;
        this.#stats.logSyncs++;
        for (const p of batch) {
          for (const e of p.edits) {
            if (e.kind === "put") this.#regions.set(e.region.id, e.region);
            else this.#regions.delete(e.regionId);
          }
        }
        for (const p of batch) p.resolve();
        if (
          this.#compacting === undefined &&
          this.#logBytes > this.#compactMinBytes &&
          this.#logBytes > this.#snapshotBytes
        ) {
          this.#switchWanted = true;
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /**
   * Runs inside the writer loop, between appends: switches appends to a fresh
   * log and starts writing a snapshot of the state as of the switch in the
   * background. A failure leaves the old logs in place (they are replayed
   * on the old snapshot), so it only delays the next compaction.
   */
  async #startCompaction(): Promise<void> {
    const waiters = this.#compactWaiters;
    this.#compactWaiters = [];
    const baseGen = this.#logGen;
    let fresh: { handle: FileHandle; bytes: number };
    try {
      fresh = await createLog(this.dir, baseGen + 1n);
    } catch (cause) {
      const err = storageError(`${this.dir}: cannot start a new edit log`, cause);
      for (const w of waiters) w.reject(err);
      return;
    }
    const old = this.#log;
    this.#log = fresh.handle;
    this.#logGen = baseGen + 1n;
    this.#logBytes = fresh.bytes;
    const regions = [...this.#regions.values()];
    this.#compacting = (async () => {
      await old.close().catch(() => undefined);
      this.#snapshotBytes = await writeFileAtomic(join(this.dir, SNAP_FILE), snapshotChunks(baseGen, regions));
      for (const name of await readdir(this.dir)) {
        const m = LOG_RE.exec(name);
        if (m && BigInt(m[1]!) <= baseGen) await unlink(join(this.dir, name));
      }
      await fsyncDir(this.dir);
      this.#stats.compactions++;
    })().then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (cause: unknown) => {
        const err = storageError(`${join(this.dir, SNAP_FILE)}: compaction failed`, cause);
        for (const w of waiters) w.reject(err);
      },
    ).finally(() => {
      this.#compacting = undefined;
    });
  }
}

async function* snapshotChunks(baseGen: bigint, regions: readonly Region[]): AsyncGenerator<Uint8Array> {
  const header = Buffer.allocUnsafe(16);
  header.writeBigUInt64LE(baseGen, 0);
  header.writeBigUInt64LE(BigInt(regions.length), 8);
  yield Buffer.concat([SNAP_MAGIC, frameRecord(header)]);
  for (let i = 0; i < regions.length; i += SNAP_CHUNK) {
    const puts: RegionEdit[] = regions.slice(i, i + SNAP_CHUNK).map((region) => ({ kind: "put", region }));
    yield frameRecord(encodeEdits(puts));
    // Let requests run between chunks of a large snapshot.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

async function createLog(dir: string, gen: bigint): Promise<{ handle: FileHandle; bytes: number }> {
  const handle = await open(join(dir, logName(gen)), "wx+", 0o644);
  try {
    await handle.write(LOG_MAGIC, 0, LOG_MAGIC.length, 0);
    await handle.sync();
    await fsyncDir(dir);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  return { handle, bytes: LOG_MAGIC.length };
}

function applyEdits(regions: Map<bigint, Region>, edits: readonly RegionEdit[]): void {
  for (const e of edits) {
    if (e.kind === "put") regions.set(e.region.id, e.region);
    else regions.delete(e.regionId);
  }
}

/**
 * Opens (creating when needed) the local-file store in `options.dir`:
 * takes the workdir lock, reads `PD_STATE.json`, the snapshot and the edit
 * logs, and cuts off a torn last record.
 *
 * @throws PdError `STORAGE` when the workdir is unusable, locked by a live
 *   PD, or holds a damaged file (message names the file and offset; the
 *   files are left as they were).
 */
export async function openLocalFileStore(options: LocalFileStoreOptions): Promise<LocalFileStore> {
  const dir = options.dir;
  try {
    const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (st === undefined) await mkdir(dir, { recursive: true });
    else if (!st.isDirectory()) throw new Error("not a directory");
  } catch (err) {
    throw new PdError("STORAGE", `workdir ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const releaseLock = await acquireWorkdirLock(dir);
  try {
    return await openLocked(dir, options, releaseLock);
  } catch (err) {
    await releaseLock();
    throw storageError(`workdir ${dir}`, err);
  }
}

async function openLocked(
  dir: string,
  options: LocalFileStoreOptions,
  releaseLock: () => Promise<void>,
): Promise<LocalFileStore> {
  const allocator = (await readAllocatorStateFile(join(dir, STATE_FILE))) ?? { idCurrent: 0n, tsCurrent: 0n };
  const regions = new Map<bigint, Region>();

  // Snapshot: written atomically, so any damage is corruption, never a torn tail.
  let baseGen = 0n;
  let snapshotBytes = 0;
  const snapPath = join(dir, SNAP_FILE);
  const snap = await readFile(snapPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (snap !== undefined) {
    snapshotBytes = snap.length;
    const scan = scanRecords(snap, SNAP_MAGIC);
    if (scan.kind !== "ok" || scan.payloads.length === 0 || scan.payloads[0]!.length !== 16) {
      const where = scan.kind === "corrupt" ? `offset ${scan.offset} (${scan.reason})` : `offset ${scan.goodBytes} (truncated)`;
      throw new PdError("STORAGE", `${snapPath}: damaged snapshot at ${where}; refusing to start, the file is left as it was`);
    }
    baseGen = scan.payloads[0]!.readBigUInt64LE(0);
    const count = scan.payloads[0]!.readBigUInt64LE(8);
    for (const p of scan.payloads.slice(1)) applyEdits(regions, decodeEdits(p, snapPath));
    if (BigInt(regions.size) !== count) {
      throw new PdError("STORAGE", `${snapPath}: holds ${regions.size} region(s), header says ${count}`);
    }
  }

  const gens = (await readdir(dir))
    .map((n) => LOG_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => BigInt(m[1]!))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const live = gens.filter((g) => g > baseGen);
  let recovery: RecoveryReport = {};
  let logBytes = 0;
  for (const [i, gen] of live.entries()) {
    const path = join(dir, logName(gen));
    const buf = await readFile(path);
    const scan = scanRecords(buf, LOG_MAGIC);
    if (scan.kind === "corrupt") {
      throw new PdError(
        "STORAGE",
        `${path}: damaged record at offset ${scan.offset} (${scan.reason}); refusing to start, the file is left as it was`,
      );
    }
    for (const p of scan.payloads) applyEdits(regions, decodeEdits(p, path));
    if (scan.kind === "torn") {
      if (i !== live.length - 1) {
        throw new PdError("STORAGE", `${path}: cut short at offset ${scan.goodBytes} but a newer log follows; refusing to start`);
      }
      recovery = { truncated: { file: path, offset: scan.goodBytes, droppedBytes: buf.length - scan.goodBytes } };
    }
    logBytes = scan.goodBytes;
  }

  // Only now, with everything read and valid, modify files.
  if (recovery.truncated) {
    const fh = await open(recovery.truncated.file, "r+");
    try {
      if (recovery.truncated.offset < LOG_MAGIC.length) {
        await fh.truncate(0);
        await fh.write(LOG_MAGIC, 0, LOG_MAGIC.length, 0);
        logBytes = LOG_MAGIC.length;
      } else {
        await fh.truncate(recovery.truncated.offset);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  for (const g of gens) if (g <= baseGen) await unlink(join(dir, logName(g))).catch(() => undefined);

  let log: FileHandle;
  let logGen: bigint;
  if (live.length === 0) {
    logGen = baseGen + 1n;
    const created = await createLog(dir, logGen);
    log = created.handle;
    logBytes = created.bytes;
  } else {
    logGen = live.at(-1)!;
    log = await open(join(dir, logName(logGen)), "r+");
  }
  return new LocalFileStore({
    dir,
    regions,
    allocator,
    log,
    logGen,
    logBytes,
    snapshotBytes,
    compactMinBytes: options.compactMinBytes ?? 4 * 1024 * 1024,
    releaseLock,
    recovery,
  });
}
