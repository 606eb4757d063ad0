import { type Cluster, type ClusterOptions, type ClusterPersistence, createCluster, isPdError, PdError } from "@nokv/pd-core";
import type { CampaignOptions, LeaderTerm, PdMember, Store } from "@nokv/pd-storage";
import type { Logger } from "pino";
import type { Leadership, MemberInfo } from "./leadership.js";

/** The part of `@nokv/pd-storage`'s `LeaderElection` this coordinator drives. */
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

/** Options of {@link createElectedLeadership}. */
export interface ElectedLeadershipOptions {
  readonly election: Election;
  readonly self: PdMember;
  readonly leaseTtlSec?: number;
  /** Opens the store for a new term: writes must be fenced on that term (the election guards them). */
  readonly openStore: () => Promise<Store>;
  /** Wraps a term's store as the cluster's persistence (metrics, logs). Default: the store itself. */
  readonly observe?: (store: Store) => ClusterPersistence;
  /** Allocator starts and windows for the cluster model built at each election. */
  readonly cluster?: Omit<ClusterOptions, "persistence" | "snapshot">;
  /** Other known members (from a registry), for `GetMembers`; the leader and self are always listed. */
  readonly peers?: () => readonly PdMember[];
  readonly log: Logger;
  /** Told when this member starts or stops serving as the leader. */
  readonly onRoleChange?: (role: "leader" | "follower") => void;
}

interface Serving {
  readonly term: LeaderTerm;
  readonly cluster: Cluster;
  readonly store: Store;
}

/**
 * Leadership of one PD among several sharing an etcd cluster. The member
 * campaigns; on winning it opens the (fenced) store, loads the catalog and
 * the allocator ceilings — the new allocators start strictly above every
 * ceiling the old leader made durable, whatever this member's clock says —
 * and only then serves. Every request re-checks that the term is alive (its
 * lease is surely valid), so a leader that was paused or partitioned stops
 * serving the moment its lease may have run out, even before it hears of it.
 * Followers answer `NOT_LEADER` with the leader's address.
 */
export class ElectedLeadership implements Leadership {
  readonly #o: ElectedLeadershipOptions;
  #serving: Serving | undefined;
  #opening: LeaderTerm | undefined;
  #closed = false;

  constructor(options: ElectedLeadershipOptions) {
    this.#o = options;
  }

  /** Starts campaigning. */
  start(): void {
    this.#o.election.campaign({
      name: this.#o.self.name,
      advertiseAddr: this.#o.self.advertiseAddr,
      ...(this.#o.leaseTtlSec !== undefined && { leaseTtlSec: this.#o.leaseTtlSec }),
      onElected: (term) => void this.#becomeLeader(term),
      onDeposed: (reason) => this.#stepDown(reason),
    });
  }

  /** True while this member serves as the leader. */
  get isServing(): boolean {
    const s = this.#serving;
    return s !== undefined && this.#o.election.isLeader && this.#o.election.term?.createRevision === s.term.createRevision;
  }

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

  members(): { members: MemberInfo[]; leader: MemberInfo | undefined } {
    const leader = this.#o.election.leader;
    const byName = new Map<string, MemberInfo>();
    const add = (m: PdMember) =>
      byName.set(m.name, { name: m.name, advertiseAddr: m.advertiseAddr, isLeader: leader?.name === m.name });
    for (const m of this.#o.peers?.() ?? []) add(m);
    add(this.#o.self);
    if (leader !== undefined) add(leader);
    const members = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { members, leader: leader === undefined ? undefined : byName.get(leader.name) };
  }

  /** Stops serving, hands leadership over at once (resign), closes the term's store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#serving;
    this.#serving = undefined;
    if (s !== undefined) await s.cluster.flush();
    await this.#o.election.resign().catch((err: unknown) => this.#o.log.warn({ err }, "resign failed; the lease will expire"));
    await s?.store.close();
    await this.#o.election.close();
  }

  async #becomeLeader(term: LeaderTerm): Promise<void> {
    if (this.#closed) return;
    this.#opening = term;
    const started = performance.now();
    let store: Store | undefined;
    try {
      store = await this.#o.openStore();
      const snapshot = await store.load();
      const observed = this.#o.observe?.(store) ?? store;
      const persistence: ClusterPersistence = {
        saveAllocatorState: (state) => observed.saveAllocatorState(state),
        saveSchedulingConfig: (config) => (observed.saveSchedulingConfig ?? ((c) => store!.saveSchedulingConfig(c)))(config),
        appendRegionEdits: (edits) =>
          observed.appendRegionEdits(edits).catch((err: unknown) => {
            // An uncertain catalog write (it may have committed in etcd) leaves
            // memory and etcd possibly apart: give the term up so that the next
            // one, here or elsewhere, starts from what etcd holds.
            if (isPdError(err, "STORAGE")) void this.#reloadTerm(term, `region write failed: ${(err as Error).message}`);
            throw err;
          }),
      };
      const cluster = createCluster({ ...this.#o.cluster, persistence, snapshot });
      if (this.#closed || this.#o.election.term?.createRevision !== term.createRevision) {
        await store.close();
        return;
      }
      this.#serving = { term, cluster, store };
      this.#o.log.info(
        {
          name: this.#o.self.name,
          addr: this.#o.self.advertiseAddr,
          term: term.createRevision,
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
      this.#o.log.error({ err, term: term.createRevision }, "elected but could not load state; resigning");
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
    // Queued writes fail on the fence; close once they have settled.
    void s.cluster.flush().then(() => s.store.close()).catch(() => undefined);
  }
}

/** Creates an {@link ElectedLeadership}; call `start()` once the server listens. */
export function createElectedLeadership(options: ElectedLeadershipOptions): ElectedLeadership {
  return new ElectedLeadership(options);
}
