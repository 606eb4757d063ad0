import { createHash } from "node:crypto";
import { type FileHandle, link, mkdir, open, readdir, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type AllocatorState, type AppendLimit, type ClusterSnapshot, PdError, RegionCatalog, type RegionEdit } from "@nokv/pd-core";
import { largestIdIn, type Region, type SchedulingConfig } from "@nokv/pd-model";
import { decodeSchedulingConfig, encodeSchedulingConfig, SCHEDULING_FILE } from "../scheduling/scheduling-config-codec.js";
import { storageError } from "../storage-error.js";
import type { Store } from "../store.js";
import { fsyncDir, writeFileAtomic, writeSyncedFile } from "./durable-fs.js";
import { formatAllocatorState, type PdStateFile, readPdStateFile, type SkippedRegion, STATE_FILE } from "./pd-state-file.js";
import { decodeEdits, editBytes, encodeEdits } from "./region-codec.js";
import { frameRecord, MAX_RECORD_BYTES, scanRecords, type TornReason } from "./record-file.js";
import { acquireWorkdirLock } from "./workdir-lock.js";

const LOG_MAGIC = Buffer.from("NOKVPDL1");
const SNAP_MAGIC = Buffer.from("NOKVPDS1");
const SNAP_FILE = "regions.snap";
const LOG_RE = /^regions\.(\d{20})\.log$/;
/** Snapshot chunks are cut at about this many payload bytes (one region may make a chunk larger). */
const SNAP_CHUNK_BYTES = 1024 * 1024;
/** Back-off of automatic compaction after a failure: doubles from the first to the last, in ms. */
const COMPACT_RETRY_FIRST_MS = 1000;
const COMPACT_RETRY_MAX_MS = 60_000;

const logName = (gen: bigint) => `regions.${gen.toString().padStart(20, "0")}.log`;

/** Where the local-file store reports what it does in the background (pino's `Logger` fits). */
export interface StorageLog {
  warn(obj: object, msg: string): void;
}

/** Options of {@link openLocalFileStore}. */
export interface LocalFileStoreOptions {
  /** The workdir (`--workdir`); created when missing. */
  readonly dir: string;
  /**
   * Compact the edit log into a snapshot once it holds more than this many
   * bytes and more than the last snapshot. Default 4 MiB.
   */
  readonly compactMinBytes?: number;
  /**
   * `--recover-missing-state`: start although `PD_STATE.json` is missing
   * beside a region catalog. The id checkpoint is then rebuilt as the
   * largest id in the catalog and the timestamp checkpoint as 0 (timestamps
   * resume at the clock), and written at once. Ids handed out but not in the
   * catalog may be handed out again: pass `--id-start` above them if known.
   * Default false: such a workdir is refused.
   */
  readonly recoverMissingState?: boolean;
  /** Receives background failures (automatic compaction). Default: none. */
  readonly log?: StorageLog;
  /**
   * Largest record this store writes, in bytes; at most (and by default)
   * {@link MAX_RECORD_BYTES}, the most the reader accepts. Lower it to
   * exercise the limits with small data.
   */
  readonly maxRecordBytes?: number;
}

/** A torn or damaged end of the edit log, cut off on open. */
export interface DroppedTail {
  readonly file: string;
  readonly offset: number;
  readonly droppedBytes: number;
  /** `short`/`zeros`: a crash mid-append; `checksum`: a whole last record failed its check (a crash, or corruption). */
  readonly reason: TornReason;
  /** Where the cut bytes were kept (they are never destroyed). */
  readonly savedTo: string;
}

/** Regions taken over from a Go PD's `PD_STATE.json` on open. */
export interface ImportedCatalog {
  readonly file: string;
  /** Regions merged into the catalog (as heartbeats would be). */
  readonly imported: number;
  /** Regions not taken: tombstones, malformed ones, and ones older than the catalog, with why. */
  readonly skipped: readonly SkippedRegion[];
  /** A copy of the original file, kept before it was rewritten without its regions. */
  readonly backup: string;
}

/** What {@link openLocalFileStore} repaired or took over on open; empty on a clean open. */
export interface RecoveryReport {
  /** The end of the last log that was not a whole record and was cut off. */
  readonly truncated?: DroppedTail;
  /** Newest logs holding nothing but their header (a crash or a full disk during a log switch), removed. */
  readonly removedEmptyLogs?: readonly string[];
  /** A Go PD's region catalog found in `PD_STATE.json` and merged into ours. */
  readonly importedCatalog?: ImportedCatalog;
  /** `--recover-missing-state` rebuilt the missing `PD_STATE.json` with this checkpoint. */
  readonly rebuiltState?: AllocatorState;
}

/** One line each for what {@link RecoveryReport} holds, for PD's start-up output. */
export function describeRecovery(r: RecoveryReport): string[] {
  const lines: string[] = [];
  if (r.truncated) {
    const t = r.truncated;
    const why =
      t.reason === "checksum"
        ? "its last record failed its checksum: a crash mid-write, or corruption"
        : t.reason === "zeros"
          ? "torn: zero bytes after the last whole record (crash mid-write)"
          : "torn: the last record was cut short (crash mid-write)";
    lines.push(`dropped ${t.droppedBytes} byte(s) at offset ${t.offset} of ${t.file} (${why}); the bytes are kept in ${t.savedTo}`);
  }
  for (const f of r.removedEmptyLogs ?? []) lines.push(`removed ${f}: a newest log holding nothing (crash or full disk during a log switch)`);
  if (r.importedCatalog) {
    const c = r.importedCatalog;
    lines.push(`took over the Go PD's region catalog in ${c.file}: ${c.imported} region(s) imported, ${c.skipped.length} skipped; the original is kept as ${c.backup}`);
    for (const s of c.skipped) lines.push(`  skipped region ${s.key}: ${s.reason}`);
  }
  if (r.rebuiltState) {
    lines.push(
      `${STATE_FILE} was missing: rebuilt with id checkpoint ${r.rebuiltState.idCurrent} (the largest id in the catalog) and timestamp checkpoint 0 (--recover-missing-state)`,
    );
  }
  return lines;
}

/** Counters of the local-file store, for metrics and benchmarks. */
export interface LocalFileStoreStats {
  readonly appends: number;
  readonly logSyncs: number;
  readonly stateWrites: number;
  readonly compactions: number;
  /** Automatic or explicit compactions that failed (each retried later). */
  readonly compactionFailures: number;
  readonly logBytes: number;
  readonly snapshotBytes: number;
}

interface PendingAppend {
  readonly edits: readonly RegionEdit[];
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Bytes of the record payload a batch of edits encodes to. */
function payloadBytes(edits: readonly RegionEdit[]): number {
  let n = 4;
  for (const e of edits) n += editBytes(e);
  return n;
}


/**
 * The local-file {@link Store} of `--workdir`:
 *
 * - `PD_STATE.json`: allocator ceilings, replaced atomically (temp file,
 *   fsync, rename, directory fsync), written in both shapes NoKV's Go PD
 *   reads.
 * - `regions.<gen>.log`: the region catalog as an append-only edit log. One
 *   append = one record (length, checksums, payload) = one atomic batch;
 *   appends arriving together share one write and one fdatasync (group
 *   commit) and each resolves after it. An append too large for one record
 *   is refused before anything is written.
 * - `regions.snap`: a compacted snapshot covering every log up to its base
 *   generation, in records of about 1 MiB. Compaction switches appends to
 *   a new log, writes the snapshot beside the live traffic, then deletes
 *   the old logs; a crash at any point leaves a loadable set of files. A
 *   failed compaction is logged, counted and retried with back-off.
 * - `LOCK`: held with a kernel lock while open (see `acquireWorkdirLock`).
 *
 * On open, an end of the last log that is not a whole record is cut off and
 * kept in a side file (see {@link RecoveryReport}); any other damage, a
 * missing log generation, or a `PD_STATE.json` that is missing beside a
 * catalog or not understood, fail the open with the file named, and nothing
 * is modified.
 */
export class LocalFileStore implements Store {
  readonly description: string;
  readonly dir: string;
  #recovery: RecoveryReport;
  /** One append is one record of the edit log, so it is bounded like one. */
  readonly appendLimit: AppendLimit;
  readonly #maxRecordBytes: number;
  readonly #regions: Map<bigint, Region>;
  #allocator: AllocatorState;
  #scheduling: SchedulingConfig | undefined;
  #log: FileHandle;
  #logGen: bigint;
  #logBytes: number;
  #snapshotBytes: number;
  readonly #compactMinBytes: number;
  readonly #releaseLock: () => Promise<void>;
  readonly #bgLog: StorageLog | undefined;
  #queue: PendingAppend[] = [];
  #writing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
  #stateChain: Promise<void> = Promise.resolve();
  #switchWanted = false;
  #compactWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  /** Automatic compaction waits until this monotonic time after a failure. */
  #compactNotBeforeMs = 0;
  #compactRetryMs = COMPACT_RETRY_FIRST_MS;
  #broken: PdError | undefined;
  #closed = false;
  #stats = { appends: 0, logSyncs: 0, stateWrites: 0, compactions: 0, compactionFailures: 0 };

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
    bgLog: StorageLog | undefined;
    maxRecordBytes: number;
    scheduling: SchedulingConfig | undefined;
  }) {
    this.#maxRecordBytes = init.maxRecordBytes;
    this.appendLimit = { maxBytes: init.maxRecordBytes, editBytes };
    this.dir = init.dir;
    this.description = `local-file ${init.dir}`;
    this.#regions = init.regions;
    this.#allocator = init.allocator;
    this.#scheduling = init.scheduling;
    this.#log = init.log;
    this.#logGen = init.logGen;
    this.#logBytes = init.logBytes;
    this.#snapshotBytes = init.snapshotBytes;
    this.#compactMinBytes = init.compactMinBytes;
    this.#releaseLock = init.releaseLock;
    this.#recovery = init.recovery;
    this.#bgLog = init.bgLog;
  }

  /** What the open repaired or took over (see {@link RecoveryReport}). */
  get recovery(): RecoveryReport {
    return this.#recovery;
  }

  /** @internal the open's last step (taking over a Go catalog) adds to the report. */
  noteRecovery(part: RecoveryReport): void {
    this.#recovery = { ...this.#recovery, ...part };
  }

  /** Counters for metrics and benchmarks. */
  stats(): LocalFileStoreStats {
    return { ...this.#stats, logBytes: this.#logBytes, snapshotBytes: this.#snapshotBytes };
  }

  async load(): Promise<ClusterSnapshot> {
    this.#checkWritable();
    return {
      regions: [...this.#regions.values()],
      allocator: this.#allocator,
      ...(this.#scheduling !== undefined && { schedulingConfig: this.#scheduling }),
    };
  }

  /**
   * See {@link Store.appendRegionEdits}.
   *
   * @throws PdError `INVALID_ARGUMENT` when the edits do not fit in one
   *   record of the log (nothing is written), `STORAGE` when the write failed.
   */
  appendRegionEdits(edits: readonly RegionEdit[]): Promise<void> {
    try {
      this.#checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    if (edits.length === 0) return Promise.resolve();
    const bytes = payloadBytes(edits);
    if (bytes > this.#maxRecordBytes) {
      return Promise.reject(
        new PdError(
          "INVALID_ARGUMENT",
          `${this.description}: ${edits.length} region edit(s) of ${bytes} bytes exceed the ${this.#maxRecordBytes}-byte record limit; nothing was written`,
        ),
      );
    }
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
      await writeStateFile(this.dir, state);
      this.#stats.stateWrites++;
      this.#allocator = state;
    });
    this.#stateChain = write.catch(() => undefined);
    return write;
  }

  /**
   * Replaces `SCHEDULING.json` atomically (temp file, fsync, rename,
   * directory fsync): a crash leaves the old record or the new one.
   * Writes are applied in call order (they share the state file's chain).
   */
  saveSchedulingConfig(config: SchedulingConfig): Promise<void> {
    try {
      this.#checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    const path = join(this.dir, SCHEDULING_FILE);
    const write = this.#stateChain.then(async () => {
      try {
        await writeFileAtomic(path, [Buffer.from(encodeSchedulingConfig(config))]);
      } catch (err) {
        throw storageError(`${path}: write failed`, err);
      }
      this.#scheduling = config;
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
        for (const p of batch) applyEdits(this.#regions, p.edits);
        for (const p of batch) p.resolve();
        if (
          this.#compacting === undefined &&
          this.#logBytes > this.#compactMinBytes &&
          this.#logBytes > this.#snapshotBytes &&
          performance.now() >= this.#compactNotBeforeMs
        ) {
          this.#switchWanted = true;
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /** A compaction failed: say so, count it, and hold automatic compaction off for a while (doubling). */
  #compactionFailed(err: PdError): void {
    this.#stats.compactionFailures++;
    const retryInMs = this.#compactRetryMs;
    this.#compactNotBeforeMs = performance.now() + retryInMs;
    this.#compactRetryMs = Math.min(this.#compactRetryMs * 2, COMPACT_RETRY_MAX_MS);
    this.#bgLog?.warn({ err: err.message, retryInMs }, "edit log compaction failed; the log keeps growing until a retry succeeds");
  }

  #compactionSucceeded(): void {
    this.#stats.compactions++;
    this.#compactRetryMs = COMPACT_RETRY_FIRST_MS;
    this.#compactNotBeforeMs = 0;
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
      this.#compactionFailed(err);
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
      this.#snapshotBytes = await writeFileAtomic(
        join(this.dir, SNAP_FILE),
        snapshotChunks(baseGen, regions, Math.min(SNAP_CHUNK_BYTES, this.#maxRecordBytes / 2)),
      );
      for (const name of await readdir(this.dir)) {
        const m = LOG_RE.exec(name);
        if (m && BigInt(m[1]!) <= baseGen) await unlink(join(this.dir, name));
      }
      await fsyncDir(this.dir);
    })().then(
      () => {
        this.#compactionSucceeded();
        for (const w of waiters) w.resolve();
      },
      (cause: unknown) => {
        const err = storageError(`${join(this.dir, SNAP_FILE)}: compaction failed`, cause);
        this.#compactionFailed(err);
        for (const w of waiters) w.reject(err);
      },
    ).finally(() => {
      this.#compacting = undefined;
    });
  }
}

async function* snapshotChunks(baseGen: bigint, regions: readonly Region[], chunkBytes: number): AsyncGenerator<Uint8Array> {
  const header = Buffer.allocUnsafe(16);
  header.writeBigUInt64LE(baseGen, 0);
  header.writeBigUInt64LE(BigInt(regions.length), 8);
  yield Buffer.concat([SNAP_MAGIC, frameRecord(header)]);
  // Chunks are cut by bytes, not by count: with large keys a count of regions
  // could make a record the reader refuses. A region's own put always fits
  // (the catalog stores none larger than half a record).
  let chunk: RegionEdit[] = [];
  let bytes = 4;
  for (const region of regions) {
    const edit: RegionEdit = { kind: "put", region };
    const size = editBytes(edit);
    if (chunk.length > 0 && bytes + size > chunkBytes) {
      yield frameRecord(encodeEdits(chunk));
      chunk = [];
      bytes = 4;
      // Let requests run between chunks of a large snapshot.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    chunk.push(edit);
    bytes += size;
  }
  if (chunk.length > 0) yield frameRecord(encodeEdits(chunk));
}

/**
 * Creates log generation `gen` holding only its header, all or nothing: the
 * header is written to a temp file and fsynced, then linked into place
 * (failing if the generation exists) and the directory fsynced. A failure
 * (a full disk) leaves no half-made log behind, so a retry can succeed.
 */
async function createLog(dir: string, gen: bigint): Promise<{ handle: FileHandle; bytes: number }> {
  const final = join(dir, logName(gen));
  const tmp = `${final}.tmp`;
  await writeSyncedFile(tmp, [LOG_MAGIC]);
  try {
    await link(tmp, final);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  try {
    await fsyncDir(dir);
    return { handle: await open(final, "r+"), bytes: LOG_MAGIC.length };
  } catch (err) {
    await unlink(final).catch(() => undefined);
    throw err;
  }
}

function applyEdits(regions: Map<bigint, Region>, edits: readonly RegionEdit[]): void {
  for (const e of edits) {
    if (e.kind === "put") regions.set(e.region.id, e.region);
    else regions.delete(e.regionId);
  }
}

async function writeStateFile(dir: string, state: AllocatorState): Promise<void> {
  const path = join(dir, STATE_FILE);
  try {
    await writeFileAtomic(path, [Buffer.from(formatAllocatorState(state))]);
  } catch (err) {
    throw storageError(`${path}: write failed`, err);
  }
}

/**
 * Opens (creating when needed) the local-file store in `options.dir`:
 * takes the workdir lock, reads `PD_STATE.json` (either shape of NoKV's Go
 * PD, see `parsePdStateFile`), the snapshot and the edit logs, cuts off a
 * torn last record, and takes over a Go PD's region catalog found in
 * `PD_STATE.json`. What it repaired is in {@link LocalFileStore.recovery}.
 *
 * @throws PdError `STORAGE` when the workdir is unusable, locked by a live
 *   PD, or holds a damaged, missing or not understood file (the message
 *   names the file, the offset where there is one, and what to do; the files
 *   are left as they were).
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
  let store: LocalFileStore | undefined;
  try {
    store = await openLocked(dir, options, releaseLock);
    return store;
  } catch (err) {
    if (store === undefined) await releaseLock();
    throw storageError(`workdir ${dir}`, err);
  }
}

/**
 * A log file that holds nothing at all: empty, a partial or whole header,
 * maybe followed by zero bytes. (One holding the start of a record is not
 * empty: that is a torn tail, kept aside and reported as one.)
 */
function holdsNothing(buf: Buffer): boolean {
  const scan = scanRecords(buf, LOG_MAGIC);
  return scan.kind !== "corrupt" && scan.payloads.length === 0 && buf.subarray(LOG_MAGIC.length).every((b) => b === 0);
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
}

async function openLocked(
  dir: string,
  options: LocalFileStoreOptions,
  releaseLock: () => Promise<void>,
): Promise<LocalFileStore> {
  const statePath = join(dir, STATE_FILE);
  const stateFile = await readPdStateFile(statePath);
  const regions = new Map<bigint, Region>();
  const schedulingPath = join(dir, SCHEDULING_FILE);
  const schedulingText = await readOptional(schedulingPath);
  const scheduling = schedulingText === undefined ? undefined : decodeSchedulingConfig(schedulingText.toString("utf8"), schedulingPath);

  // Snapshot: written atomically, so any damage is corruption, never a torn tail.
  let baseGen = 0n;
  let snapshotBytes = 0;
  const snapPath = join(dir, SNAP_FILE);
  const snap = await readOptional(snapPath);
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

  const names = await readdir(dir);
  const gens = names
    .map((n) => LOG_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => BigInt(m[1]!))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let live = gens.filter((g) => g > baseGen);
  const contents = new Map<bigint, Buffer>();
  for (const gen of live) contents.set(gen, await readFile(join(dir, logName(gen))));

  // Newest logs holding nothing are what a crash or a full disk during a log
  // switch leaves: they are not "a newer log" that would make the torn end
  // of the log before them suspicious. They go.
  const emptyTail: bigint[] = [];
  while (live.length > 0 && holdsNothing(contents.get(live.at(-1)!)!)) emptyTail.unshift(live.pop()!);

  // Generations follow each other from the snapshot on: a missing one would
  // silently lose every edit it held.
  for (const [i, gen] of live.entries()) {
    const expected = baseGen + 1n + BigInt(i);
    if (gen !== expected) {
      throw new PdError(
        "STORAGE",
        `${join(dir, logName(expected))} is missing: the region catalog continues at ${logName(gen)}` +
          `${snap === undefined ? " and there is no regions.snap" : ` after regions.snap (which covers generations up to ${baseGen})`}; refusing to start`,
      );
    }
  }

  let recovery: RecoveryReport = emptyTail.length === 0 ? {} : { removedEmptyLogs: emptyTail.map((g) => join(dir, logName(g))) };
  let logBytes = 0;
  let catalogRecords = snap !== undefined;
  let torn: { gen: bigint; offset: number; dropped: Buffer; reason: TornReason } | undefined;
  for (const [i, gen] of live.entries()) {
    const path = join(dir, logName(gen));
    const buf = contents.get(gen)!;
    const scan = scanRecords(buf, LOG_MAGIC);
    if (scan.kind === "corrupt") {
      throw new PdError(
        "STORAGE",
        `${path}: damaged record at offset ${scan.offset} (${scan.reason}); refusing to start, the file is left as it was`,
      );
    }
    if (scan.payloads.length > 0) catalogRecords = true;
    for (const p of scan.payloads) applyEdits(regions, decodeEdits(p, path));
    if (scan.kind === "torn") {
      if (i !== live.length - 1) {
        throw new PdError("STORAGE", `${path}: cut short at offset ${scan.goodBytes} but a newer log follows; refusing to start`);
      }
      torn = { gen, offset: scan.goodBytes, dropped: buf.subarray(scan.goodBytes), reason: scan.reason };
    }
    logBytes = scan.goodBytes;
  }

  if (stateFile === undefined && catalogRecords && options.recoverMissingState !== true) {
    throw new PdError(
      "STORAGE",
      `${statePath} is missing, but the workdir holds a region catalog (${regions.size} region(s)): the allocator checkpoints are gone, ` +
        `and starting them from 1 would hand out ids again. Restore ${STATE_FILE}, or start once with --recover-missing-state ` +
        `(ids then resume above the largest id in the catalog; add --id-start above any id ever handed out, if known)`,
    );
  }

  // Only now, with everything read and valid, modify files.
  if (torn !== undefined) {
    const file = join(dir, logName(torn.gen));
    const savedTo = await keepAside(`${file}.tail-${torn.offset}`, torn.dropped);
    const fh = await open(file, "r+");
    try {
      if (torn.offset < LOG_MAGIC.length) {
        await fh.truncate(0);
        await fh.write(LOG_MAGIC, 0, LOG_MAGIC.length, 0);
        logBytes = LOG_MAGIC.length;
      } else {
        await fh.truncate(torn.offset);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    recovery = { ...recovery, truncated: { file, offset: torn.offset, droppedBytes: torn.dropped.length, reason: torn.reason, savedTo } };
  }
  for (const g of emptyTail) await unlink(join(dir, logName(g)));
  for (const g of gens) if (g <= baseGen) await unlink(join(dir, logName(g))).catch(() => undefined);
  // A log switch that failed before linking its log into place left only its temp file.
  for (const n of names) if (/^regions\.\d{20}\.log\.tmp$/.test(n)) await unlink(join(dir, n)).catch(() => undefined);
  if (emptyTail.length > 0) await fsyncDir(dir);

  let allocator: AllocatorState = stateFile?.allocator ?? { idCurrent: 0n, tsCurrent: 0n };
  if (stateFile === undefined && !catalogRecords) {
    // A new workdir gets its checkpoint file at once, so that from now on a
    // missing PD_STATE.json always means a lost one.
    await writeStateFile(dir, allocator);
  } else if (stateFile === undefined) {
    let top = 0n;
    for (const r of regions.values()) if (largestIdIn(r) > top) top = largestIdIn(r);
    allocator = { idCurrent: top, tsCurrent: 0n };
    await writeStateFile(dir, allocator);
    recovery = { ...recovery, rebuiltState: allocator };
  }

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
  const store = new LocalFileStore({
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
    bgLog: options.log,
    maxRecordBytes: Math.min(options.maxRecordBytes ?? MAX_RECORD_BYTES, MAX_RECORD_BYTES),
    scheduling,
  });
  if (stateFile !== undefined && (stateFile.regions.length > 0 || stateFile.skipped.length > 0)) {
    try {
      const imported = await importGoCatalog(store, statePath, stateFile);
      store.noteRecovery({ importedCatalog: imported });
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

/**
 * Writes `data` to a new file next to what it was cut from, never over an
 * existing one (`path`, else `path.1`, `path.2`, …); durable before return.
 * A failure (a full disk) removes the file it was writing, so that no
 * empty or partial copy is mistaken for the cut bytes.
 *
 * @throws PdError `STORAGE` naming the file it could not write.
 */
async function keepAside(path: string, data: Buffer): Promise<string> {
  for (let n = 0; ; n++) {
    const target = n === 0 ? path : `${path}.${n}`;
    let fh: FileHandle;
    try {
      fh = await open(target, "wx", 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw storageError(`cannot keep ${data.length} cut byte(s) in ${target}`, err);
    }
    try {
      await fh.writeFile(data);
      await fh.sync();
      await fh.close();
      await fsyncDir(join(path, ".."));
    } catch (err) {
      await fh.close().catch(() => undefined);
      // Created with "wx" above: it is ours to remove.
      await unlink(target).catch(() => undefined);
      throw storageError(`cannot keep ${data.length} cut byte(s) in ${target}; nothing was changed`, err);
    }
    return target;
  }
}

/**
 * Takes over the region catalog a Go PD kept in `PD_STATE.json`: its regions
 * are merged into ours as heartbeats would be (a region older than the one
 * we hold is skipped; a newer one replaces what it overlaps), durably; a
 * copy of the original file is kept; then `PD_STATE.json` is rewritten
 * without the regions and with an id checkpoint covering every imported id.
 * Each step is idempotent, so a crash in between repeats it on the next open.
 */
async function importGoCatalog(store: LocalFileStore, statePath: string, state: PdStateFile): Promise<ImportedCatalog> {
  const original = await readFile(statePath);
  const digest = createHash("sha256").update(original).digest("hex").slice(0, 12);
  const backup = `${statePath}.go-${digest}`;
  if ((await readOptional(backup))?.equals(original) !== true) await writeFileAtomic(backup, [original]);

  const catalog = new RegionCatalog({ log: store });
  catalog.restore((await store.load()).regions);
  const skipped: SkippedRegion[] = [...state.skipped];
  let imported = 0;
  let top = state.allocator.idCurrent;
  const outcomes = await Promise.allSettled(state.regions.map((r) => catalog.heartbeat(r)));
  for (const [i, o] of outcomes.entries()) {
    const r = state.regions[i]!;
    if (o.status === "fulfilled") {
      imported++;
      if (largestIdIn(r) > top) top = largestIdIn(r);
    } else if (o.reason instanceof PdError && (o.reason.code === "STALE_EPOCH" || o.reason.code === "RANGE_OVERLAP" || o.reason.code === "INVALID_ARGUMENT")) {
      skipped.push({ key: r.id.toString(), reason: o.reason.message });
    } else {
      throw o.reason;
    }
  }
  await store.saveAllocatorState({ idCurrent: top, tsCurrent: state.allocator.tsCurrent });
  return { file: statePath, imported, skipped, backup };
}
