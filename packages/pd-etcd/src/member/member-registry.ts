import type { Etcd3 } from "etcd3";
import { connectEtcd, etcdRequest, type EtcdConnectionOptions } from "../connection/etcd-connection.js";
import { putOp, txn } from "../connection/txn.js";
import { formatLeaderValue, parseLeaderValue, type PdMember } from "../election/leader-guard.js";
import { grantLease, type LeaderLease } from "../election/lease.js";
import { clusterKeys, prefixRangeEnd } from "../keys/key-layout.js";

/** Options of {@link createMemberRegistry}: `endpoints` or `client`, plus these. */
export type MemberRegistryOptions = EtcdConnectionOptions & {
  readonly clusterId: string;
  /** This member, registered under `/nokv/pd/<cluster-id>/members/<name>`. */
  readonly self: PdMember;
  /** TTL of the registration's lease, in seconds: how long a crashed member stays listed. Default 10. */
  readonly ttlSec?: number;
  /** How often the member list is re-read, in ms. Default 1000. */
  readonly refreshMs?: number;
  /** Time budget of one etcd request (all its attempts), in ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Receives background failures (they are retried). */
  readonly onError?: (err: unknown) => void;
};

/**
 * Who the PD members are, for `GetMembers`: each member keeps a key under
 * `/nokv/pd/<cluster-id>/members/` bound to a lease of its own, and reads the
 * others' every `refreshMs`. Informational only — leadership and fencing do
 * not depend on it.
 */
export class MemberRegistry {
  readonly #client: Etcd3;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #o: MemberRegistryOptions;
  readonly #timeoutMs: number;
  #lease: LeaderLease | undefined;
  #members: PdMember[] = [];
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;
  #closed = false;

  /** @internal use {@link createMemberRegistry}. */
  constructor(options: MemberRegistryOptions) {
    const conn = connectEtcd(options, "member registry");
    this.#client = conn.client;
    this.#owned = conn.owned;
    this.#prefix = clusterKeys(options.clusterId).memberPrefix;
    this.#o = options;
    this.#timeoutMs = options.requestTimeoutMs ?? 5000;
  }

  /** The members as last read (this one included once registered), by name. */
  members(): readonly PdMember[] {
    return this.#members;
  }

  /** Registers this member and starts refreshing the list. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.#refresh(), this.#o.refreshMs ?? 1000);
    this.#timer.unref();
    await this.#register();
    await this.#refresh();
  }

  /** Removes this member's key and stops. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#lease?.revoke();
    if (this.#owned) this.#client.close();
  }

  /**
   * Puts this member's key under a lease of its own, kept alive like the
   * leader's (switching etcd members when one hangs); registers again under
   * a fresh lease when etcd reports it gone.
   */
  async #register(): Promise<void> {
    if (this.#closed) return;
    const report = (what: string, err: unknown) => {
      if (!this.#closed) this.#o.onError?.(new Error(`${what}: ${(err as Error)?.message ?? String(err)}`));
    };
    const lease = await grantLease(this.#client, this.#o.ttlSec ?? 10, this.#timeoutMs, report);
    if (this.#closed) {
      await lease.revoke();
      return;
    }
    this.#lease = lease;
    await txn(this.#client, { compare: [], success: [putOp(`${this.#prefix}${this.#o.self.name}`, formatLeaderValue(this.#o.self), lease.id)] }, this.#timeoutMs);
    lease.keepAlive({
      onGone: () => {
        if (this.#closed) return;
        const retry = (): void => {
          if (this.#closed) return;
          this.#register().catch((err: unknown) => {
            report("cannot register again", err);
            setTimeout(retry, 500).unref();
          });
        };
        retry();
      },
    });
  }

  async #refresh(): Promise<void> {
    // A refresh that hangs must not pile up behind the timer.
    if (this.#refreshing || this.#closed) return;
    this.#refreshing = true;
    try {
      const prefix = Buffer.from(this.#prefix);
      const res = await etcdRequest(this.#client, this.#timeoutMs, (o) =>
        this.#client.kv.range({ key: prefix, range_end: prefixRangeEnd(prefix) }, o),
      );
      const members: PdMember[] = [];
      for (const kv of res.kvs) {
        const m = parseLeaderValue(kv.value);
        if (m !== undefined) members.push(m);
      }
      members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      this.#members = members;
    } catch (err) {
      if (!this.#closed) this.#o.onError?.(err);
    } finally {
      this.#refreshing = false;
    }
  }
}

/** Creates a {@link MemberRegistry}; call `start()` once the member listens. */
export function createMemberRegistry(options: MemberRegistryOptions): MemberRegistry {
  return new MemberRegistry(options);
}
