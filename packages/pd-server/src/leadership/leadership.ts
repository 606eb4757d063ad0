import type { Cluster } from "@nokv/pd-core";
import type { PdMember, PdMembers } from "@nokv/pd-model";

/** One PD member as reported by `GetMembers` (the domain's `PdMember`). */
export type MemberInfo = PdMember;

/**
 * Who may serve, and with which cluster model. The service asks before every
 * request; a member that is not the leader throws PdError `NOT_LEADER` (with
 * the leader's address when it knows it), which clients follow.
 */
export interface Leadership {
  /**
   * The cluster to serve this request with, when this member may serve now;
   * throws PdError `NOT_LEADER` or `UNAVAILABLE` otherwise. Synchronous: it is
   * on every request's path.
   */
  serving(): Cluster;
  /** The members and the leader, for `GetMembers`. */
  members(): PdMembers;
}

/** The single-process PD: always the leader of a one-member cluster. */
export function createSoloLeadership(self: { cluster: Cluster; name: string; advertiseAddr: () => string }): Leadership {
  return {
    serving: () => self.cluster,
    members() {
      const me: MemberInfo = { name: self.name, advertiseAddr: self.advertiseAddr(), isLeader: true };
      return { members: [me], leader: me };
    },
  };
}
