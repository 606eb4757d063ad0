/**
 * `@nokv/pd-storage`: PD's persistence. The {@link Store} contract and its
 * backends: memory (tests, no `--workdir`), local-file (`--workdir`) and
 * etcd (several PD members sharing one etcd, with leader election).
 */
export { deleteRegion, saveRegion } from "./store.js";
export type { Store } from "./store.js";
export { MemoryStore, createMemoryStore } from "./memory/memory-store.js";
export { LocalFileStore, describeRecovery, openLocalFileStore } from "./local-file/local-file-store.js";
export type {
  DroppedTail,
  ImportedCatalog,
  LocalFileStoreOptions,
  LocalFileStoreStats,
  RecoveryReport,
  StorageLog,
} from "./local-file/local-file-store.js";
export { STATE_FILE, formatAllocatorState, parseAllocatorState, parsePdStateFile } from "./local-file/pd-state-file.js";
export type { PdStateFile, PdStateShape, SkippedRegion } from "./local-file/pd-state-file.js";
export { LOCK_FILE } from "./local-file/workdir-lock.js";
export { SCHEDULING_FILE, decodeSchedulingConfig, encodeSchedulingConfig } from "./scheduling/scheduling-config-codec.js";
export { EtcdStore, openEtcdStore } from "./etcd/etcd-store.js";
export type { EtcdStoreOptions, EtcdStoreStats } from "./etcd/etcd-store.js";
export { LeaderElection, createLeaderElection } from "./etcd/leader-election.js";
export type { CampaignOptions, LeaderElectionOptions, LeaderTerm } from "./etcd/leader-election.js";
export { formatLeaderValue, parseLeaderValue } from "./etcd/leader-guard.js";
export { MemberRegistry, createMemberRegistry } from "./etcd/member-registry.js";
export type { MemberRegistryOptions } from "./etcd/member-registry.js";
export type { LeaderFence, LeaderGuard, PdMember } from "./etcd/leader-guard.js";
export { ETCD_KEY_ROOT, clusterKeys } from "./etcd/key-layout.js";
export type { ClusterKeys } from "./etcd/key-layout.js";
export type { EtcdConnectionOptions } from "./etcd/etcd-connection.js";
