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
 *   {@link SchedulerOperation} and the pure helpers on them.
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
export type { StoreLiveness, StoreStats, StoreStatus } from "./store/store.js";
export type { PdMember, PdMembers } from "./member/member.js";
export type { SchedulerOperation, SchedulerOperationKind } from "./schedule/operation.js";
export {
  STORE_STATE_NAMES,
  keyToTikvHex,
  memberToTikvJson,
  membersToTikvJson,
  regionPageToTikvJson,
  regionToTikvJson,
  storeToTikvJson,
  storesToTikvJson,
  stringifyJson,
} from "./tikv-json/tikv-json.js";
export type { TikvMemberJson, TikvRegionJson, TikvRegionPageJson, TikvStoreJson } from "./tikv-json/tikv-json.js";
