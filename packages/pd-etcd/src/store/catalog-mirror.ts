import { performance } from "node:perf_hooks";
import { type AllocatorState, PdError, RegionCatalog, type RegionEdit, type RegionLog } from "@nokv/pd-core";
import { decodeEdits, parseAllocatorState } from "@nokv/pd-storage";
import type { IKeyValue } from "etcd3";
import { openWatch, type Watch, type WatchEvent } from "../connection/watch-stream.js";
import { delay } from "../election/leader-watch.js";
import { parseRegionKey, prefixRangeEnd } from "../keys/key-layout.js";
import { type CatalogHead, type ReadContext, readCatalog, readHead } from "./catalog-read.js";
import { decodeRegionValue } from "./region-values.js";

const RETRY_MS = 200;

/** Options of {@link CatalogMirror}. */
export interface CatalogMirrorOptions extends ReadContext {
  /** Region keys read per request by a (re)load. */
  readonly pageSize: number;
  /** Background failures (all retried), and reloads, for the member's log. */
  readonly report: (what: string, err?: unknown) => void;
  /** Told each time the mirror has (re)loaded the whole catalog: regions, revision, how long it took. */
  readonly onLoaded?: (info: { regions: number; revision: bigint; loadMs: number; reason: string }) => void;
}

/** How far a mirror is, for logs, metrics and tests. */
export interface MirrorStatus {
  /** `loading` (no catalog yet), `following` (replaying etcd), `lent` (a term of this member writes it), `closed`. */
  readonly state: "loading" | "following" | "lent" | "closed";
  /** Every catalog change up to this etcd revision is applied (-1 before the first load). */
  readonly revision: bigint;
  /** Mod revision of `catalog/commit` as applied. */
  readonly commitRevision: bigint;
  readonly regions: number;
  /** Whole reloads so far (the first load included). */
  readonly loads: number;
  /** The allocator ceilings as last seen (never trusted by a new term: it reads its own at its start). */
  readonly ceilings: AllocatorState | undefined;
}

/** A catalog lent to a term, and where it stood. */
export interface LentCatalog {
  readonly catalog: RegionCatalog;
  readonly revision: bigint;
  readonly commitRevision: bigint;
}

/** The log of a catalog nobody may write through: a follower's. */
const FOLLOWER_LOG: RegionLog = {
  appendRegionEdits: () => Promise.reject(new PdError("NOT_LEADER", "a follower's catalog is not written")),
};

/**
 * A warm follower's copy of the region catalog (tikv/pd keeps its followers
 * warm with its region syncer; here etcd itself is the stream): one whole
 * read at a revision, then every later change replayed from a watch of the
 * cluster's keys from the revision after it, into a pd-core
 * {@link RegionCatalog} with its index built — the very object a term of
 * this member will serve.
 *
 * Replay follows the catalog protocol of the etcd store: the edits of one
 * etcd revision (one transaction) are applied as one atomic change; a
 * `catalog/pending` batch is applied when it is committed, and the later
 * spreading of it over the region keys rewrites the same values. Every
 * catalog change moves `catalog/commit`, so the mirror is current as of a
 * head read exactly when it has applied that read's `catalog/commit` mod
 * revision: that is how a new term catches up ({@link lend}).
 *
 * A watch whose etcd member goes silent or fails is resumed on another
 * member; when a fresh head read shows `catalog/commit` unchanged, from that
 * read's revision (nothing to replay), else from the last applied revision.
 * The mirror reloads the whole catalog only when it must: the revision it
 * would resume from was compacted (it was cut off from etcd, or lent to a
 * term, while the catalog changed and etcd compacted past it), or a change
 * could not be applied (a malformed value, an overlap: the copy diverged).
 */
export class CatalogMirror {
  readonly #o: CatalogMirrorOptions;
  #state: MirrorStatus["state"] = "loading";
  #catalog: RegionCatalog | undefined;
  #revision = -1n;
  #commitRevision = 0n;
  #ceilings: AllocatorState | undefined;
  #loads = 0;
  /** Bumped whenever the catalog is replaced from outside (reclaim, close): a load begun before is void. */
  #generation = 0;
  #reloadReason: string | undefined = "first load";
  #watch: Watch | undefined;
  #wakeLoop: () => void = () => {};
  #loop: Promise<void> | undefined;
  /** Woken whenever the mirror applied something or changed state. */
  #waiters = new Set<() => void>();

  constructor(options: CatalogMirrorOptions) {
    this.#o = options;
  }

  /** True once {@link close} was called (read through a getter: the state changes across awaits). */
  get #closed(): boolean {
    return this.#state === "closed";
  }

  /** Starts loading and following in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Where the mirror stands. */
  get status(): MirrorStatus {
    return {
      state: this.#state,
      revision: this.#revision,
      commitRevision: this.#commitRevision,
      regions: this.#catalog?.size ?? 0,
      loads: this.#loads,
      ceilings: this.#ceilings,
    };
  }

  /** True when a term could start from this mirror without reading the whole catalog (it holds one and follows etcd). */
  get warm(): boolean {
    return this.#state === "following";
  }

  /** Resolves once the mirror is {@link warm}, or closed. */
  async whenWarm(): Promise<void> {
    while (!this.warm && !this.#closed) await this.#changed(1000);
  }

  /**
   * Catches up to `head` (read by the term after winning) and lends the
   * catalog to that term: replay stops until {@link reclaim}. Waits for a
   * load in progress first (a member that wins cold), then — at most
   * `budgetMs` — for a catalog lent to the previous term to come back and
   * for the catalog to apply `head.commitRevision`.
   *
   * Resolves undefined when the mirror cannot catch up in time (its etcd
   * member is gone, it diverged) or `stillWanted` turns false; it then goes
   * on following, and the term reads the catalog itself (and hands its own
   * copy back at its end).
   */
  async lend(
    head: Pick<CatalogHead, "commitRevision" | "revision">,
    budgetMs: number,
    stillWanted: () => boolean = () => true,
  ): Promise<LentCatalog | undefined> {
    const deadline = performance.now() + budgetMs;
    for (;;) {
      if (!stillWanted() || this.#closed) return undefined;
      const left = deadline - performance.now();
      if (this.#state === "loading") {
        // A member that won cold: the load in progress is the fastest way to the catalog.
        await this.#changed(RETRY_MS);
        continue;
      }
      if (this.#state === "following" && this.#catalog !== undefined) {
        if (this.#commitRevision === head.commitRevision) break;
        if (this.#commitRevision > head.commitRevision) {
          // Ahead of a head read after winning: the copy cannot be trusted.
          this.#o.report(`catalog mirror is ahead of the term's head (commit ${this.#commitRevision} > ${head.commitRevision}); reloading`);
          this.#reloadReason = "it was ahead of a new term's head";
          this.#watch?.stop();
          return undefined;
        }
      }
      if (left <= 0) return undefined;
      await this.#changed(Math.min(left, RETRY_MS));
    }
    // Nothing changed the catalog between what we applied and the head (the
    // mirror may have seen later changes of other keys): we stand at both.
    if (head.revision > this.#revision) this.#revision = head.revision;
    const lent: LentCatalog = { catalog: this.#catalog, revision: this.#revision, commitRevision: this.#commitRevision };
    this.#state = "lent";
    this.#watch?.stop();
    this.#notify();
    return lent;
  }

  /**
   * Takes the catalog back from a term that ended (or gives the mirror the
   * catalog a term built itself): replay resumes from `position.revision + 1`.
   * The catalog must not be writing any more.
   */
  reclaim(catalog: RegionCatalog, position: { revision: bigint; commitRevision: bigint }): void {
    if (this.#state === "closed") return;
    catalog.useLog(FOLLOWER_LOG);
    // No event of a watch from before may reach the catalog handed back.
    this.#watch?.stop();
    this.#generation++;
    this.#catalog = catalog;
    this.#revision = position.revision;
    this.#commitRevision = position.commitRevision;
    this.#reloadReason = undefined;
    this.#state = "following";
    this.#notify();
    this.#wakeLoop();
  }

  /** Stops following. Idempotent. */
  async close(): Promise<void> {
    this.#state = "closed";
    this.#generation++;
    this.#watch?.stop();
    this.#wakeLoop();
    this.#notify();
    await this.#loop;
  }

  /** Resolves on the next change of the mirror, or after `ms`. */
  #changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  async #run(): Promise<void> {
    while (this.#state !== "closed") {
      try {
        if (this.#state === "lent") {
          await delay(60_000, (wake) => {
            this.#wakeLoop = wake;
          });
          continue;
        }
        if (this.#reloadReason !== undefined) await this.#load(this.#reloadReason);
        if (this.#state !== "following") continue;
        await this.#follow();
      } catch (err) {
        if (this.#closed) break;
        this.#o.report("catalog mirror failed; retrying", err);
        await delay(RETRY_MS, (wake) => {
          this.#wakeLoop = wake;
        });
      }
    }
  }

  async #load(reason: string): Promise<void> {
    const started = performance.now();
    if (this.#loads > 0) this.#o.report(`catalog mirror reloads the whole catalog: ${reason}`);
    const generation = this.#generation;
    // Closing (or a catalog handed back meanwhile) stops a long load between two windows.
    let read;
    try {
      read = await readCatalog(this.#o, this.#o.pageSize, () => generation !== this.#generation);
    } catch (err) {
      if (generation !== this.#generation) return;
      throw err;
    }
    const { head, regions } = read;
    if (generation !== this.#generation || this.#state === "closed" || this.#state === "lent") return;
    const catalog = new RegionCatalog({ log: FOLLOWER_LOG });
    catalog.restore(regions.values());
    this.#catalog = catalog;
    this.#revision = head.revision;
    this.#commitRevision = head.commitRevision;
    this.#adoptCeilings(head.allocKv);
    this.#reloadReason = undefined;
    this.#loads++;
    this.#state = "following";
    this.#notify();
    this.#o.onLoaded?.({ regions: catalog.size, revision: head.revision, loadMs: Math.round(performance.now() - started), reason });
  }

  /** Follows from the applied revision until the watch ends; decides how to resume. */
  async #follow(): Promise<void> {
    const prefix = Buffer.from(this.#o.keys.prefix);
    const generation = this.#generation;
    const watch = openWatch(this.#o.client, {
      key: prefix,
      rangeEnd: prefixRangeEnd(prefix),
      startRevision: this.#revision + 1n,
      onEvents: (events) => {
        if (generation === this.#generation) this.#apply(events);
      },
    });
    this.#watch = watch;
    const end = await watch.ended;
    this.#watch = undefined;
    if (end.kind === "stopped" || this.#state !== "following" || generation !== this.#generation) return;
    if (end.kind === "compacted") {
      this.#reloadReason = `revision ${this.#revision + 1n} was compacted (etcd keeps history from ${end.compactRevision})`;
      return;
    }
    if (end.kind === "failed" && end.error instanceof PdError && end.error.code === "STORAGE") {
      this.#reloadReason = `a change could not be applied: ${end.error.message}`;
      return;
    }
    this.#o.report(`catalog watch ended (${end.kind}); resuming on another etcd member`, end.kind === "failed" ? end.error : undefined);
    // Nothing to replay when the catalog has not changed since what we applied.
    const head = await readHead(this.#o);
    if (this.#state !== "following" || generation !== this.#generation) return;
    if (head.commitRevision === this.#commitRevision && head.revision > this.#revision) {
      this.#revision = head.revision;
      this.#adoptCeilings(head.allocKv);
      this.#notify();
    }
  }

  /** Applies one watch response: its revisions in order, each as one atomic change. */
  #apply(events: readonly WatchEvent[]): void {
    const catalog = this.#catalog;
    if (this.#state !== "following" || catalog === undefined) return;
    const k = this.#o.keys;
    let i = 0;
    while (i < events.length) {
      const revision = BigInt(events[i]!.kv.mod_revision);
      const edits: RegionEdit[] = [];
      let commitMoved = false;
      for (; i < events.length && BigInt(events[i]!.kv.mod_revision) === revision; i++) {
        const { kind, kv } = events[i]!;
        const key = kv.key.toString("utf8");
        if (key.startsWith(k.regionPrefix)) {
          if (kind === "put") edits.push({ kind: "put", region: decodeRegionValue(k, kv) });
          else edits.push({ kind: "delete", regionId: parseRegionKey(k, key) });
        } else if (key === k.catalogPending) {
          if (kind === "put") edits.push(...decodeEdits(kv.value, `etcd key ${k.catalogPending}`));
        } else if (key === k.catalogCommit) {
          commitMoved = true;
        } else if (key === k.alloc && kind === "put") {
          this.#adoptCeilings(kv);
        }
      }
      if (revision <= this.#revision) continue;
      if (edits.length > 0) catalog.applyDurable(edits);
      if (commitMoved) this.#commitRevision = revision;
      this.#revision = revision;
    }
    this.#notify();
  }

  #adoptCeilings(kv: IKeyValue | undefined): void {
    if (kv === undefined) return;
    try {
      this.#ceilings = parseAllocatorState(kv.value.toString("utf8"), `etcd key ${this.#o.keys.alloc}`);
    } catch {
      // Informational only: a term reads and checks the ceilings itself.
    }
  }
}
