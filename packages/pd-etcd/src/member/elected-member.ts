import type { Cluster, Leadership, LeadershipHost, MemberInfo } from "@nokv/pd-core";
import { PdError } from "@nokv/pd-core";
import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "../connection/etcd-connection.js";
import { checkLeaseTtl, createLeaderElection, DEFAULT_LEASE_TTL_SEC, type LeaderElection } from "../election/leader-election.js";
import type { PdMember } from "../election/leader-guard.js";
import { clusterKeys } from "../keys/key-layout.js";
import { CatalogMirror, type MirrorStatus } from "../store/catalog-mirror.js";
import { openEtcdStore } from "../store/etcd-store.js";
import { createMemberRegistry, type MemberRegistry } from "./member-registry.js";
import { errorText, type MemberLog, TermLoop } from "./term-loop.js";
import { RateLimitedLog } from "./rate-limited-log.js";

export type { MemberLog } from "./term-loop.js";
export type { MirrorStatus } from "../store/catalog-mirror.js";

/** The PD cluster id when none is given: keys live under `/nokv/pd/nokv/`. */
export const DEFAULT_CLUSTER_ID = "nokv";

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

/** Options of {@link createElectedMember}. */
export interface ElectedMemberOptions {
  /** etcd client URLs, e.g. `["http://127.0.0.1:2379"]`; the member opens one client over them. */
  readonly endpoints: readonly string[];
  /** Separates PD clusters sharing one etcd: keys live under `/nokv/pd/<clusterId>/`. Default {@link DEFAULT_CLUSTER_ID}. */
  readonly clusterId?: string;
  /** This member's unique name. Default: its advertise address. */
  readonly name?: string;
  /** `host:port` clients dial for this member, named in redirects. Default: the address the server bound. */
  readonly advertiseAddr?: string;
  /** Leader lease TTL in seconds: how long a crashed leader blocks the cluster. Default {@link DEFAULT_LEASE_TTL_SEC}. */
  readonly leaseTtlSec?: number;
  /** Time budget of one etcd request (all its attempts), in ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /**
   * Deadline of one attempt of an etcd request on one etcd member, in ms:
   * past it the member counts as hung, and the next attempt (and the next
   * keepalive, the next watch) goes to another member. Default: a third of
   * the lease TTL, at most 1000.
   */
  readonly attemptTimeoutMs?: number;
  /** Told each time this member has (re)loaded the whole catalog into its warm copy. */
  readonly onCatalogLoaded?: (info: { regions: number; revision: bigint; loadMs: number; reason: string }) => void;
  /** Where the member logs terms, hand-overs and background failures. Default: nowhere. */
  readonly log?: MemberLog;
  /** Told when this member starts or stops serving as the leader, with who it is. */
  readonly onRoleChange?: (role: "leader" | "follower", self: PdMember) => void;
}

const silent: MemberLog = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * One PD member of a cluster sharing etcd: everything "elected" is owned
 * here, once. It holds the one etcd client that its leader election, each
 * term's store and its member registration share; its name, advertise
 * address and lease TTL; and the loop that serves a term (see
 * {@link TermLoop}). It is the `Leadership` that `createPdServer` serves
 * through: `start` (once the server listens) registers the member and
 * campaigns; each term opens a store fenced on that term, loads it and asks
 * the server's host for the cluster model; `close` resigns (another member
 * takes over at once) and releases everything.
 */
export class ElectedMember implements Leadership {
  /** The cluster id: keys live under `/nokv/pd/<clusterId>/`. */
  readonly clusterId: string;
  /** The etcd client URLs. */
  readonly endpoints: readonly string[];
  /** The leader lease TTL, in seconds. */
  readonly leaseTtlSec: number;
  /** The election (watching the leader key from creation on), for inspection. */
  readonly election: LeaderElection;
  readonly #client: Etcd3;
  readonly #o: ElectedMemberOptions;
  readonly #log: MemberLog;
  readonly #timeoutMs: number;
  #advertiseAddr: string | undefined;
  #host: LeadershipHost | undefined;
  #registry: MemberRegistry | undefined;
  readonly #mirror: CatalogMirror;
  readonly #terms: TermLoop;
  #closing: Promise<void> | undefined;

  /** @internal use {@link createElectedMember}. */
  constructor(init: {
    options: ElectedMemberOptions;
    client: Etcd3;
    election: LeaderElection;
    clusterId: string;
    leaseTtlSec: number;
    timeoutMs: number;
    log: MemberLog;
  }) {
    this.#o = init.options;
    this.#client = init.client;
    this.election = init.election;
    this.clusterId = init.clusterId;
    this.endpoints = [...init.options.endpoints];
    this.leaseTtlSec = init.leaseTtlSec;
    this.#timeoutMs = init.timeoutMs;
    this.#log = init.log;
    this.#advertiseAddr = init.options.advertiseAddr;
    const self = this.#self();
    const keys = clusterKeys(init.clusterId);
    this.#mirror = new CatalogMirror({
      client: init.client,
      keys,
      timeoutMs: init.timeoutMs,
      description: `etcd ${init.options.endpoints.join(",")} ${keys.prefix} (warm catalog)`,
      pageSize: 2048,
      report: (what, err) => this.#log.warn({ ...(err !== undefined && { err: errorText(err) }) }, what),
      onLoaded: (info) => {
        this.#log.info({ regions: info.regions, revision: info.revision.toString(), loadMs: info.loadMs, reason: info.reason }, "catalog loaded; following etcd");
        init.options.onCatalogLoaded?.(info);
      },
    });
    this.#terms = new TermLoop({
      election: init.election,
      self,
      leaseTtlSec: init.leaseTtlSec,
      warmCatalog: this.#mirror,
      catchUpBudgetMs: init.timeoutMs,
      openStore: () =>
        openEtcdStore({ client: this.#client, clusterId: this.clusterId, leaderGuard: this.election, requestTimeoutMs: this.#timeoutMs }),
      createCluster: (snapshot, persistence) => {
        if (this.#host === undefined) throw new PdError("UNAVAILABLE", `${this.name}: elected before the server opened it`);
        return this.#host.createCluster(snapshot, persistence);
      },
      peers: () => this.#registry?.members() ?? [],
      log: this.#log,
      onRoleChange: (role) => this.#o.onRoleChange?.(role, { name: self.name, advertiseAddr: self.advertiseAddr }),
    });
  }

  /** This member's name: the given one, else its advertise address (known once the server listens). */
  get name(): string {
    return this.#o.name ?? this.#advertiseAddr ?? "";
  }

  /** Where clients reach this member: the given address, else the bound one (undefined before the server listens). */
  get advertiseAddr(): string | undefined {
    return this.#advertiseAddr;
  }

  /** True while this member serves as the leader. */
  get isServing(): boolean {
    return this.#terms.isServing;
  }

  /** Where this member's warm copy of the catalog stands. */
  get catalogStatus(): MirrorStatus {
    return this.#mirror.status;
  }

  /** Nothing to restore before listening: each term loads its own state from etcd. */
  async open(host: LeadershipHost): Promise<undefined> {
    this.#host = host;
    return undefined;
  }

  /**
   * Registers this member and starts campaigning, now that clients can
   * reach the address the leader key will name.
   */
  async start(boundAddr: string): Promise<void> {
    this.#advertiseAddr ??= boundAddr;
    const self = { name: this.name, advertiseAddr: this.#advertiseAddr };
    const registry = createMemberRegistry({
      client: this.#client,
      clusterId: this.clusterId,
      self,
      requestTimeoutMs: this.#timeoutMs,
      onError: (err) => this.#log.warn({ err: (err as Error).message }, "member registry: background failure (retrying)"),
    });
    this.#registry = registry;
    // Membership is informational (GetMembers): a failed registration must not stop the member from serving.
    await registry
      .start()
      .catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, "member registry: cannot register yet (retrying)"));
    // Warm up while campaigning: a member still loading holds back, so a warm one wins when there is one.
    this.#mirror.start();
    this.#terms.start();
  }

  serving(): Cluster {
    return this.#terms.serving();
  }

  members(): { members: MemberInfo[]; leader: MemberInfo | undefined } {
    return this.#terms.members();
  }

  /**
   * Deregisters, stops serving once queued writes settled, resigns (so
   * another member takes over without waiting for the lease), closes the
   * term's store and the election, then the etcd client. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#registry?.close();
      await this.#terms.close();
      await this.#mirror.close();
      this.#client.close();
    })();
    return this.#closing;
  }

  /** This member as the election and the registry name it: read when campaigning, after `start`. */
  #self(): PdMember {
    const member = this;
    return {
      get name() {
        return member.name;
      },
      get advertiseAddr() {
        return member.#advertiseAddr ?? "";
      },
    };
  }
}

/**
 * Creates an elected member of the PD cluster `clusterId` on etcd: opens its
 * one etcd client and starts watching the leader key (resolves after the
 * first read, so an unreachable etcd fails here). Give it to
 * `createPdServer({ leadership })`, which starts it once it listens.
 *
 * @throws PdError `INVALID_ARGUMENT` for bad options (no endpoint, a bad
 *   cluster id, lease TTL or timeout, an empty name), `STORAGE` when etcd
 *   does not answer.
 */
export async function createElectedMember(options: ElectedMemberOptions): Promise<ElectedMember> {
  const clusterId = options.clusterId ?? DEFAULT_CLUSTER_ID;
  clusterKeys(clusterId);
  const leaseTtlSec = options.leaseTtlSec ?? DEFAULT_LEASE_TTL_SEC;
  checkLeaseTtl(leaseTtlSec);
  if (options.endpoints.length === 0) throw new PdError("INVALID_ARGUMENT", "elected member: needs at least one etcd endpoint");
  if (options.name === "" || options.advertiseAddr === "") {
    throw new PdError("INVALID_ARGUMENT", "elected member: name and advertiseAddr must be non-empty when given");
  }
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? Math.min(1000, Math.floor((leaseTtlSec * 1000) / 3));
  if (!Number.isInteger(attemptTimeoutMs) || attemptTimeoutMs < 1) {
    throw new PdError("INVALID_ARGUMENT", `elected member: attemptTimeoutMs must be an integer >= 1, got ${attemptTimeoutMs}`);
  }
  // Background failures repeat while etcd is away: one line, then a count.
  const log = new RateLimitedLog(options.log ?? silent);
  const client = createEtcdClient(options.endpoints, { attemptTimeoutMs });
  let election: LeaderElection;
  try {
    election = await createLeaderElection({
      client,
      clusterId,
      requestTimeoutMs: timeoutMs,
      onError: (err) => log.warn({ err: err.message }, "leader election: background failure (retrying)"),
    });
  } catch (err) {
    client.close();
    throw err;
  }
  return new ElectedMember({ options, client, election, clusterId, leaseTtlSec, timeoutMs, log });
}
