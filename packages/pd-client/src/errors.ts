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
 * derives or produces itself:
 *
 * - `DEADLINE_EXCEEDED`: the call's deadline passed.
 * - `CANCELLED`: the call's `AbortSignal` fired.
 * - `CLOSED`: the client was closed.
 * - `RESOURCE_EXHAUSTED`: a message above a size limit (PD's or grpc-js's),
 *   or too many timestamp requests pending in this client.
 * - `UNIMPLEMENTED`: the endpoint does not serve this RPC (not a PD, or an
 *   older one).
 * - `UNAUTHENTICATED`: the TLS handshake or credentials were refused.
 * - `ABORTED`: the call was aborted on the way (a proxy); sending it again may succeed.
 * - `TIMESTAMP_FALLBACK`: PD answered a timestamp at or below one this
 *   client had already handed out (a PD restored from an older state); the
 *   client refuses it rather than let ids repeat.
 */
export type PdErrorCode =
  | PdServerErrorCode
  | "DEADLINE_EXCEEDED"
  | "CANCELLED"
  | "CLOSED"
  | "RESOURCE_EXHAUSTED"
  | "UNIMPLEMENTED"
  | "UNAUTHENTICATED"
  | "ABORTED"
  | "TIMESTAMP_FALLBACK";

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
 *   (`DEADLINE_EXCEEDED`, `CANCELLED`, `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`).
 * - `code`: PD's stable code from the `pd-error-code` trailer, or, when the
 *   trailer is absent (a proxy, an older PD, a transport failure), derived
 *   from `status` by one table (see the README). Match on `code`, never on
 *   the message.
 * - `retryable`: sending the same request again later may succeed
 *   (`UNAVAILABLE`, `NOT_LEADER`, `DEADLINE_EXCEEDED`, `ABORTED`, and a full
 *   local queue). Never set for `INVALID_ARGUMENT`, `FAILED_PRECONDITION` or
 *   `OUT_OF_RANGE`.
 * - `cause`: the underlying grpc-js `ServiceError`, or the signal's reason
 *   for `CANCELLED`.
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

/**
 * The code derived from each gRPC status when PD sent no `pd-error-code`
 * (a proxy answered, an older PD, or the transport failed). A `Record` over
 * every status: one added to grpc-js fails to compile until it is mapped.
 */
const CODE_OF_STATUS: Record<GrpcStatus, PdErrorCode> = {
  // A failed call never carries OK: whatever sent it is broken.
  [GrpcStatus.OK]: "INTERNAL",
  // This client's own cancellations never get here (an abort is CANCELLED,
  // close() is CLOSED): the server or a proxy dropped the call, as when a
  // PD stops. Another attempt may well succeed.
  [GrpcStatus.CANCELLED]: "UNAVAILABLE",
  [GrpcStatus.UNKNOWN]: "INTERNAL",
  [GrpcStatus.INVALID_ARGUMENT]: "INVALID_ARGUMENT",
  [GrpcStatus.DEADLINE_EXCEEDED]: "DEADLINE_EXCEEDED",
  // No such service or method at that address: it is not a PD (a proxy
  // with no route says NOT_FOUND where a server says UNIMPLEMENTED).
  [GrpcStatus.NOT_FOUND]: "UNIMPLEMENTED",
  [GrpcStatus.ALREADY_EXISTS]: "INTERNAL",
  [GrpcStatus.PERMISSION_DENIED]: "PERMISSION_DENIED",
  // PD uses it for a message above --max-message-bytes (grpc-js for one
  // above the client's limit): the same request fails the same way again.
  [GrpcStatus.RESOURCE_EXHAUSTED]: "RESOURCE_EXHAUSTED",
  // PD sends FAILED_PRECONDITION for STALE_EPOCH and RANGE_OVERLAP: both say
  // "your view of the region is stale"; without the trailer the first is the
  // best guess.
  [GrpcStatus.FAILED_PRECONDITION]: "STALE_EPOCH",
  [GrpcStatus.ABORTED]: "ABORTED",
  [GrpcStatus.OUT_OF_RANGE]: "ALLOCATOR_EXHAUSTED",
  [GrpcStatus.UNIMPLEMENTED]: "UNIMPLEMENTED",
  [GrpcStatus.INTERNAL]: "INTERNAL",
  [GrpcStatus.UNAVAILABLE]: "UNAVAILABLE",
  [GrpcStatus.DATA_LOSS]: "INTERNAL",
  [GrpcStatus.UNAUTHENTICATED]: "UNAUTHENTICATED",
};

/**
 * Codes whose request may succeed when sent again: the leader moved or is
 * being elected, PD is stopping, the attempt ran out of time, or a proxy
 * aborted it. Everything else would fail the same way again.
 */
const RETRYABLE_CODES: ReadonlySet<PdErrorCode> = new Set<PdErrorCode>(["NOT_LEADER", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED"]);

/** Statuses worth retrying when PD sent no code: UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED (and CANCELLED by the server). */
export function isRetryableStatus(status: GrpcStatus): boolean {
  return status !== GrpcStatus.CANCELLED && RETRYABLE_CODES.has(codeFromStatus(status));
}

/** The PD code for a status when the server sent no `pd-error-code`. */
export function codeFromStatus(status: GrpcStatus): PdErrorCode {
  return CODE_OF_STATUS[status] ?? "INTERNAL";
}

/** Whether an error with this code may succeed when sent again. */
export function isRetryableCode(code: PdErrorCode): boolean {
  return RETRYABLE_CODES.has(code);
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
    retryable: isRetryableCode(code),
    method,
    endpoint,
    leaderAddr: decoded.leaderAddr,
    cause: err,
  });
}

/** Whether `err` is a grpc-js `ServiceError` (a status, details and metadata). */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number" && "metadata" in err;
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

/** The error of a call whose `AbortSignal` fired: `cause` is the signal's reason. */
export function abortedError(method: string, signal: AbortSignal): PdClientError {
  return new PdClientError(`pd ${method}: aborted`, {
    status: GrpcStatus.CANCELLED,
    code: "CANCELLED",
    retryable: false,
    method,
    cause: signal.reason,
  });
}

/** A malformed answer: PD broke the contract (never retried). */
export function protocolError(method: string, message: string, endpoint?: string): PdClientError {
  return new PdClientError(`pd ${method}: ${message}`, {
    status: GrpcStatus.INTERNAL,
    code: "INTERNAL",
    retryable: false,
    method,
    endpoint,
  });
}
