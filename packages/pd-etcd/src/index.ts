/**
 * `@nokv/pd-etcd`: PD on etcd, for several PD members sharing one etcd
 * cluster. {@link createElectedMember} is the `Leadership` that
 * `createPdServer` serves through in distributed mode; beneath it, the etcd
 * `Store` (catalog compare-and-swap chain, pending batches, allocator
 * compare-and-swap, all fenced on the leader's term), the followers' warm
 * copy of the catalog, the leader election (lease, campaign, watch) and the
 * member registry, over an etcd client that does not stay with a member
 * that hangs. Depends on
 * `@nokv/pd-core` (the `Leadership` contract) and `@nokv/pd-storage` (the
 * `Store` contract and codecs); nothing of the gRPC server.
 */
export { DEFAULT_CLUSTER_ID, ElectedMember, createElectedMember } from "./member/elected-member.js";
export type { ElectedMemberOptions, MemberLog, MirrorStatus } from "./member/elected-member.js";
export type { EtcdConnectionOptions } from "./connection/etcd-connection.js";
export { ETCD_KEY_ROOT, clusterKeys } from "./keys/key-layout.js";
export type { ClusterKeys } from "./keys/key-layout.js";
export { EtcdStore, openEtcdStore } from "./store/etcd-store.js";
export type { CatalogPosition, EtcdStoreOptions, EtcdStoreStats, TermHead } from "./store/etcd-store.js";
export { DEFAULT_LEASE_TTL_SEC, LeaderElection, createLeaderElection } from "./election/leader-election.js";
export type { CampaignOptions, LeaderElectionOptions, LeaderTerm } from "./election/leader-election.js";
export { formatLeaderValue, parseLeaderValue } from "./election/leader-guard.js";
export type { LeaderFence, LeaderGuard, PdMember } from "./election/leader-guard.js";
export { MemberRegistry, createMemberRegistry } from "./member/member-registry.js";
export type { MemberRegistryOptions } from "./member/member-registry.js";
