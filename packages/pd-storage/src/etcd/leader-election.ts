import { performance } from "node:perf_hooks";
import { PdError } from "@nokv/pd-core";
import type { Etcd3, IKeyValue, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse, IDuplexStream } from "etcd3";
import {
  callOptions,
  connectEtcd,
  createRevisionIs,
  type EtcdConnectionOptions,
  getOp,
  putOp,
  rangeResult,
  storageError,
  txn,
} from "./etcd-connection.js";
import { clusterKeys } from "./key-layout.js";
import { formatLeaderValue, type LeaderFence, type LeaderGuard, parseLeaderValue, type PdMember } from "./leader-guard.js";

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
  /** TTL of the leader's lease in seconds: how long a crashed leader blocks the cluster. Default 2 (etcd's minimum with default settings). */
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
}

/** One term of this member as the leader. */
export interface LeaderTerm extends LeaderFence {
  readonly member: PdMember;
  /** The etcd lease the leader key is bound to, decimal. */
  readonly leaseId: string;
  /** The TTL etcd granted, in seconds. */
  readonly leaseTtlSec: number;
}

interface Observed {
  readonly member: PdMember | undefined;
  readonly createRevision: string;
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
  /** Monotonic ms (`performance.now()`) until which the lease is surely alive in etcd. */
  deadlineMs: number;
  cleanup: () => void = () => {};
  readonly ended: Promise<void>;
  #resolveEnded!: () => void;

  constructor(
    readonly info: LeaderTerm,
    readonly campaign: Campaign,
    deadlineMs: number,
  ) {
    this.deadlineMs = deadlineMs;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  end(): void {
    this.over = true;
    this.cleanup();
    this.#resolveEnded();
  }
}

const RETRY_MS = 200;
const KEEPALIVE_RECONNECT_MS = 100;
/** While a failure repeats (etcd down), report it once and then every this many times. */
const REPORT_EVERY = 50;

/** Counts consecutive failures of one background loop so an outage is not reported 5 times a second. */
class FailureStreak {
  #count = 0;
  /** Records a failure; true when this one should be reported. */
  failed(): boolean {
    return this.#count++ % REPORT_EVERY === 0;
  }
  succeeded(): void {
    this.#count = 0;
  }
}

const rev = (r: string | undefined): bigint => BigInt(r ?? "0");
const nowMs = () => performance.now();

async function delay(ms: number, wake?: (resolve: () => void) => void): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake?.(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Leader election of the PD members of one cluster, on etcd.
 *
 * One leader key, `/nokv/pd/<cluster-id>/leader`, created by a transaction
 * "if the key does not exist, put it bound to my lease" (the scheme of
 * tikv/pd). Its value names the member (`{"name":…,"advertiseAddr":…}`) so
 * followers can redirect; its create revision identifies the term and is
 * the fence of every write of the `EtcdStore` (this class is its
 * {@link LeaderGuard}). Losers watch the key and try again when it is deleted
 * (resign, or the lease expiring about `leaseTtlSec` after the leader died).
 *
 * The leader keeps the lease alive every `leaseTtlSec / 3` and tracks how long
 * the lease is surely alive: the send time of the last answered keepalive
 * plus the TTL, which is never later than etcd's own expiry. Past that point
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
  readonly #listeners = new Set<(leader: PdMember | undefined) => void>();
  #observed: Observed | undefined;
  /** Revision of the newest event reflected in {@link #observed}. */
  #observedRev = -1n;
  #stopObserving: () => void = () => {};
  #observing: Promise<void> | undefined;
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
  }

  /** True while this member is the leader and its lease is surely alive. Synchronous: check it per request. */
  get isLeader(): boolean {
    const t = this.#term;
    return t !== undefined && !t.over && nowMs() < t.deadlineMs;
  }

  /** This member's current term, while {@link isLeader}. */
  get term(): LeaderTerm | undefined {
    return this.isLeader ? this.#term!.info : undefined;
  }

  /** The leader as last seen through the watch (possibly this member); undefined when there is none. */
  get leader(): PdMember | undefined {
    return this.#observed?.member;
  }

  /**
   * Reads the leader from etcd (a linearizable read).
   *
   * @throws PdError `STORAGE` when etcd does not answer.
   */
  async currentLeader(): Promise<PdMember | undefined> {
    try {
      const res = await this.#client.kv.range({ key: Buffer.from(this.leaderKey) }, callOptions(this.#timeoutMs));
      const kv = res.kvs[0];
      return kv === undefined ? undefined : parseLeaderValue(kv.value);
    } catch (err) {
      throw storageError(`leader election ${this.leaderKey}: cannot read the leader`, err);
    }
  }

  /** Calls `listener` whenever the known leader changes (undefined: none). Returns the unsubscribe function. */
  onLeaderChange(listener: (leader: PdMember | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
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
    const ttlSec = options.leaseTtlSec ?? 2;
    if (!Number.isInteger(ttlSec) || ttlSec < 1) {
      throw new PdError("INVALID_ARGUMENT", `leader election: leaseTtlSec must be a whole number of seconds >= 1, got ${ttlSec}`);
    }
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
   * Stops campaigning and watching and releases the client. Does NOT resign:
   * a leader's key stays until its lease runs out (`leaseTtlSec`), like after
   * a crash; call {@link resign} first for a fast hand-over. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopCampaign("closed", false);
    this.#stopObserving();
    await this.#observing;
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
    const o = this.#observed;
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

  /** Records what etcd said about the leader key at `revision`; older news is ignored. */
  #observe(kv: IKeyValue | undefined, revision: bigint): void {
    this.#observeLeader(
      kv === undefined || kv.create_revision === undefined || kv.create_revision === "0"
        ? undefined
        : { member: parseLeaderValue(kv.value), createRevision: kv.create_revision },
      revision,
    );
  }

  #observeLeader(next: Observed | undefined, revision: bigint): void {
    if (revision < this.#observedRev) return;
    this.#observedRev = revision;
    const prev = this.#observed;
    this.#observed = next;
    this.#checkTerm();
    if (prev?.createRevision !== next?.createRevision || prev?.member?.advertiseAddr !== next?.member?.advertiseAddr) {
      for (const l of this.#listeners) {
        try {
          l(next?.member);
        } catch {
          // A listener's failure is its own.
        }
      }
    }
  }

  /** Ends our term when etcd has shown the leader key deleted or re-created after it began. */
  #checkTerm(): void {
    const term = this.#term;
    if (term === undefined || this.#observedRev < rev(term.info.createRevision)) return;
    const seen = this.#observed;
    if (seen?.createRevision === term.info.createRevision) return;
    void this.#endTerm(
      term,
      seen === undefined ? "the leader key was deleted" : `the leader key was re-created by ${seen.member?.name ?? "another member"}`,
      true,
    );
  }

  /** @internal Starts watching the leader key; resolves after the first read. */
  startObserving(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#observing = this.#observeLoop((err) => {
        if (err === undefined) resolve();
        else reject(storageError(`leader election ${this.leaderKey}: cannot read the leader key`, err));
      });
    });
  }

  /** Watches the leader key until close, re-reading after any watch failure. */
  async #observeLoop(firstRead: (err?: unknown) => void): Promise<void> {
    let stop = false;
    let interrupt: () => void = () => {};
    this.#stopObserving = () => {
      stop = true;
      interrupt();
    };
    let first = true;
    const streak = new FailureStreak();
    while (!stop) {
      try {
        const res = await this.#client.kv.range({ key: Buffer.from(this.leaderKey) }, callOptions(this.#timeoutMs));
        streak.succeeded();
        this.#observe(res.kvs[0], rev(res.header.revision));
        if (first) {
          first = false;
          firstRead();
        }
        if (stop) break;
        const watcher = await this.#client
          .watch()
          .key(this.leaderKey)
          .startRevision((rev(res.header.revision) + 1n).toString())
          .create();
        await new Promise<void>((resolve) => {
          interrupt = resolve;
          if (stop) resolve();
          watcher.on("put", (kv) => this.#observe(kv, rev(kv.mod_revision)));
          watcher.on("delete", (kv) => this.#observe(undefined, rev(kv.mod_revision)));
          watcher.on("error", (err) => {
            this.#report("watch failed", err);
            resolve();
          });
        });
        await watcher.cancel().catch(() => undefined);
      } catch (err) {
        if (first) {
          firstRead(err);
          return;
        }
        if (streak.failed()) this.#report("cannot read the leader key", err);
        await delay(RETRY_MS, (wake) => {
          interrupt = wake;
        });
      }
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
    const sentAt = nowMs();
    const grant = await this.#client.leaseClient.leaseGrant({ TTL: c.ttlSec }, callOptions(this.#timeoutMs));
    const leaseId = grant.ID;
    const ttlSec = Number.parseInt(grant.TTL, 10);
    if (c.stopped || this.#closed) {
      await this.#revoke(leaseId);
      return;
    }
    let res;
    try {
      res = await txn(
        this.#client,
        {
          compare: [createRevisionIs(this.leaderKey, "0")],
          success: [putOp(this.leaderKey, formatLeaderValue(c.member), leaseId)],
          failure: [getOp(this.leaderKey)],
        },
        this.#timeoutMs,
      );
    } catch (err) {
      // Maybe we won and never heard: revoking the lease undoes that too.
      await this.#revoke(leaseId);
      throw err;
    }
    if (!res.succeeded) {
      await this.#revoke(leaseId);
      const kv = rangeResult(res, 0);
      this.#observe(kv, rev(res.header.revision));
      await this.#waitForVacancy(c, res.header.revision);
      return;
    }
    const info: LeaderTerm = {
      key: this.leaderKey,
      createRevision: res.header.revision,
      member: c.member,
      leaseId,
      leaseTtlSec: ttlSec,
    };
    const term = new ActiveTerm(info, c, sentAt + ttlSec * 1000);
    if (c.stopped || this.#closed) {
      await this.#revoke(leaseId);
      return;
    }
    this.#term = term;
    this.#keepAlive(term);
    this.#observeLeader({ member: c.member, createRevision: info.createRevision }, rev(info.createRevision));
    this.#checkTerm(); // the watch may already have seen the key go again
    if (term.over) return;
    try {
      c.options.onElected?.(info);
    } catch (err) {
      this.#report("onElected threw", err);
    }
    await term.ended;
  }

  /** Resolves when the leader key is deleted after `revision`, or the campaign is interrupted. */
  async #waitForVacancy(c: Campaign, revision: string): Promise<void> {
    const watcher = await this.#client
      .watch()
      .key(this.leaderKey)
      .startRevision((rev(revision) + 1n).toString())
      .only("delete")
      .create();
    try {
      await new Promise<void>((resolve) => {
        c.wake = resolve;
        if (c.stopped || this.#closed) resolve();
        watcher.on("delete", () => resolve());
        watcher.on("error", (err) => {
          this.#report("watch for a vacancy failed", err);
          resolve();
        });
      });
    } finally {
      await watcher.cancel().catch(() => undefined);
    }
  }

  /** Keeps the term's lease alive and ends the term when that fails. */
  #keepAlive(term: ActiveTerm): void {
    const { leaseId, leaseTtlSec } = term.info;
    let stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse> | undefined;
    let sentAt: number[] = [];
    let watchdog: NodeJS.Timeout | undefined;
    let reconnect: NodeJS.Timeout | undefined;
    const streak = new FailureStreak();

    const armWatchdog = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        if (nowMs() >= term.deadlineMs) {
          void this.#endTerm(term, `the lease was not renewed within ${leaseTtlSec} s`, true);
        } else {
          armWatchdog();
        }
      }, Math.max(0, term.deadlineMs - nowMs()) + 1);
    };
    const send = () => {
      if (stream === undefined) return;
      sentAt.push(nowMs());
      stream.write({ ID: leaseId });
    };
    const open = async () => {
      reconnect = undefined;
      let s: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;
      try {
        s = await this.#client.leaseClient.leaseKeepAlive();
      } catch (err) {
        if (!term.over) {
          if (streak.failed()) this.#report("cannot open the keepalive stream", err);
          reconnect = setTimeout(() => void open(), KEEPALIVE_RECONNECT_MS);
        }
        return;
      }
      if (term.over) {
        s.cancel();
        return;
      }
      stream = s;
      sentAt = [];
      const broken = (err?: Error) => {
        if (stream !== s) return;
        stream = undefined;
        s.cancel();
        if (term.over) return;
        if (err !== undefined && streak.failed()) this.#report("keepalive stream failed", err);
        reconnect = setTimeout(() => void open(), KEEPALIVE_RECONNECT_MS);
      };
      s.on("data", (res: ILeaseKeepAliveResponse) => {
        if (stream !== s) return;
        const sent = sentAt.shift();
        if (sent === undefined) return;
        const ttl = Number.parseInt(res.TTL, 10);
        if (!(ttl > 0)) {
          void this.#endTerm(term, "etcd reports the lease expired", true);
          return;
        }
        streak.succeeded();
        if (sent + ttl * 1000 > term.deadlineMs) term.deadlineMs = sent + ttl * 1000;
      });
      s.on("error", (err: Error) => broken(err));
      s.on("end", () => broken());
      send();
    };

    const ticker = setInterval(send, (leaseTtlSec * 1000) / 3);
    term.cleanup = () => {
      clearInterval(ticker);
      clearTimeout(watchdog);
      clearTimeout(reconnect);
      const s = stream;
      stream = undefined;
      s?.cancel();
    };
    armWatchdog();
    void open();
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
    if (revoke) await this.#revoke(term.info.leaseId);
  }

  async #revoke(leaseId: string): Promise<void> {
    try {
      await this.#client.leaseClient.leaseRevoke({ ID: leaseId }, callOptions(this.#timeoutMs));
    } catch (err) {
      // Already expired or revoked is fine; otherwise the lease simply runs out.
      if (!/lease not found/i.test((err as Error)?.message ?? "")) this.#report(`cannot revoke lease ${leaseId}`, err);
    }
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
