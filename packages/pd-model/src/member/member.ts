/** One PD member: its name, the address clients dial for it, and whether it leads. */
export interface PdMember {
  readonly name: string;
  /** `host:port` clients dial for this member (what `NOT_LEADER` redirects name). */
  readonly advertiseAddr: string;
  readonly isLeader: boolean;
}

/** PD's members and the leader, if one is elected. */
export interface PdMembers {
  readonly members: readonly PdMember[];
  readonly leader: PdMember | undefined;
}
