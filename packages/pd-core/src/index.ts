/**
 * `@nokv/pd-core`: NoKV PD's cluster model — the rules, the catalog, the
 * allocators and scheduling (operators, the replica checker, balance-region,
 * balance-leader) — over the domain types of `@nokv/pd-model`. No
 * I/O, no protobuf: persistence comes in through the small `RegionLog` and
 * `CheckpointStore` interfaces that `@nokv/pd-storage` implements.
 */
export { PdError, isPdError } from "./errors.js";
export { hasDuplicatePeers, validateRegion } from "./region/region.js";
export { RouteIndex } from "./region/route-index.js";
export { RegionCatalog } from "./region/catalog.js";
export type { AppendLimit, HeartbeatOutcome, RegionCatalogOptions, RegionEdit, RegionLog } from "./region/catalog.js";
export { Checkpointer } from "./alloc/checkpoint.js";
export type { AllocatorState, CheckpointStore } from "./alloc/checkpoint.js";
export { IdAllocator, normaliseCount } from "./alloc/id-allocator.js";
export type { IdAllocatorOptions, Run } from "./alloc/id-allocator.js";
export { TsoAllocator } from "./alloc/tso-allocator.js";
export type { TsoAllocatorOptions } from "./alloc/tso-allocator.js";
export { StoreRegistry } from "./store/store-registry.js";
export type { StoreInfo } from "./store/store-registry.js";
export { DEFAULT_LIVENESS_THRESHOLDS, checkLivenessThresholds, storeLiveness } from "./store/liveness.js";
export type { KnownLiveness, LivenessThresholds } from "./store/liveness.js";
export { buildLeaderTransfer, planLeaderTransfer, selectRebalancePair } from "./schedule/leader-transfer.js";
export type { LeaderTransfer } from "./schedule/leader-transfer.js";
export { DEFAULT_SCHEDULING_LIMITS, Scheduling, checkSchedulingLimits } from "./schedule/scheduling.js";
export type { SchedulingCost, SchedulingLimits, SchedulingOptions } from "./schedule/scheduling.js";
export { DEFAULT_SCHEDULE_POLICY, checkSchedulePolicy, isActionable } from "./schedule/scheduling-context.js";
export type { SchedulePolicy, SchedulingContext } from "./schedule/scheduling-context.js";
export { Operator, outranks } from "./schedule/operator.js";
export type { OperatorPlan, OperatorPriority } from "./schedule/operator.js";
export { OperatorController } from "./schedule/operator-controller.js";
export type { ControllerView, OperatorControllerOptions, OperatorEvent, TransferCounters } from "./schedule/operator-controller.js";
export { describeStep, isStepFinished, stepTimeoutMs } from "./schedule/operator-step.js";
export type { AddPeerStep, OperatorStep, PromoteLearnerStep, RemovePeerStep, StepTimeouts, TransferLeaderStep } from "./schedule/operator-step.js";
export { IndexedIdSet, RegionStatsIndex, regionWeight } from "./schedule/region-stats.js";
export type { RegionStats } from "./schedule/region-stats.js";
export { keepsLiveMajority, quorum } from "./schedule/replica-safety.js";
export type { PeerLiveness } from "./schedule/replica-safety.js";
export { checkReplicas, pickTargetStore, replicaHealth } from "./schedule/replica-checker.js";
export type { CheckDeferral, CheckOutcome, ReplicaHealth } from "./schedule/replica-checker.js";
export { planBalanceRegion, regionScore, spaceAmplification } from "./schedule/balance-region.js";
export { leaderScore, planInformedLeaderTransfers } from "./schedule/balance-leader.js";
export { StoreLimiter } from "./schedule/store-limit.js";
export type { StoreLimitType } from "./schedule/store-limit.js";
export { Cluster, createCluster } from "./cluster/cluster.js";
export { DEFAULT_CLUSTER_CONFIG, resolveClusterConfig } from "./cluster/cluster-config.js";
export type { ClusterConfig, ClusterConfigOptions } from "./cluster/cluster-config.js";
export type { ClusterOptions, ClusterPersistence, ClusterSnapshot, SchedulingConfigStore } from "./cluster/cluster.js";
export type { Leadership, LeadershipHost, MemberInfo, RestoredState } from "./leadership/leadership.js";
