/**
 * `@nokv/pd-proto`: the generated TypeScript for NoKV's PD wire contract
 * (protobuf package `pb`, service `PD`), and beside it the hand-written
 * edge of the wire: conversion between the messages and the domain types of
 * `@nokv/pd-model`, and the encoding of PD's error codes as gRPC statuses and
 * trailers (both directions). Every uint64 is a `bigint`.
 *
 * The code under `./gen/` is produced by `pnpm --filter @nokv/pd-proto generate`
 * from `pb/*.proto`; never edit it by hand.
 */
import { fileURLToPath } from "node:url";

export { RegionEpoch, RegionMeta, RegionPeer } from "./gen/metapb.js";
export {
  AllocIDRequest,
  AllocIDResponse,
  DownPeer,
  StoreCapabilities,
  RegionPeerStatus,
  GetSchedulingConfigRequest,
  GetSchedulingConfigResponse,
  ListOperatorsRequest,
  ListOperatorsResponse,
  ListSchedulersRequest,
  ListSchedulersResponse,
  OperatorInfo,
  OperatorState,
  SchedulerInfo,
  SchedulingConfig,
  SetSchedulerPausedRequest,
  SetSchedulerPausedResponse,
  SetSchedulingConfigRequest,
  SetSchedulingConfigResponse,
  StoreLimit,
  StoreLimitOverride,
  StoreLimitPatch,
  GetMembersRequest,
  GetMembersResponse,
  GetRegionByIdRequest,
  GetRegionByIdResponse,
  GetRegionByKeyRequest,
  GetRegionByKeyResponse,
  ListRegionsRequest,
  ListRegionsResponse,
  ListStoresRequest,
  ListStoresResponse,
  Member,
  PDClient,
  PDSchedulingClient,
  PDSchedulingService,
  PDService,
  RegionHeartbeatRequest,
  RegionHeartbeatResponse,
  RemoveRegionRequest,
  RemoveRegionResponse,
  SchedulerOperation,
  SchedulerOperationType,
  StoreHeartbeatRequest,
  StoreHeartbeatResponse,
  StoreLiveness,
  StoreStatus,
  TsoRequest,
  TsoResponse,
} from "./gen/pdpb.js";
export type { PDSchedulingServer, PDServer } from "./gen/pdpb.js";

/**
 * Absolute path of the directory holding the `.proto` sources (`pdpb.proto`,
 * `metapb.proto`; both `package pb`), shipped in the package's `pb/` folder:
 * for tools that load descriptors at run time, such as gRPC server reflection.
 */
export const PROTO_DIR: string = fileURLToPath(new URL("../pb/", import.meta.url));

/** The `.proto` files of the service, relative to {@link PROTO_DIR}. */
export const PROTO_FILES: readonly string[] = ["pdpb.proto", "metapb.proto"];

/** Largest value a protobuf uint64 can carry: 2^64 - 1 (defined in `@nokv/pd-model`). */
export { MAX_UINT64 } from "@nokv/pd-model";

export {
  bytesToWire,
  memberToWire,
  membersFromWire,
  membersToWire,
  operationFromWire,
  operationKindFromWire,
  operationKindToWire,
  operationToWire,
  operatorInfoFromWire,
  operatorInfoToWire,
  regionFromWire,
  regionHeartbeatFromWire,
  regionHeartbeatToWire,
  regionToWire,
  schedulerInfoFromWire,
  schedulerInfoToWire,
  schedulingConfigFromWire,
  schedulingConfigToWire,
  schedulingPatchFromWire,
  schedulingPatchToWire,
  storeHeartbeatFromWire,
  storeHeartbeatToWire,
  storeStatsFromWire,
  storeStatsToWire,
  storeStatusFromWire,
  storeStatusToWire,
} from "./contract/convert.js";
export { decodePdError, encodePdError, grpcStatusOf } from "./contract/status.js";
export type { DecodedPdError, EncodedPdError } from "./contract/status.js";
