import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  grpcStatusNameOf,
  isPdErrorCode,
  PD_ERROR_CODE_TRAILER,
  PD_LEADER_ADDR_TRAILER,
  type PdErrorCode,
} from "@nokv/pd-model";

// Both directions of PD's error encoding, in one module shared by the server
// (which encodes) and the client (which decodes): a PD code travels as a
// gRPC status plus the `pd-error-code` trailer, and `NOT_LEADER` names the
// leader in `pd-leader-addr`.

/** The gRPC status a PD code is sent with (see `grpcStatusNameOf` in `@nokv/pd-model`). */
export function grpcStatusOf(code: PdErrorCode): status {
  return status[grpcStatusNameOf(code)];
}

/** What a server returns for a failed call: status, message and the trailers naming the PD code. */
export interface EncodedPdError {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
}

/** Encodes a PD failure for the wire. `leaderAddr` is sent with `NOT_LEADER` only. */
export function encodePdError(code: PdErrorCode, details: string, leaderAddr?: string): EncodedPdError {
  const metadata = new Metadata();
  metadata.set(PD_ERROR_CODE_TRAILER, code);
  if (code === "NOT_LEADER" && leaderAddr !== undefined && leaderAddr !== "") metadata.set(PD_LEADER_ADDR_TRAILER, leaderAddr);
  return { code: grpcStatusOf(code), details, metadata };
}

/** What a client reads back from a failed call. */
export interface DecodedPdError {
  readonly status: status;
  /** The PD code of the trailer, when the server sent one this build knows; else undefined. */
  readonly code: PdErrorCode | undefined;
  /** The leader named on a `NOT_LEADER` failure. */
  readonly leaderAddr: string | undefined;
}

function firstString(md: Metadata | undefined, key: string): string | undefined {
  const value = md?.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.toString("utf8");
}

/**
 * Decodes a failed call. A trailer value this build does not know (a newer
 * PD) reads as no code, so the caller falls back on the status.
 */
export function decodePdError(err: Pick<ServiceError, "code" | "metadata">): DecodedPdError {
  const trailer = firstString(err.metadata, PD_ERROR_CODE_TRAILER);
  const code = isPdErrorCode(trailer) ? trailer : undefined;
  return {
    status: err.code as status,
    code,
    leaderAddr: code === "NOT_LEADER" ? firstString(err.metadata, PD_LEADER_ADDR_TRAILER) : undefined,
  };
}
