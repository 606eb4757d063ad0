import { performance } from "node:perf_hooks";
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from "etcd3";
import { attemptTimeoutOf, etcdRequest, reportSilent } from "../connection/etcd-connection.js";
import { FailureStreak } from "./failure-streak.js";

const KEEPALIVE_RECONNECT_MS = 100;
/** Keepalives per TTL: the more often, the younger the last answer when etcd stalls, the later a lapse. */
const KEEPALIVES_PER_TTL = 4;

/** Monotonic milliseconds: lease arithmetic must not follow wall-clock steps. */
const nowMs = () => performance.now();

/** Reports a background failure (it is retried): what failed, and why. */
export type ReportFailure = (what: string, err: unknown) => void;

/** What the keepalive loop tells its owner. */
export interface KeepAliveListener {
  /** etcd answered that the lease is gone (expired or revoked): nothing can renew it. Keepalives have stopped. */
  readonly onGone: (reason: string) => void;
  /**
   * The deadline passed without a renewal: the lease may have run out in
   * etcd, so {@link LeaderLease.isAlive} is false. Keepalives go on; when
   * one is answered with a TTL the lease never ran out (a lease cannot come
   * back), and {@link onRenewed} follows.
   */
  readonly onLapse?: () => void;
  /** A keepalive was answered after a lapse, `lapsedMs` after it began: the lease is surely alive again. */
  readonly onRenewed?: (lapsedMs: number) => void;
}

/**
 * One lease in etcd, as tikv/pd's `pkg/election/lease.go` keeps it:
 * granted, kept alive, and known to be alive until a deadline on the
 * monotonic clock.
 *
 * The deadline is the send time of the grant, then of each answered
 * keepalive, plus the TTL etcd answered with. Each keepalive is timed on its
 * own (a FIFO of send times matched to the in-order answers), so a slow
 * answer never extends the lease past what etcd granted at the moment the
 * request left: the deadline is never later than etcd's own expiry. Past it,
 * {@link isAlive} is false at once, whether or not the keepalive loop has
 * noticed yet.
 *
 * Keepalives never stay with a member that hangs: a keepalive not answered
 * within the client's attempt timeout (a third of the lease at most, see the
 * elected member) marks the stream's member silent, and the next keepalive
 * goes at once, on a new stream, to a member that answers — as tikv/pd
 * sends each `KeepAliveOnce` with its own timeout. The silent stream stays
 * open for a TTL: while etcd elects a new raft leader every member answers
 * late, and a late answer still renews the lease from its send time.
 */
export class LeaderLease {
  /** The lease id, decimal. */
  readonly id: string;
  /** The TTL etcd granted, in seconds. */
  readonly ttlSec: number;
  readonly #client: Etcd3;
  readonly #timeoutMs: number;
  readonly #report: ReportFailure;
  #deadlineMs: number;
  #stopped = false;
  #stopKeepAlive: () => void = () => {};

  /** @internal use {@link grantLease}. */
  constructor(init: { client: Etcd3; id: string; ttlSec: number; deadlineMs: number; timeoutMs: number; report: ReportFailure }) {
    this.#client = init.client;
    this.id = init.id;
    this.ttlSec = init.ttlSec;
    this.#deadlineMs = init.deadlineMs;
    this.#timeoutMs = init.timeoutMs;
    this.#report = init.report;
  }

  /** Monotonic ms (`performance.now()`) until which the lease is surely alive in etcd. */
  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  /** True while the lease is surely alive in etcd. Synchronous and cheap: check it per request. */
  isAlive(): boolean {
    return nowMs() < this.#deadlineMs;
  }

  /**
   * Renews the lease every `ttlSec / 4` until {@link stop}, switching
   * members when one does not answer within the client's attempt timeout
   * (at most a third of the TTL). See {@link KeepAliveListener} for what it
   * reports; only {@link KeepAliveListener.onGone} stops it.
   */
  keepAlive(listener: KeepAliveListener): void {
    const intervalMs = (this.ttlSec * 1000) / KEEPALIVES_PER_TTL;
    const answerMs = Math.min(attemptTimeoutOf(this.#client), (this.ttlSec * 1000) / 3);
    type Stream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;
    /** The stream keepalives are sent on now; undefined while (re)opening. */
    let current: Stream | undefined;
    /** Send times of the unanswered keepalives of every open stream (answers come in order per stream). */
    const pending = new Map<Stream, number[]>();
    /** When each stream stopped being current: it is kept open a while for late answers. */
    const retiredAt = new Map<Stream, number>();
    let opening = false;
    let lastSentAt = Number.NEGATIVE_INFINITY;
    let lapsedAt: number | undefined;
    let reconnect: NodeJS.Timeout | undefined;
    const streak = new FailureStreak();
    const gone = (reason: string) => {
      if (this.#stopped) return;
      this.stop();
      listener.onGone(reason);
    };

    const close = (s: Stream) => {
      if (current === s) current = undefined;
      pending.delete(s);
      retiredAt.delete(s);
      s.on("error", () => undefined);
      s.cancel();
    };
    const send = () => {
      if (this.#stopped) return;
      if (current === undefined) {
        void open();
        return;
      }
      lastSentAt = nowMs();
      pending.get(current)?.push(lastSentAt);
      current.write({ ID: this.id });
    };
    const open = async () => {
      if (opening || this.#stopped) return;
      opening = true;
      clearTimeout(reconnect);
      reconnect = undefined;
      let s: Stream;
      try {
        s = await this.#client.leaseClient.leaseKeepAlive();
      } catch (err) {
        opening = false;
        if (!this.#stopped) {
          if (streak.failed()) this.#report("cannot open the keepalive stream", err);
          reconnect = setTimeout(send, KEEPALIVE_RECONNECT_MS);
        }
        return;
      }
      opening = false;
      if (this.#stopped) {
        s.on("error", () => undefined);
        s.cancel();
        return;
      }
      current = s;
      pending.set(s, []);
      const broken = (err?: Error) => {
        if (!pending.has(s)) return;
        const wasCurrent = current === s;
        close(s);
        if (this.#stopped || !wasCurrent) return;
        if (err !== undefined && streak.failed()) this.#report("keepalive stream failed", err);
        reconnect = setTimeout(send, KEEPALIVE_RECONNECT_MS);
      };
      s.on("data", (res: ILeaseKeepAliveResponse) => {
        const sent = pending.get(s)?.shift();
        if (sent === undefined) return;
        const ttl = Number.parseInt(res.TTL, 10);
        if (!(ttl > 0)) {
          gone("etcd reports the lease expired");
          return;
        }
        streak.succeeded();
        if (sent + ttl * 1000 > this.#deadlineMs) this.#deadlineMs = sent + ttl * 1000;
        if (lapsedAt !== undefined && this.isAlive()) {
          const lapsedMs = nowMs() - lapsedAt;
          lapsedAt = undefined;
          listener.onRenewed?.(lapsedMs);
        }
        // A retired stream that has answered everything is done.
        if (current !== s && pending.get(s)?.length === 0) close(s);
      });
      s.on("error", (err: Error) => broken(err));
      s.on("end", () => broken());
      send();
    };

    // One timer does it all, on the monotonic clock: a keepalive every
    // `intervalMs`; when the oldest keepalive on the current stream went
    // unanswered for `answerMs`, its member is reported silent and the next
    // keepalive goes at once to a new stream (elsewhere) — the old stream
    // stays open for a while, since a member waiting for etcd to elect a
    // raft leader answers late but does answer; and the lapse report.
    const check = () => {
      if (this.#stopped) return;
      const now = nowMs();
      for (const [s, at] of retiredAt) if (now - at >= this.ttlSec * 1000) close(s);
      const s = current;
      const oldest = s === undefined ? undefined : pending.get(s)?.[0];
      if (s !== undefined && oldest !== undefined && now - oldest >= answerMs) {
        reportSilent(this.#client, s);
        if (streak.failed()) this.#report(`keepalive not answered within ${Math.round(answerMs)} ms; trying another etcd member`, undefined);
        current = undefined;
        retiredAt.set(s, now);
        send();
      } else if (now - lastSentAt >= intervalMs) {
        send();
      }
      if (lapsedAt === undefined && now >= this.#deadlineMs) {
        lapsedAt = this.#deadlineMs;
        listener.onLapse?.();
      }
    };
    const ticker = setInterval(check, Math.max(10, Math.min(intervalMs, answerMs) / 4));
    this.#stopKeepAlive = () => {
      clearInterval(ticker);
      clearTimeout(reconnect);
      for (const s of [...pending.keys()]) close(s);
    };
    send();
  }

  /** Stops keeping the lease alive (it then runs out in etcd by itself). Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopKeepAlive();
  }

  /**
   * Stops keepalives and revokes the lease, deleting every key bound to it.
   * Never throws: a lease already gone is fine, any other failure is
   * reported and the lease simply runs out.
   */
  async revoke(): Promise<void> {
    this.stop();
    try {
      await etcdRequest(this.#client, this.#timeoutMs, (o) => this.#client.leaseClient.leaseRevoke({ ID: this.id }, o));
    } catch (err) {
      if (!/lease not found/i.test((err as Error)?.message ?? "")) this.#report(`cannot revoke lease ${this.id}`, err);
    }
  }
}

/**
 * Grants a lease of `ttlSec` seconds. Its deadline starts at the moment the
 * (answered) request was sent, so it is never later than etcd's own expiry.
 *
 * @throws the etcd client's error when etcd does not answer.
 */
export async function grantLease(client: Etcd3, ttlSec: number, timeoutMs: number, report: ReportFailure): Promise<LeaderLease> {
  let sentAt = nowMs();
  const grant = await etcdRequest(client, timeoutMs, (o) => {
    sentAt = nowMs();
    return client.leaseClient.leaseGrant({ TTL: ttlSec }, o);
  });
  const granted = Number.parseInt(grant.TTL, 10);
  return new LeaderLease({ client, id: grant.ID, ttlSec: granted, deadlineMs: sentAt + granted * 1000, timeoutMs, report });
}
