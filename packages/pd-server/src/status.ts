import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { type PdErrorCode, PdError } from "@nokv/pd-core";
import type { Logger } from "pino";

/** Trailing-metadata key carrying the stable PD error code of a failed call. */
export const ERROR_CODE_KEY = "pd-error-code";

/** Trailing-metadata key carrying the leader's `host:port` on a `NOT_LEADER` failure. */
export const LEADER_ADDR_KEY = "pd-leader-addr";

/** The gRPC status for each PD error code. Exhaustive: a new code fails to compile until mapped. */
export function grpcStatusFor(code: PdErrorCode): status {
  switch (code) {
    case "INVALID_ARGUMENT":
      return status.INVALID_ARGUMENT;
    case "STALE_EPOCH":
    case "RANGE_OVERLAP":
      return status.FAILED_PRECONDITION;
    case "ALLOCATOR_EXHAUSTED":
      return status.OUT_OF_RANGE;
    case "STORAGE":
      return status.INTERNAL;
    case "NOT_LEADER":
    case "UNAVAILABLE":
      return status.UNAVAILABLE;
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

/**
 * Turns any error thrown by the domain into a gRPC `ServiceError`. A
 * {@link PdError} keeps its message and sends its code in trailing metadata
 * (`pd-error-code`); anything else is a bug: `INTERNAL` with a generic
 * message, the cause logged.
 */
export function toServiceError(err: unknown, method: string, log: Logger): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof PdError) {
    metadata.set(ERROR_CODE_KEY, err.code);
    if (err.leaderAddr) metadata.set(LEADER_ADDR_KEY, err.leaderAddr);
    if (err.code === "STORAGE") log.error({ err, method }, "storage failure");
    return { code: grpcStatusFor(err.code), details: err.message, metadata };
  }
  log.error({ err, method }, "unexpected error");
  metadata.set(ERROR_CODE_KEY, "INTERNAL");
  return { code: status.INTERNAL, details: "internal error", metadata };
}
