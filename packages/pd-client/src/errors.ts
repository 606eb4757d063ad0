import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { PD_ERROR_CODES, type PdErrorCode as PdServerErrorCode } from "@nokv/pd-model";
import { decodePdError } from "@nokv/pd-proto";

/**
 * The stable error codes PD puts in the `pd-error-code` trailing metadata:
 * `@nokv/pd-model`'s list, the same one the server encodes from, so every
 * code the server can send is one the client decodes.
 */
export const PD_SERVER_ERROR_CODES: readonly PdServerErrorCode[] = PD_ERROR_CODES;

/** One of {@link PD_SERVER_ERROR_CODES}. */
export type { PdServerErrorCode };

/**
 * The `code` of a {@link PdClientError}: a server code, or one the client
 * produces itself — `DEADLINE_EXCEEDED` (the call's deadline passed),
 * `CANCELLED` (its `AbortSignal` fired) and `CLOSED` (the client was closed).
 */
export type PdErrorCode = PdServerErrorCode | "DEADLINE_EXCEEDED" | "CANCELLED" | "CLOSED";

/** Fields of a {@link PdClientError} beyond its message. */
export interface PdClientErrorInit {
  readonly status: GrpcStatus;
  readonly code: PdErrorCode;
  readonly retryable: boolean;
  readonly method?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly leaderAddr?: string | undefined;
  readonly cause?: unknown;
}

/**
 * The one error the client raises.
 *
 * - `status`: the gRPC status code (`@grpc/grpc-js` `status`, re-exported as
 *   `GrpcStatus`); client-side failures use the closest status
 *   (`DEADLINE_EXCEEDED`, `CANCELLED`, `INVALID_ARGUMENT`).
 * - `code`: PD's stable code from the `pd-error-code` trailer, or, when the
 *   trailer is absent (a proxy, an older PD, a transport failure), derived
 *   from `status`. Match on `code`, never on the message.
 * - `retryable`: sending the same request again later may succeed
 *   (`UNAVAILABLE`, `NOT_LEADER`, `DEADLINE_EXCEEDED`, `ABORTED`). It is never
 *   set for `INVALID_ARGUMENT`, `FAILED_PRECONDITION` or `OUT_OF_RANGE`.
 * - `cause`: the underlying grpc-js `ServiceError` or abort reason.
 */
export class PdClientError extends Error {
  override readonly name = "PdClientError";
  /** The gRPC status code. */
  readonly status: GrpcStatus;
  /** The stable PD error code. */
  readonly code: PdErrorCode;
  /** Whether the same request may succeed if sent again. */
  readonly retryable: boolean;
  /** The RPC (`"Tso"`, `"GetRegionByKey"`, …), when the error comes from one. */
  readonly method: string | undefined;
  /** The endpoint that answered or was being tried. */
  readonly endpoint: string | undefined;
  /** The leader PD named in `pd-leader-addr` on a `NOT_LEADER` error. */
  readonly leaderAddr: string | undefined;

  constructor(message: string, init: PdClientErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.retryable = init.retryable;
    this.method = init.method;
    this.endpoint = init.endpoint;
    this.leaderAddr = init.leaderAddr;
  }
}

/** Statuses worth retrying: the request was not, or may safely again be, processed. */
export function isRetryableStatus(status: GrpcStatus): boolean {
  return (
    status === GrpcStatus.UNAVAILABLE ||
    status === GrpcStatus.DEADLINE_EXCEEDED ||
    status === GrpcStatus.ABORTED
  );
}

/** The PD code for a status when the server sent no `pd-error-code`. */
export function codeFromStatus(status: GrpcStatus): PdErrorCode {
  switch (status) {
    case GrpcStatus.INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    // PD uses FAILED_PRECONDITION for both STALE_EPOCH and RANGE_OVERLAP: both
    // mean "your view is stale"; without the trailer the former is the best guess.
    case GrpcStatus.FAILED_PRECONDITION:
      return "STALE_EPOCH";
    case GrpcStatus.OUT_OF_RANGE:
      return "ALLOCATOR_EXHAUSTED";
    case GrpcStatus.UNAVAILABLE:
      return "UNAVAILABLE";
    case GrpcStatus.DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case GrpcStatus.CANCELLED:
      return "CANCELLED";
    case GrpcStatus.PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    default:
      return "INTERNAL";
  }
}

/**
 * Maps a grpc-js error of one attempt to a {@link PdClientError}, reading the
 * `pd-error-code` and `pd-leader-addr` trailers. An unknown trailer value (a
 * newer PD) falls back to the code derived from the status.
 */
export function fromServiceError(err: ServiceError, method: string, endpoint: string): PdClientError {
  const decoded = decodePdError(err);
  const status = decoded.status;
  const code: PdErrorCode = decoded.code ?? codeFromStatus(status);
  const statusName = GrpcStatus[status] ?? String(status);
  const details = err.details ? `: ${err.details}` : "";
  return new PdClientError(`pd ${method} at ${endpoint} failed with ${statusName} (${code})${details}`, {
    status,
    code,
    retryable: isRetryableStatus(status),
    method,
    endpoint,
    leaderAddr: decoded.leaderAddr,
    cause: err,
  });
}

/** An `INVALID_ARGUMENT` error raised by the client before any RPC. */
export function invalidArgument(message: string): PdClientError {
  return new PdClientError(`pd client: ${message}`, {
    status: GrpcStatus.INVALID_ARGUMENT,
    code: "INVALID_ARGUMENT",
    retryable: false,
  });
}

/** The error of every call made on, or pending at, a closed client. */
export function closedError(method: string): PdClientError {
  return new PdClientError(`pd ${method}: client is closed`, {
    status: GrpcStatus.CANCELLED,
    code: "CLOSED",
    retryable: false,
    method,
  });
}

/** The error of a call whose `AbortSignal` fired. */
export function abortedError(method: string, signal: AbortSignal): PdClientError {
  return new PdClientError(`pd ${method}: aborted`, {
    status: GrpcStatus.CANCELLED,
    code: "CANCELLED",
    retryable: false,
    method,
    cause: signal.reason,
  });
}
