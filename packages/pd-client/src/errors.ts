import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";

/** Trailing-metadata key that carries PD's stable error code. */
export const PD_ERROR_CODE_KEY = "pd-error-code";
/** Trailing-metadata key that names the PD leader on a `NOT_LEADER` error. */
export const PD_LEADER_ADDR_KEY = "pd-leader-addr";

/**
 * The stable error codes PD puts in the `pd-error-code` trailing metadata.
 */
export const PD_SERVER_ERROR_CODES = [
  "INVALID_ARGUMENT",
  "STALE_EPOCH",
  "RANGE_OVERLAP",
  "ALLOCATOR_EXHAUSTED",
  "STORAGE",
  "NOT_LEADER",
  "UNAVAILABLE",
  "INTERNAL",
] as const;

/** One of {@link PD_SERVER_ERROR_CODES}. */
export type PdServerErrorCode = (typeof PD_SERVER_ERROR_CODES)[number];

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

const serverCodes: ReadonlySet<string> = new Set(PD_SERVER_ERROR_CODES);

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
    default:
      return "INTERNAL";
  }
}

function firstString(err: ServiceError, key: string): string | undefined {
  const values = err.metadata?.get(key);
  const value = values?.[0];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.toString("utf8");
}

/**
 * Maps a grpc-js error of one attempt to a {@link PdClientError}, reading the
 * `pd-error-code` and `pd-leader-addr` trailers. An unknown trailer value (a
 * newer PD) falls back to the code derived from the status.
 */
export function fromServiceError(err: ServiceError, method: string, endpoint: string): PdClientError {
  const status = err.code as GrpcStatus;
  const trailer = firstString(err, PD_ERROR_CODE_KEY);
  const code: PdErrorCode =
    trailer !== undefined && serverCodes.has(trailer) ? (trailer as PdServerErrorCode) : codeFromStatus(status);
  const leaderAddr = code === "NOT_LEADER" ? firstString(err, PD_LEADER_ADDR_KEY) : undefined;
  const statusName = GrpcStatus[status] ?? String(status);
  const details = err.details ? `: ${err.details}` : "";
  return new PdClientError(`pd ${method} at ${endpoint} failed with ${statusName} (${code})${details}`, {
    status,
    code,
    retryable: isRetryableStatus(status),
    method,
    endpoint,
    leaderAddr,
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
