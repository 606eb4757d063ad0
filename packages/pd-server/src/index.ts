/**
 * `@nokv/pd-server`: NoKV's PD as a grpc-js service (`pb.PD`), serving the
 * cluster model of `@nokv/pd-core` through a `Leadership`: a single PD over a
 * `@nokv/pd-storage` store ({@link createSoloLeadership}), or an elected
 * member (`@nokv/pd-etcd`). Nothing here depends on etcd.
 */
export { createPdServer, routeGrpcLogs } from "./server.js";
export type { PdServer, PdServerOptions } from "./server.js";
export { DEFAULT_LISTEN_ADDR, DEFAULT_SHUTDOWN_GRACE_MS, resolvePdServerConfig } from "./config/server-config.js";
export type { PdServerConfig, PdServerSettings } from "./config/server-config.js";
export { OpenStreams, createPdHandlers } from "./service/pd-service.js";
export { createSchedulingHandlers, instrumentSchedulingHandlers } from "./service/scheduling-service.js";
export type { SchedulingHandlerDeps } from "./service/scheduling-service.js";
export type { PdHandlerDeps } from "./service/pd-service.js";
export { SoloLeadership, createSoloLeadership } from "./leadership/solo-leadership.js";
export type { SoloLeadershipOptions } from "./leadership/solo-leadership.js";
/** The leadership contract lives in `@nokv/pd-core`; re-exported for those who implement or inspect one. */
export type { Leadership, LeadershipHost, MemberInfo, RestoredState } from "@nokv/pd-core";
export { toServiceError } from "./status.js";
export { createPdMetrics } from "./metrics/metrics.js";
export type { PdMetrics, PdMetricsSources, RpcMetrics } from "./metrics/metrics.js";
export { instrumentHandlers } from "./service/instrument.js";
export type { InstrumentOptions } from "./service/instrument.js";
export { DEFAULT_REQUEST_LIMITS, resolveRequestLimits } from "./service/limits.js";
export type { RequestLimits } from "./service/limits.js";
export { PD_SERVICE_NAME, addHealthService, addReflectionService } from "./service/standard-services.js";
export type { HealthReporter } from "./service/standard-services.js";
export { certificateAuthorizer, isLoopbackHost, serverCredentials } from "./tls/tls.js";
export type { PdTlsOptions } from "./tls/tls.js";
