/**
 * `@nokv/pd-model`: the one home of PD's contract facts and domain types,
 * shared by the server, the client, the adapter and the CLI. No
 * dependencies, no I/O, no protobuf: the wire ↔ domain conversion lives
 * beside the generated code in `@nokv/pd-proto`.
 *
 * - uint64: {@link MAX_UINT64}, {@link parseUint64}; every id, epoch, count
 *   and timestamp is a `bigint`.
 * - timestamps: the TSO bit layout ({@link TSO_LOGICAL_BITS}) and the count
 *   caps of `AllocID` and `Tso`.
 * - errors: the codes of the `pd-error-code` trailer, the trailer keys and
 *   the gRPC status each code travels with.
 * - the domain: {@link Region}, {@link StoreStatus}, {@link PdMember},
 *   {@link SchedulerOperation} and the pure helpers on them; what heartbeats
 *   carry ({@link StoreHeartbeat}, {@link RegionHeartbeat}).
 * - scheduling: {@link SchedulingConfig} (max-replicas, store limits, paused
 *   schedulers) and its rules, {@link OperatorInfo} for inspection.
 * - the TiKV-shaped JSON of the status API and `pd-cli --format json`.
 *
 * @packageDocumentation
 */
export { MAX_UINT64, isUint64, parseUint64 } from "./uint64/uint64.js";
export { MAX_ID_COUNT, MAX_TSO_COUNT, TSO_LOGICAL_BITS, composeTimestamp, decodeTimestamp } from "./tso/tso.js";
export {
  PD_ERROR_CODES,
  PD_ERROR_CODE_TRAILER,
  PD_LEADER_ADDR_TRAILER,
  grpcStatusNameOf,
  isPdErrorCode,
} from "./errors/error-codes.js";
export type { GrpcStatusName, PdErrorCode } from "./errors/error-codes.js";
export { compareKeys, formatKey, keysEqual, toHex } from "./region/keys.js";
export {
  cloneRegion,
  formatEpoch,
  formatRange,
  largestIdIn,
  rangesOverlap,
  regionContains,
  regionsEqual,
} from "./region/region.js";
export type { Region, RegionEpoch, RegionPeer } from "./region/region.js";
export type { DownPeer, RegionHeartbeat, RegionHeartbeatExtras } from "./region/heartbeat.js";
export type { StoreHeartbeat, StoreLiveness, StoreStats, StoreStatus } from "./store/store.js";
export type { PdMember, PdMembers } from "./member/member.js";
export { EXECUTABLE_OPERATION_KINDS } from "./schedule/operation.js";
export type { ExecutableOperationKind, SchedulerOperation, SchedulerOperationKind } from "./schedule/operation.js";
export {
  DEFAULT_SCHEDULING_CONFIG,
  MAX_REPLICAS_LIMIT,
  SCHEDULER_NAMES,
  applySchedulingPatch,
  resolveSchedulerName,
  schedulingConfigProblem,
  storeLimitOf,
} from "./schedule/scheduling-config.js";
export type {
  SchedulerName,
  SchedulingConfig,
  SchedulingConfigPatch,
  StoreLimit,
  StoreLimitOverride,
} from "./schedule/scheduling-config.js";
export { OPERATOR_END_STATES, OPERATOR_KINDS, isOperatorEnded, operatorFinishedAtMs } from "./schedule/operator-info.js";
export type { OperatorInfo, OperatorKind, OperatorState, SchedulerInfo } from "./schedule/operator-info.js";
export {
  STORE_STATE_NAMES,
  formatGoDuration,
  keyToTikvHex,
  memberToTikvJson,
  membersToTikvJson,
  operatorFromTikvJson,
  operatorToTikvJson,
  operatorToTikvString,
  regionPageToTikvJson,
  regionToTikvJson,
  schedulingConfigToTikvJson,
  storeLimitsToTikvJson,
  storeToTikvJson,
  storesToTikvJson,
  stringifyJson,
  tikvOperatorKind,
} from "./tikv-json/tikv-json.js";
export type {
  TikvMemberJson,
  TikvOperatorJson,
  TikvOperatorStepJson,
  TikvRegionJson,
  TikvRegionPageJson,
  TikvReplicationConfigJson,
  TikvScheduleConfigJson,
  TikvStoreJson,
  TikvStoreLimitsJson,
} from "./tikv-json/tikv-json.js";
