import type { PdMember, PdMembers } from "@nokv/pd-model";
import type { Cluster, ClusterPersistence, ClusterSnapshot } from "../cluster/cluster.js";

/** One PD member as `GetMembers` reports it (the domain's `PdMember`). */
export type MemberInfo = PdMember;

/** What a member restored from storage before its server started listening. */
export interface RestoredState {
  /** The storage it came from, for logs: e.g. `local-file /var/lib/nokv-pd`. */
  readonly storage: string;
  /** Regions in the restored catalog. */
  readonly regions: number;
  /** Of those, regions whose peers are not one per store (accepted as reported, never scheduled). */
  readonly duplicatePeerRegions: number;
  /** The first id the allocator will hand out. */
  readonly idNext: bigint;
  /** The first timestamp the oracle may hand out. */
  readonly tsNext: bigint;
}

/** What a server offers the leadership it serves through. */
export interface LeadershipHost {
  /**
   * Builds the cluster model to serve from a loaded `snapshot` over
   * `persistence`, with the server's cluster configuration (allocator starts
   * and windows, request caps, liveness, operators) and with `persistence`
   * observed by the server's metrics and logs. A leadership calls it once per
   * store it opens: a single PD once, an elected member once per term.
   *
   * @throws PdError `STORAGE` when the snapshot is unusable (see `createCluster`).
   */
  createCluster(snapshot: ClusterSnapshot, persistence: ClusterPersistence): Cluster;
}

/**
 * Who may serve, and with which cluster model: the seam between a PD server
 * and the way a member gets its authority. A single PD always leads a
 * cluster of one; an elected member (`@nokv/pd-etcd`) leads only while it
 * holds the etcd lease, and builds a new cluster model for every term. The
 * server serves through this interface and does not know which it has.
 *
 * Life cycle, driven by the server, each step once: {@link open} before the
 * server listens, {@link start} once it listens, {@link close} when it stops
 * (or fails to start). The server owns the leadership it is given.
 */
export interface Leadership {
  /** This member's name (`GetMembers`, `/health`, logs); final once {@link start} resolved. */
  readonly name: string;
  /**
   * Prepares what must be ready before the first request: a single PD loads
   * its store and builds its cluster here, so an unusable snapshot stops the
   * server before it listens. Resolves with what was restored, or undefined
   * when state is loaded later (an elected member loads it per term).
   */
  open(host: LeadershipHost): Promise<RestoredState | undefined>;
  /**
   * The server listens on `boundAddr` (`host:port`, the real port when 0 was
   * asked for): clients can reach this member now. An elected member
   * registers and campaigns here, advertising `boundAddr` unless it was
   * given an address of its own.
   */
  start(boundAddr: string): Promise<void>;
  /**
   * The cluster to serve this request with, when this member may serve now;
   * throws PdError `NOT_LEADER` (with the leader's address when known) or
   * `UNAVAILABLE` otherwise. Synchronous: it is on every request's path.
   */
  serving(): Cluster;
  /** The members and the leader, for `GetMembers`. */
  members(): PdMembers;
  /** Stops serving, lets queued writes settle, hands leadership over, releases storage. Idempotent. */
  close(): Promise<void>;
}
