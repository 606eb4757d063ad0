import { performance } from "node:perf_hooks";
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from "etcd3";
import { callOptions } from "../connection/etcd-connection.js";
import { FailureStreak } from "./failure-streak.js";

const KEEPALIVE_RECONNECT_MS = 100;

/** Monotonic milliseconds: lease arithmetic must not follow wall-clock steps. */
const nowMs = () => performance.now();

/** Reports a background failure (it is retried): what failed, and why. */
export type ReportFailure = (what: string, err: unknown) => void;

/**
 * One leader lease in etcd, as tikv/pd's `pkg/election/lease.go` keeps it:
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
   * Renews the lease every `ttlSec / 3` on one keepalive stream (reopened
   * when it breaks) until {@link stop}. `onExpired` is called once, with the
   * reason, when the deadline passes without a renewal or etcd answers that
   * the lease is gone; keepalives stop then.
   */
  keepAlive(onExpired: (reason: string) => void): void {
    let stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse> | undefined;
    let sentAt: number[] = [];
    let watchdog: NodeJS.Timeout | undefined;
    let reconnect: NodeJS.Timeout | undefined;
    const streak = new FailureStreak();
    const expire = (reason: string) => {
      if (this.#stopped) return;
      this.stop();
      onExpired(reason);
    };

    const armWatchdog = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        if (nowMs() >= this.#deadlineMs) expire(`the lease was not renewed within ${this.ttlSec} s`);
        else armWatchdog();
      }, Math.max(0, this.#deadlineMs - nowMs()) + 1);
    };
    const send = () => {
      if (stream === undefined) return;
      sentAt.push(nowMs());
      stream.write({ ID: this.id });
    };
    const open = async () => {
      reconnect = undefined;
      let s: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;
      try {
        s = await this.#client.leaseClient.leaseKeepAlive();
      } catch (err) {
        if (!this.#stopped) {
          if (streak.failed()) this.#report("cannot open the keepalive stream", err);
          reconnect = setTimeout(() => void open(), KEEPALIVE_RECONNECT_MS);
        }
        return;
      }
      if (this.#stopped) {
        s.cancel();
        return;
      }
      stream = s;
      // Answers of a broken stream never arrive: their send times go with it.
      sentAt = [];
      const broken = (err?: Error) => {
        if (stream !== s) return;
        stream = undefined;
        s.cancel();
        if (this.#stopped) return;
        if (err !== undefined && streak.failed()) this.#report("keepalive stream failed", err);
        reconnect = setTimeout(() => void open(), KEEPALIVE_RECONNECT_MS);
      };
      s.on("data", (res: ILeaseKeepAliveResponse) => {
        if (stream !== s) return;
        const sent = sentAt.shift();
        if (sent === undefined) return;
        const ttl = Number.parseInt(res.TTL, 10);
        if (!(ttl > 0)) {
          expire("etcd reports the lease expired");
          return;
        }
        streak.succeeded();
        if (sent + ttl * 1000 > this.#deadlineMs) this.#deadlineMs = sent + ttl * 1000;
      });
      s.on("error", (err: Error) => broken(err));
      s.on("end", () => broken());
      send();
    };

    const ticker = setInterval(send, (this.ttlSec * 1000) / 3);
    this.#stopKeepAlive = () => {
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
      await this.#client.leaseClient.leaseRevoke({ ID: this.id }, callOptions(this.#timeoutMs));
    } catch (err) {
      if (!/lease not found/i.test((err as Error)?.message ?? "")) this.#report(`cannot revoke lease ${this.id}`, err);
    }
  }
}

/**
 * Grants a lease of `ttlSec` seconds. Its deadline starts at the moment the
 * request was sent, so it is never later than etcd's own expiry.
 *
 * @throws the etcd client's error when etcd does not answer.
 */
export async function grantLease(client: Etcd3, ttlSec: number, timeoutMs: number, report: ReportFailure): Promise<LeaderLease> {
  const sentAt = nowMs();
  const grant = await client.leaseClient.leaseGrant({ TTL: ttlSec }, callOptions(timeoutMs));
  const granted = Number.parseInt(grant.TTL, 10);
  return new LeaderLease({ client, id: grant.ID, ttlSec: granted, deadlineMs: sentAt + granted * 1000, timeoutMs, report });
}
