import type { ServiceError } from "@grpc/grpc-js";
import { PdError } from "@nokv/pd-core";
import { encodePdError } from "@nokv/pd-proto";
import type { Logger } from "pino";
import { logRepeated } from "./service/repeat-log.js";

/**
 * Turns any error thrown by the domain into a gRPC `ServiceError`, encoded by
 * `@nokv/pd-proto` (the status of each code and the `pd-error-code` and
 * `pd-leader-addr` trailers, shared with the client's decoder). A
 * {@link PdError} keeps its message; anything else is a bug: `INTERNAL`
 * with a generic message, the cause logged. `STORAGE` failures are logged
 * once and then counted (see {@link logRepeated}).
 */
export function toServiceError(err: unknown, method: string, log: Logger): Partial<ServiceError> {
  if (err instanceof PdError) {
    // Storage unavailable (etcd away, a full disk) fails every call until it
    // is back: one line and then a count per method, without stack traces.
    if (err.code === "STORAGE") logRepeated(log, "error", `storage:${method}`, { method, err: err.message }, "storage failure");
    return encodePdError(err.code, err.message, err.leaderAddr);
  }
  log.error({ err, method }, "unexpected error");
  return encodePdError("INTERNAL", "internal error");
}
