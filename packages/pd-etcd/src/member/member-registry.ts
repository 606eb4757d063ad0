import type { Etcd3, Lease } from "etcd3";
import { callOptions, connectEtcd, type EtcdConnectionOptions } from "../connection/etcd-connection.js";
import { formatLeaderValue, parseLeaderValue, type PdMember } from "../election/leader-guard.js";
import { clusterKeys } from "../keys/key-layout.js";

/** Options of {@link createMemberRegistry}: `endpoints` or `client`, plus these. */
export type MemberRegistryOptions = EtcdConnectionOptions & {
  readonly clusterId: string;
  /** This member, registered under `/nokv/pd/<cluster-id>/members/<name>`. */
  readonly self: PdMember;
  /** TTL of the registration's lease, in seconds: how long a crashed member stays listed. Default 10. */
  readonly ttlSec?: number;
  /** How often the member list is re-read, in ms. Default 1000. */
  readonly refreshMs?: number;
  /** Deadline of one etcd request, in ms. Default 5000. */
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
  #lease: Lease | undefined;
  #members: PdMember[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @internal use {@link createMemberRegistry}. */
  constructor(options: MemberRegistryOptions) {
    const conn = connectEtcd(options, "member registry");
    this.#client = conn.client;
    this.#owned = conn.owned;
    this.#prefix = clusterKeys(options.clusterId).memberPrefix;
    this.#o = options;
  }

  /** The members as last read (this one included once registered), by name. */
  members(): readonly PdMember[] {
    return this.#members;
  }

  /** Registers this member and starts refreshing the list. */
  async start(): Promise<void> {
    await this.#register();
    await this.#refresh();
    this.#timer = setInterval(() => void this.#refresh(), this.#o.refreshMs ?? 1000);
    this.#timer.unref();
  }

  /** Removes this member's key and stops. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#lease?.revoke(callOptions(this.#o.requestTimeoutMs ?? 5000)).catch(() => undefined);
    if (this.#owned) this.#client.close();
  }

  async #register(): Promise<void> {
    const lease = this.#client.lease(this.#o.ttlSec ?? 10, { autoKeepAlive: true });
    lease.on("lost", (err) => {
      if (this.#closed) return;
      this.#o.onError?.(err);
      // Register again under a fresh lease.
      setTimeout(() => void this.#register().catch((e: unknown) => this.#o.onError?.(e)), 500).unref();
    });
    this.#lease = lease;
    await lease.put(`${this.#prefix}${this.#o.self.name}`).value(formatLeaderValue(this.#o.self));
  }

  async #refresh(): Promise<void> {
    try {
      const kvs = await this.#client.getAll().prefix(this.#prefix).buffers();
      const members: PdMember[] = [];
      for (const value of Object.values(kvs)) {
        const m = parseLeaderValue(value);
        if (m !== undefined) members.push(m);
      }
      members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      this.#members = members;
    } catch (err) {
      if (!this.#closed) this.#o.onError?.(err);
    }
  }
}

/** Creates a {@link MemberRegistry}; call `start()` once the member listens. */
export function createMemberRegistry(options: MemberRegistryOptions): MemberRegistry {
  return new MemberRegistry(options);
}
