import { PdError } from "@nokv/pd-core";
import { storageError } from "@nokv/pd-storage";
import type { Etcd3 } from "etcd3";
import { connectEtcd, type EtcdConnectionOptions } from "../connection/etcd-connection.js";
import { createRevisionIs, getOp, putOp, rangeResult, txn } from "../connection/txn.js";
import { clusterKeys } from "../keys/key-layout.js";
import { FailureStreak } from "./failure-streak.js";
import { formatLeaderValue, type LeaderFence, type LeaderGuard, type PdMember } from "./leader-guard.js";
import { delay, LeaderWatch, rev } from "./leader-watch.js";
import { grantLease, type LeaderLease } from "./lease.js";

/** The leader lease TTL when none is given, in seconds: etcd's minimum with default settings. */
export const DEFAULT_LEASE_TTL_SEC = 2;

/** Options of {@link createLeaderElection}: `endpoints` or `client`, plus these. */
export type LeaderElectionOptions = EtcdConnectionOptions & {
  /** The PD cluster: the election key is `/nokv/pd/<clusterId>/leader`. */
  readonly clusterId: string;
  /** Deadline of one etcd request, in ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Receives failures of background work (watching, campaigning, keepalives), which is retried. */
  readonly onError?: (err: PdError) => void;
};

/** Options of {@link LeaderElection.campaign}. */
export interface CampaignOptions {
  /** This member's name, e.g. `pd-1`. */
  readonly name: string;
  /** Where clients reach this member, `host:port`; followers redirect there. */
  readonly advertiseAddr: string;
  /** TTL of the leader's lease in seconds: how long a crashed leader blocks the cluster. Default {@link DEFAULT_LEASE_TTL_SEC}. */
  readonly leaseTtlSec?: number;
  /** Called when this member becomes the leader. Load the store's state now, then serve. */
  readonly onElected?: (term: LeaderTerm) => void;
  /**
   * Called when this member's term ends, with the reason: its lease was not
   * renewed in time or expired, the leader key was deleted or re-created, a
   * fenced write failed, `resign`, or `close`. Stop serving at once. The
   * member campaigns again by itself unless it resigned or closed.
   */
  readonly onDeposed?: (reason: string) => void;
  /**
   * Told when this leader's lease lapses (no keepalive answered before its
   * deadline: it may have run out in etcd, so the member must not serve) and
   * when a later keepalive is answered (it never ran out: serving resumes in
   * the same term), with how long the lapse lasted. A lapse alone does not
   * end the term; etcd answering that the lease is gone does.
   */
  readonly onLeaseLapse?: (state: "lapsed" | "renewed", lapsedMs: number) => void;
  /**
   * Asked before each try to win a vacant leadership: a promise to wait for
   * first, or undefined to try at once (the default). A member that would
   * serve slowly (its catalog is still loading) gives ready members the
   * first chance; it still wins when none of them takes it.
   */
  readonly holdBack?: () => Promise<void> | undefined;
}

/** One term of this member as the leader. */
export interface LeaderTerm extends LeaderFence {
  readonly member: PdMember;
  /** The etcd lease the leader key is bound to, decimal. */
  readonly leaseId: string;
  /** The TTL etcd granted, in seconds. */
  readonly leaseTtlSec: number;
}

interface Campaign {
  readonly options: CampaignOptions;
  readonly member: PdMember;
  readonly ttlSec: number;
  stopped: boolean;
  /** Interrupts whatever the campaign loop waits for. */
  wake: () => void;
  done?: Promise<void>;
}

class ActiveTerm {
  over = false;
  readonly ended: Promise<void>;
  #resolveEnded!: () => void;

  constructor(
    readonly info: LeaderTerm,
    readonly campaign: Campaign,
    readonly lease: LeaderLease,
  ) {
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  end(): void {
    this.over = true;
    this.lease.stop();
    this.#resolveEnded();
  }
}

const RETRY_MS = 200;

/**
 * Leader election of the PD members of one cluster, on etcd: the campaign,
 * the leader transaction and the term (tikv/pd's `leadership.go`); the lease
 * is a {@link LeaderLease}, the view of the key a {@link LeaderWatch}.
 *
 * One leader key, `/nokv/pd/<cluster-id>/leader`, created by a transaction
 * "if the key does not exist, put it bound to my lease" (the scheme of
 * tikv/pd). Its value names the member (`{"name":…,"advertiseAddr":…}`) so
 * followers can redirect; its create revision identifies the term and is
 * the fence of every write of the `EtcdStore` (this class is its
 * {@link LeaderGuard}). Losers watch the key and try again when it is deleted
 * (resign, or the lease expiring about `leaseTtlSec` after the leader died).
 *
 * The leader keeps the lease alive every `leaseTtlSec / 4` and tracks how long
 * it is surely alive (see {@link LeaderLease}). Past that point
 * {@link isLeader} is false at once, even before `onDeposed` runs, so a leader
 * cut off from etcd stops serving before another member can be elected. The
 * term also ends when etcd reports the lease gone, the key is deleted or
 * re-created, or a fenced write fails.
 *
 * Every member, campaigning or not, watches the key: {@link leader} is the
 * last known leader, {@link currentLeader} reads it from etcd.
 */
export class LeaderElection implements LeaderGuard {
  readonly leaderKey: string;
  readonly #client: Etcd3;
  readonly #ownsClient: boolean;
  readonly #timeoutMs: number;
  readonly #onError: (err: PdError) => void;
  readonly #watch: LeaderWatch;
  #campaign: Campaign | undefined;
  #term: ActiveTerm | undefined;
  /** Create revisions of terms of ours that are over (never redirect to ourselves). */
  readonly #pastTerms = new Set<string>();
  #closed = false;

  /** @internal use {@link createLeaderElection}. */
  constructor(init: { client: Etcd3; ownsClient: boolean; leaderKey: string; timeoutMs: number; onError: (err: PdError) => void }) {
    this.#client = init.client;
    this.#ownsClient = init.ownsClient;
    this.leaderKey = init.leaderKey;
    this.#timeoutMs = init.timeoutMs;
    this.#onError = init.onError;
    this.#watch = new LeaderWatch({
      client: init.client,
      key: init.leaderKey,
      timeoutMs: init.timeoutMs,
      report: (what, err) => this.#report(what, err),
      onChange: () => this.#checkTerm(),
    });
  }

  /** True while this member is the leader and its lease is surely alive. Synchronous: check it per request. */
  get isLeader(): boolean {
    const t = this.#term;
    return t !== undefined && !t.over && t.lease.isAlive();
  }

  /** This member's current term, while {@link isLeader}. */
  get term(): LeaderTerm | undefined {
    return this.isLeader ? this.#term!.info : undefined;
  }

  /** The leader as last seen through the watch (possibly this member); undefined when there is none. */
  get leader(): PdMember | undefined {
    return this.#watch.observed?.member;
  }

  /**
   * Reads the leader from etcd (a linearizable read).
   *
   * @throws PdError `STORAGE` when etcd does not answer.
   */
  async currentLeader(): Promise<PdMember | undefined> {
    try {
      return await this.#watch.read();
    } catch (err) {
      throw storageError(`leader election ${this.leaderKey}: cannot read the leader`, err);
    }
  }

  /** Calls `listener` whenever the known leader changes (undefined: none). Returns the unsubscribe function. */
  onLeaderChange(listener: (leader: PdMember | undefined) => void): () => void {
    return this.#watch.onLeaderChange(listener);
  }

  /**
   * Starts campaigning for leadership in the background; `onElected` reports
   * a win. Campaigning goes on after a lost term until {@link resign} or
   * {@link close}.
   *
   * @throws PdError `INVALID_ARGUMENT` when already campaigning or for a bad
   *   option, `UNAVAILABLE` after close.
   */
  campaign(options: CampaignOptions): void {
    if (this.#closed) throw new PdError("UNAVAILABLE", `leader election ${this.leaderKey}: closed`);
    if (this.#campaign !== undefined) throw new PdError("INVALID_ARGUMENT", `leader election ${this.leaderKey}: already campaigning`);
    const ttlSec = options.leaseTtlSec ?? DEFAULT_LEASE_TTL_SEC;
    checkLeaseTtl(ttlSec);
    if (options.name === "" || options.advertiseAddr === "") {
      throw new PdError("INVALID_ARGUMENT", "leader election: name and advertiseAddr must be non-empty");
    }
    const c: Campaign = {
      options,
      member: { name: options.name, advertiseAddr: options.advertiseAddr },
      ttlSec,
      stopped: false,
      wake: () => {},
    };
    this.#campaign = c;
    c.done = this.#campaignLoop(c);
  }

  /**
   * Gives up leadership at once (revokes the lease, deleting the leader key,
   * so another member wins without waiting for the TTL) and stops
   * campaigning. Resolves once the key is gone or etcd could not be reached.
   */
  async resign(): Promise<void> {
    await this.#stopCampaign("resigned", true);
  }

  /**
   * Stops campaigning and watching and releases the client when it owns it.
   * Does NOT resign: a leader's key stays until its lease runs out
   * (`leaseTtlSec`), like after a crash; call {@link resign} first for a fast
   * hand-over. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopCampaign("closed", false);
    await this.#watch.stop();
    if (this.#ownsClient) this.#client.close();
  }

  /** Stops campaigning and ends the current term (revoking its lease when asked), then waits for the campaign loop. */
  async #stopCampaign(reason: string, revoke: boolean): Promise<void> {
    const c = this.#campaign;
    this.#campaign = undefined;
    if (c !== undefined) {
      c.stopped = true;
      c.wake();
    }
    const term = this.#term;
    if (term !== undefined) await this.#endTerm(term, reason, revoke);
    await c?.done;
  }

  // ---- LeaderGuard ----

  fence(): LeaderFence | undefined {
    const t = this.term;
    return t === undefined ? undefined : { key: t.key, createRevision: t.createRevision };
  }

  leaderAddr(): string | undefined {
    const o = this.#watch.observed;
    if (o === undefined || this.#pastTerms.has(o.createRevision)) return undefined;
    // Our own key whose lease we no longer trust: never redirect a client to ourselves.
    if (o.createRevision === this.#term?.info.createRevision && !this.isLeader) return undefined;
    return o.member?.advertiseAddr;
  }

  fenceLost(fence: LeaderFence, current: PdMember | undefined): void {
    const term = this.#term;
    if (term === undefined || term.info.createRevision !== fence.createRevision) return;
    const by = current === undefined ? "" : ` (leader is now ${current.name} at ${current.advertiseAddr})`;
    void this.#endTerm(term, `a fenced write found the leader key changed${by}`, true);
  }

  // ---- internals ----

  #report(what: string, err: unknown): void {
    if (this.#closed) return;
    try {
      this.#onError(storageError(`leader election ${this.leaderKey}: ${what}`, err));
    } catch {
      // A throwing error handler must not stop the loops.
    }
  }

  /** Ends our term when etcd has shown the leader key deleted or re-created after it began. */
  #checkTerm(): void {
    const term = this.#term;
    if (term === undefined || this.#watch.revision < rev(term.info.createRevision)) return;
    const seen = this.#watch.observed;
    if (seen?.createRevision === term.info.createRevision) return;
    void this.#endTerm(
      term,
      seen === undefined ? "the leader key was deleted" : `the leader key was re-created by ${seen.member?.name ?? "another member"}`,
      true,
    );
  }

  /** @internal Starts watching the leader key; resolves after the first read. */
  async startObserving(): Promise<void> {
    try {
      await this.#watch.start();
    } catch (err) {
      throw storageError(`leader election ${this.leaderKey}: cannot read the leader key`, err);
    }
  }

  async #campaignLoop(c: Campaign): Promise<void> {
    const streak = new FailureStreak();
    while (!c.stopped && !this.#closed) {
      try {
        await this.#campaignOnce(c);
        streak.succeeded();
      } catch (err) {
        if (c.stopped || this.#closed) break;
        if (streak.failed()) this.#report("campaign failed; retrying", err);
        await delay(RETRY_MS, (wake) => {
          c.wake = wake;
        });
      }
    }
  }

  /** One attempt: win (and serve the term until it ends) or wait until the key is gone. */
  async #campaignOnce(c: Campaign): Promise<void> {
    const hold = this.#watch.observed === undefined ? c.options.holdBack?.() : undefined;
    if (hold !== undefined) {
      await Promise.race([
        hold,
        new Promise<void>((resolve) => {
          c.wake = resolve;
        }),
      ]);
      if (c.stopped || this.#closed) return;
    }
    const lease = await grantLease(this.#client, c.ttlSec, this.#timeoutMs, (what, err) => this.#report(what, err));
    if (c.stopped || this.#closed) {
      await lease.revoke();
      return;
    }
    // The leader transaction: create the key bound to our lease, only if there is none.
    let res;
    try {
      res = await txn(
        this.#client,
        {
          compare: [createRevisionIs(this.leaderKey, "0")],
          success: [putOp(this.leaderKey, formatLeaderValue(c.member), lease.id)],
          failure: [getOp(this.leaderKey)],
        },
        this.#timeoutMs,
      );
    } catch (err) {
      // Maybe we won and never heard: revoking the lease undoes that too.
      await lease.revoke();
      throw err;
    }
    const current = rangeResult(res, 0);
    // An earlier attempt of this very transaction may have won without its
    // answer arriving (the request is retried on another etcd member): the
    // key bound to our lease is ours.
    const wonEarlier = !res.succeeded && current !== undefined && current.lease === lease.id;
    if (!res.succeeded && !wonEarlier) {
      await lease.revoke();
      this.#watch.observe(current, rev(res.header.revision));
      if (c.stopped || this.#closed) return;
      await this.#watch.vacancy(rev(res.header.revision), (wake) => {
        c.wake = wake;
      });
      return;
    }
    const info: LeaderTerm = {
      key: this.leaderKey,
      createRevision: wonEarlier ? current.create_revision : res.header.revision,
      member: c.member,
      leaseId: lease.id,
      leaseTtlSec: lease.ttlSec,
    };
    const term = new ActiveTerm(info, c, lease);
    if (c.stopped || this.#closed) {
      await lease.revoke();
      return;
    }
    this.#term = term;
    lease.keepAlive({
      onGone: (reason) => void this.#endTerm(term, reason, true),
      onLapse: () => c.options.onLeaseLapse?.("lapsed", 0),
      onRenewed: (lapsedMs) => {
        // Renewed without the term ending: the key stayed ours all along.
        if (this.#term === term) c.options.onLeaseLapse?.("renewed", lapsedMs);
      },
    });
    this.#watch.observeLeader({ member: c.member, createRevision: info.createRevision }, rev(info.createRevision));
    this.#checkTerm(); // the watch may already have seen the key go again
    if (term.over) return;
    try {
      c.options.onElected?.(info);
    } catch (err) {
      this.#report("onElected threw", err);
    }
    await term.ended;
  }

  /**
   * Ends `term` (once): stops keepalives, reports `onDeposed`, and unless
   * closing revokes the lease so the key does not outlive our belief in it.
   */
  async #endTerm(term: ActiveTerm, reason: string, revoke: boolean): Promise<void> {
    if (this.#term !== term) return;
    this.#term = undefined;
    this.#pastTerms.add(term.info.createRevision);
    term.end();
    try {
      term.campaign.options.onDeposed?.(reason);
    } catch (err) {
      this.#report("onDeposed threw", err);
    }
    if (revoke) await term.lease.revoke();
  }
}

/**
 * Checks a lease TTL: a whole number of seconds, at least 1.
 *
 * @throws PdError `INVALID_ARGUMENT` otherwise.
 */
export function checkLeaseTtl(ttlSec: number): void {
  if (!Number.isInteger(ttlSec) || ttlSec < 1) {
    throw new PdError("INVALID_ARGUMENT", `leader election: leaseTtlSec must be a whole number of seconds >= 1, got ${ttlSec}`);
  }
}

/**
 * Creates the election of `clusterId` and starts watching its leader key;
 * resolves after the first read, so {@link LeaderElection.leader} is known.
 * Call {@link LeaderElection.campaign} to stand for election.
 *
 * @throws PdError `INVALID_ARGUMENT` for bad options, `STORAGE` when etcd does not answer.
 */
export async function createLeaderElection(options: LeaderElectionOptions): Promise<LeaderElection> {
  const keys = clusterKeys(options.clusterId);
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new PdError("INVALID_ARGUMENT", `leader election: requestTimeoutMs must be an integer >= 1, got ${timeoutMs}`);
  }
  const { client, owned } = connectEtcd(options, "leader election");
  const election = new LeaderElection({
    client,
    ownsClient: owned,
    leaderKey: keys.leader,
    timeoutMs,
    onError: options.onError ?? (() => {}),
  });
  try {
    await election.startObserving();
  } catch (err) {
    if (owned) client.close();
    throw err;
  }
  return election;
}
