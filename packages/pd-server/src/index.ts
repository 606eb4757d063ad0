/**
 * `@nokv/pd-server`: NoKV's PD as a grpc-js service (`pb.PD`), wiring the
 * cluster model of `@nokv/pd-core` to a `@nokv/pd-storage` store.
 */
export { createPdServer, routeGrpcLogs } from "./server.js";
export type { PdServer, PdServerOptions } from "./server.js";
export { createPdHandlers } from "./service/pd-service.js";
export type { PdHandlerDeps } from "./service/pd-service.js";
export { createSoloLeadership } from "./leadership/leadership.js";
export type { Leadership, MemberInfo } from "./leadership/leadership.js";
export { ERROR_CODE_KEY, LEADER_ADDR_KEY, grpcStatusFor, toServiceError } from "./status.js";
export { operationToWire, regionFromWire, regionToWire, storeStatsFromWire } from "./convert.js";
