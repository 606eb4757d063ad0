/**
 * `@nokv/pd-proto`: the generated TypeScript for NoKV's PD wire contract
 * (protobuf package `pb`, service `PD`). Every uint64 is a `bigint`.
 *
 * The code under `./gen/` is produced by `pnpm --filter @nokv/pd-proto generate`
 * from `pb/*.proto`; never edit it by hand.
 */
export { RegionEpoch, RegionMeta, RegionPeer } from "./gen/metapb.js";
export {
  AllocIDRequest,
  AllocIDResponse,
  GetMembersRequest,
  GetMembersResponse,
  GetRegionByKeyRequest,
  GetRegionByKeyResponse,
  Member,
  PDClient,
  PDService,
  RegionHeartbeatRequest,
  RegionHeartbeatResponse,
  RemoveRegionRequest,
  RemoveRegionResponse,
  SchedulerOperation,
  SchedulerOperationType,
  StoreHeartbeatRequest,
  StoreHeartbeatResponse,
  TsoRequest,
  TsoResponse,
} from "./gen/pdpb.js";
export type { PDServer } from "./gen/pdpb.js";

/** Largest value a protobuf uint64 can carry: 2^64 - 1. */
export const MAX_UINT64 = (1n << 64n) - 1n;
