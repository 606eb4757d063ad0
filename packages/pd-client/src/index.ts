/**
 * `@nokv/pd-client`: the typed client that NoKV stores and gateways use to
 * talk to PD, the placement driver — routing with a route cache, batched
 * timestamps, id allocation and heartbeats (with a store's capabilities and
 * the region extras that scheduling reads), and the scheduling control
 * calls (`pb.PDScheduling`), with deadlines, retries, leader tracking and
 * one error class. It depends on `@nokv/pd-proto`,
 * `@nokv/pd-model` and (as a peer) the application's `@grpc/grpc-js`.
 *
 * @packageDocumentation
 */

export { createPdClient, DEFAULT_TIMEOUT_MS } from "./client.js";
export type { PdClient, PdClientOptions } from "./client.js";

export { MAX_TIMEOUT_MS } from "./call/deadline.js";

export { PdClientError, PD_SERVER_ERROR_CODES } from "./errors.js";
export type { PdClientErrorInit, PdErrorCode, PdServerErrorCode } from "./errors.js";

export { DEFAULT_RETRY_POLICY } from "./call/retry.js";
export type { RetryOptions, RetryPolicy } from "./call/retry.js";

export { DEFAULT_ROUTE_CACHE_MAX_ENTRIES, DEFAULT_ROUTE_CACHE_TTL_MS } from "./route/route-cache.js";
export type { RouteCacheOptions } from "./route/route-cache.js";
export type { RegionLocation } from "./route/region-locator.js";

export { DEFAULT_MAX_PENDING_TSO_REQUESTS, MAX_TSO_BATCH } from "./tso/tso-batcher.js";
export type { TsoBatchingOptions } from "./tso/tso-batcher.js";

export { TSO_LOGICAL_BITS, decodeTimestamp } from "./tso/timestamp.js";

export { REQUEST_DURATION_BUCKETS, TSO_BATCH_SIZE_BUCKETS } from "./metrics/client-metrics.js";
export type { HistogramSeries, HistogramSnapshot, PdClientMetrics, PdClientMetricsObserver } from "./metrics/client-metrics.js";

export type {
  DownPeer,
  ExecutableOperationKind,
  GetRegionOptions,
  HealthCheckOptions,
  HealthStatus,
  IdRange,
  ListOperatorsOptions,
  ListRegionsOptions,
  OperatorInfo,
  OperatorState,
  PdClientTlsOptions,
  PdMember,
  PdMembers,
  RegionHeartbeatExtras,
  RegionPage,
  SchedulerInfo,
  SchedulerName,
  SchedulingConfig,
  SchedulingConfigChange,
  StoreHeartbeat,
  StoreLimit,
  StoreLimitOverride,
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

/** Every operation kind a store can execute and list as its capabilities, in wire order (pd-model's). */
export { EXECUTABLE_OPERATION_KINDS } from "@nokv/pd-model";

/**
 * The gRPC status codes of `@grpc/grpc-js`, re-exported so that callers can
 * compare {@link PdClientError.status} without importing grpc-js themselves.
 */
export { status as GrpcStatus } from "@grpc/grpc-js";
