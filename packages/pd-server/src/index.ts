/**
 * `@nokv/pd-server`: NoKV's PD as a grpc-js service (`pb.PD`), wiring the
 * cluster model of `@nokv/pd-core` to a `@nokv/pd-storage` store.
 */
export { createPdServer, routeGrpcLogs } from "./server.js";
export type { ElectedModeOptions, MemberDirectory, PdServer, PdServerOptions } from "./server.js";
export { OpenStreams, createPdHandlers } from "./service/pd-service.js";
export { createSchedulingHandlers, instrumentSchedulingHandlers } from "./service/scheduling-service.js";
export type { SchedulingHandlerDeps } from "./service/scheduling-service.js";
export type { PdHandlerDeps } from "./service/pd-service.js";
export { createSoloLeadership } from "./leadership/leadership.js";
export type { Leadership, MemberInfo } from "./leadership/leadership.js";
export { ElectedLeadership, createElectedLeadership } from "./leadership/elected-leadership.js";
export type { Election, ElectedLeadershipOptions } from "./leadership/elected-leadership.js";
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
