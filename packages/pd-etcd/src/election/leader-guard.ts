/** A PD member as the leader key names it. */
export interface PdMember {
  readonly name: string;
  /** Where clients reach this member, `host:port`: what NOT_LEADER redirects point to. */
  readonly advertiseAddr: string;
}

/**
 * One leader term: the leader key as this member created it. The key's
 * create revision is unique for ever (etcd never reuses a revision), so
 * "the leader key still has create revision R" means "the term that began at
 * R has not ended", however late a member learns that it ended.
 */
export interface LeaderFence {
  /** `/nokv/pd/<cluster-id>/leader`. */
  readonly key: string;
  /** The create revision of the leader key in this term, decimal. */
  readonly createRevision: string;
}

/**
 * What the etcd store needs from leader election to fence its writes
 * (`LeaderElection` implements it). Every write of a store opened with
 * a guard is an etcd transaction that compares the leader key's create
 * revision with the fence, so a deposed leader cannot write.
 */
export interface LeaderGuard {
  /** The leader key this guard fences on (the store checks it is its cluster's). */
  readonly leaderKey: string;
  /** The fence of this member's current term, or undefined when it is not the leader right now. */
  fence(): LeaderFence | undefined;
  /** The advertise address of the leader as last seen, for NOT_LEADER errors. */
  leaderAddr(): string | undefined;
  /**
   * Told by the store when a write fenced by `fence` found the leader key
   * gone or re-created: that term is over. `current` is the leader etcd
   * named in the same transaction, if any.
   */
  fenceLost(fence: LeaderFence, current: PdMember | undefined): void;
}

/** The leader key's value: `{"name":"pd-1","advertiseAddr":"10.0.0.1:2379"}`. */
export function formatLeaderValue(member: PdMember): string {
  return JSON.stringify({ name: member.name, advertiseAddr: member.advertiseAddr });
}

/** Reads a leader key's value; undefined when it is not a {@link formatLeaderValue} document. */
export function parseLeaderValue(value: Buffer | Uint8Array): PdMember | undefined {
  try {
    const doc = JSON.parse(Buffer.from(value).toString("utf8")) as unknown;
    if (typeof doc !== "object" || doc === null) return undefined;
    const { name, advertiseAddr } = doc as Record<string, unknown>;
    if (typeof name !== "string" || typeof advertiseAddr !== "string") return undefined;
    return { name, advertiseAddr };
  } catch {
    return undefined;
  }
}
