import { performance } from "node:perf_hooks";
import { type Cluster, type ClusterPersistence, type ClusterSnapshot, isPdError, type MemberInfo, PdError, type RegionCatalog } from "@nokv/pd-core";
import type { Store } from "@nokv/pd-storage";
import type { CampaignOptions, LeaderTerm } from "../election/leader-election.js";
import type { PdMember } from "../election/leader-guard.js";
import type { LentCatalog } from "../store/catalog-mirror.js";
import type { CatalogPosition, TermHead } from "../store/etcd-store.js";

/**
 * Where an elected member logs: a structural subset of pino's `Logger`
 * (what `pd-cli` passes), so this package needs no logging library.
 */
export interface MemberLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** The part of {@link LeaderElection} the term loop drives (a scripted one in tests). */
export interface Election {
  /** True while this member leads and its lease is surely alive (checked per request). */
  readonly isLeader: boolean;
  readonly term: LeaderTerm | undefined;
  /** The leader as last seen, possibly this member. */
  readonly leader: PdMember | undefined;
  leaderAddr(): string | undefined;
  campaign(options: CampaignOptions): void;
  resign(): Promise<void>;
  close(): Promise<void>;
}

/** A term's store: a `Store`, and with a warm catalog also the head read and the position (the etcd store). */
export type TermStore = Store & {
  /** Opens the term reading only the keys beside the regions (see `EtcdStore.loadHead`). */
  loadHead?(): Promise<TermHead>;
  /** Where the store's view of the catalog stands (see `EtcdStore.position`). */
  readonly position?: CatalogPosition | undefined;
};

/** The follower's warm catalog, lent to each term that can use it (a `CatalogMirror`). */
export interface WarmCatalog {
  /** True when a term could start from it without reading the whole catalog. */
  readonly warm: boolean;
  /** Resolves once {@link warm} (or the mirror closed). */
  whenWarm(): Promise<void>;
  /** See `CatalogMirror.lend`: undefined when it cannot catch up to `head` in time. */
  lend(head: TermHead, budgetMs: number, stillWanted: () => boolean): Promise<LentCatalog | undefined>;
  /** See `CatalogMirror.reclaim`: a term hands its catalog back when it ends. */
  reclaim(catalog: RegionCatalog, position: CatalogPosition): void;
}

/** What the term loop is built from. */
export interface TermLoopOptions {
  readonly election: Election;
  /** This member; read when campaigning (its fields may be getters, final by then). */
  readonly self: PdMember;
  readonly leaseTtlSec: number;
  /** Opens the store for a new term: its writes must be fenced on that term (the election guards them). */
  readonly openStore: () => Promise<TermStore>;
  /**
   * The warm catalog (followers keep it current). With it a new term reads
   * only the head and catches the catalog up; without it (or when it cannot
   * catch up within {@link catchUpBudgetMs}) the term reads the whole catalog.
   */
  readonly warmCatalog?: WarmCatalog;
  /** How long a new term waits for the warm catalog to catch up, in ms. Default 5000. */
  readonly catchUpBudgetMs?: number;
  /** How long a member whose catalog is not warm holds back before campaigning for a vacant leadership, in ms. Default: the lease TTL. */
  readonly coldHoldBackMs?: number;
  /** Builds the cluster model of a term from its loaded snapshot (the server's `LeadershipHost`). */
  readonly createCluster: (snapshot: ClusterSnapshot, persistence: ClusterPersistence) => Cluster;
  /** Other known members (from the registry), for `GetMembers`; the leader and self are always listed. */
  readonly peers: () => readonly PdMember[];
  readonly log: MemberLog;
  /** Told when this member starts or stops serving as the leader. */
  readonly onRoleChange?: (role: "leader" | "follower") => void;
}

interface Serving {
  readonly term: LeaderTerm;
  readonly cluster: Cluster;
  readonly store: TermStore;
}

/**
 * What an elected member does with its terms (tikv/pd's leader loop). It
 * campaigns; on winning it opens the (fenced) store, loads the catalog, the
 * allocator ceilings and the scheduling configuration — the new allocators
 * start strictly above every ceiling the old leader made durable, whatever
 * this member's clock says — and only then serves. Each term's cluster model
 * is new: it starts with no operators (only the leader schedules) and
 * rebuilds what it knows of regions from their heartbeats. Every request re-checks that the term is alive (its
 * lease is surely valid), so a leader that was paused or partitioned stops
 * serving the moment its lease may have run out, even before it hears of it.
 * Followers answer `NOT_LEADER` with the leader's address. A term whose
 * catalog write had an uncertain outcome is given up, so that the next term
 * starts again from what etcd holds.
 */
export class TermLoop {
  readonly #o: TermLoopOptions;
  #serving: Serving | undefined;
  #opening: LeaderTerm | undefined;
  #closed = false;

  constructor(options: TermLoopOptions) {
    this.#o = options;
  }

  /** Starts campaigning. */
  start(): void {
    this.#o.election.campaign({
      name: this.#o.self.name,
      advertiseAddr: this.#o.self.advertiseAddr,
      leaseTtlSec: this.#o.leaseTtlSec,
      onElected: (term) => void this.#becomeLeader(term),
      onDeposed: (reason) => this.#stepDown(reason),
      onLeaseLapse: (state, lapsedMs) => {
        if (state === "lapsed") this.#o.log.warn({ name: this.#o.self.name }, "leader lease not renewed in time; not serving until etcd answers a keepalive");
        else this.#o.log.warn({ name: this.#o.self.name, lapsedMs: Math.round(lapsedMs) }, "leader lease renewed; serving again in the same term");
      },
      // A member that would have to read the whole catalog lets warm members win first.
      holdBack: () => {
        const warm = this.#o.warmCatalog;
        if (warm === undefined || warm.warm) return undefined;
        const holdMs = this.#o.coldHoldBackMs ?? this.#o.leaseTtlSec * 1000;
        return new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, holdMs);
          void warm.whenWarm().then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      },
    });
  }

  /** True while this member serves as the leader. */
  get isServing(): boolean {
    const s = this.#serving;
    return s !== undefined && this.#o.election.isLeader && this.#o.election.term?.createRevision === s.term.createRevision;
  }

  /** See `Leadership.serving`. */
  serving(): Cluster {
    const s = this.#serving;
    if (s !== undefined && this.#o.election.isLeader && this.#o.election.term?.createRevision === s.term.createRevision) {
      return s.cluster;
    }
    const leaderAddr = this.#o.election.leaderAddr();
    if (this.#opening !== undefined || (this.#o.election.isLeader && leaderAddr === this.#o.self.advertiseAddr)) {
      throw new PdError("UNAVAILABLE", `${this.#o.self.name}: elected, loading state`);
    }
    throw new PdError(
      "NOT_LEADER",
      leaderAddr === undefined ? `${this.#o.self.name} is not the leader; no leader is known yet` : `${this.#o.self.name} is not the leader; the leader is ${leaderAddr}`,
      leaderAddr === undefined || leaderAddr === this.#o.self.advertiseAddr ? undefined : { leaderAddr },
    );
  }

  /** See `Leadership.members`. */
  members(): { members: MemberInfo[]; leader: MemberInfo | undefined } {
    const leader = this.#o.election.leader;
    const byName = new Map<string, MemberInfo>();
    const add = (m: PdMember) =>
      byName.set(m.name, { name: m.name, advertiseAddr: m.advertiseAddr, isLeader: leader?.name === m.name });
    for (const m of this.#o.peers()) add(m);
    add(this.#o.self);
    if (leader !== undefined) add(leader);
    const members = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { members, leader: leader === undefined ? undefined : byName.get(leader.name) };
  }

  /** Stops serving, hands leadership over at once (resign), closes the term's store and the election. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#serving;
    this.#serving = undefined;
    if (s !== undefined) await s.cluster.flush();
    await this.#o.election.resign().catch((err: unknown) => this.#o.log.warn({ err: errorText(err) }, "resign failed; the lease will expire"));
    await s?.store.close();
    await this.#o.election.close();
  }

  async #becomeLeader(term: LeaderTerm): Promise<void> {
    if (this.#closed) return;
    this.#opening = term;
    const started = performance.now();
    let store: TermStore | undefined;
    let lent: LentCatalog | undefined;
    const current = () => !this.#closed && this.#o.election.term?.createRevision === term.createRevision;
    try {
      store = await this.#o.openStore();
      const opened = store;
      // Warm: read the head (the ceilings as of now, after winning) and
      // catch the follower's catalog up to it. Cold: read everything.
      let snapshot: ClusterSnapshot | undefined;
      let how = "cold";
      const warm = this.#o.warmCatalog;
      if (warm !== undefined && opened.loadHead !== undefined) {
        const head = await opened.loadHead();
        lent = await warm.lend(head, this.#o.catchUpBudgetMs ?? 5000, current);
        if (lent !== undefined) {
          snapshot = {
            regions: [],
            allocator: head.allocator,
            catalog: lent.catalog,
            ...(head.schedulingConfig !== undefined && { schedulingConfig: head.schedulingConfig }),
          };
          how = "warm";
        } else if (!current()) {
          await opened.close();
          return;
        }
      }
      snapshot ??= await opened.load();
      const persistence: ClusterPersistence = {
        ...(opened.appendLimit !== undefined && { appendLimit: opened.appendLimit }),
        saveAllocatorState: (state) => opened.saveAllocatorState(state),
        // A failed configuration write changes nothing in memory (the cluster
        // applies a configuration only once it is durable): no reload needed.
        saveSchedulingConfig: (config) => opened.saveSchedulingConfig(config),
        appendRegionEdits: (edits) =>
          opened.appendRegionEdits(edits).catch((err: unknown) => {
            // An uncertain catalog write (it may have committed in etcd) leaves
            // memory and etcd possibly apart: give the term up so that the next
            // one, here or elsewhere, starts from what etcd holds.
            if (isPdError(err, "STORAGE")) void this.#reloadTerm(term, `region write failed: ${(err as Error).message}`);
            throw err;
          }),
      };
      const cluster = this.#o.createCluster(snapshot, persistence);
      lent = undefined; // the cluster owns the catalog now; it is handed back when the term ends
      if (!current()) {
        this.#serving = { term, cluster, store: opened };
        this.#stepDown("the term ended while loading");
        return;
      }
      this.#serving = { term, cluster, store: opened };
      this.#o.log.info(
        {
          name: this.#o.self.name,
          addr: this.#o.self.advertiseAddr,
          term: term.createRevision,
          catalog: how,
          regions: cluster.regions.size,
          duplicatePeerRegions: cluster.regions.duplicatePeerRegions,
          idNext: cluster.ids.next.toString(),
          tsAbove: cluster.tso.last.toString(),
          loadMs: Math.round(performance.now() - started),
        },
        "became leader",
      );
      this.#o.onRoleChange?.("leader");
    } catch (err) {
      this.#o.log.error({ err: errorText(err), term: term.createRevision }, "elected but could not load state; resigning");
      if (lent !== undefined) {
        try {
          this.#o.warmCatalog?.reclaim(lent.catalog, lent);
        } catch (reclaimErr) {
          this.#o.log.error({ err: errorText(reclaimErr) }, "could not hand the catalog back to the warm copy");
        }
      }
      await store?.close().catch(() => undefined);
      // Give the term up so another member (or this one, later) can lead.
      await this.#o.election.resign().catch(() => undefined);
      if (!this.#closed) this.start();
    } finally {
      if (this.#opening === term) this.#opening = undefined;
    }
  }

  async #reloadTerm(term: LeaderTerm, reason: string): Promise<void> {
    if (this.#closed || this.#serving?.term.createRevision !== term.createRevision) return;
    this.#o.log.error({ term: term.createRevision, reason }, "giving up leadership to reload state from etcd");
    this.#stepDown(reason);
    await this.#o.election.resign().catch(() => undefined);
    if (!this.#closed) this.start();
  }

  #stepDown(reason: string): void {
    this.#opening = undefined;
    const s = this.#serving;
    if (s === undefined) return;
    this.#serving = undefined;
    this.#o.log.warn({ name: this.#o.self.name, term: s.term.createRevision, reason }, "lost leadership; stopped serving");
    this.#o.onRoleChange?.("follower");
    // Queued writes fail on the fence; once they have settled, the catalog
    // goes back to the follower's mirror at the last position the store
    // acknowledged, and replay resumes from there.
    void (async () => {
      await s.cluster.flush().catch(() => undefined);
      await s.store.close().catch(() => undefined);
      // A request that was under way may still queue a write (it fails: the
      // store is closed); the catalog goes back once nothing is writing.
      while (s.cluster.regions.writing) await s.cluster.flush().catch(() => undefined);
      const position = s.store.position;
      if (position === undefined || this.#closed) return;
      try {
        this.#o.warmCatalog?.reclaim(s.cluster.regions, position);
      } catch (err) {
        this.#o.log.error({ err: errorText(err) }, "could not hand the catalog back to the warm copy");
      }
    })();
  }
}

/** An error's message, for logs: expected unavailability gets one line, not a stack trace. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
