/**
 * `@nokv/pd-client`: the typed client that NoKV stores and gateways use to
 * talk to PD, the placement driver — routing with a route cache, batched
 * timestamps, id allocation and heartbeats, with deadlines, retries and one
 * error class. It depends on `@nokv/pd-proto` and grpc-js only.
 *
 * @packageDocumentation
 */

export { createPdClient, DEFAULT_TIMEOUT_MS } from "./client.js";
export type { PdClient, PdClientOptions } from "./client.js";

export { PdClientError, PD_SERVER_ERROR_CODES } from "./errors.js";
export type { PdClientErrorInit, PdErrorCode, PdServerErrorCode } from "./errors.js";

export { DEFAULT_RETRY_POLICY } from "./retry.js";
export type { RetryOptions, RetryPolicy } from "./retry.js";

export type { RouteCacheOptions } from "./route-cache.js";

export { MAX_TSO_BATCH } from "./tso-batcher.js";

export { TSO_LOGICAL_BITS, decodeTimestamp } from "./timestamp.js";
export type { TsoBatchingOptions } from "./tso-batcher.js";

export type {
  GetRegionOptions,
  HealthCheckOptions,
  HealthStatus,
  IdRange,
  ListRegionsOptions,
  PdClientTlsOptions,
  PdMember,
  PdMembers,
  RegionPage,
  StoreLiveness,
  StoreStatus,
  PdCallOptions,
  PdClientStats,
  Region,
  RegionEpoch,
  RegionPeer,
  SchedulerOperation,
  SchedulerOperationKind,
  StoreHeartbeatResult,
  StoreStats,
  TimestampRange,
} from "./types.js";

/**
 * The gRPC status codes of `@grpc/grpc-js`, re-exported so that callers can
 * compare {@link PdClientError.status} without depending on grpc-js.
 */
export { status as GrpcStatus } from "@grpc/grpc-js";
