import { isIP } from "node:net";
import { ServerCredentials, type ServiceError } from "@grpc/grpc-js";
import { encodePdError } from "@nokv/pd-proto";
import type { CallerInfo } from "../service/instrument.js";

/**
 * TLS for the gRPC port and the status port (`--cert`, `--key`, `--cacert`,
 * `--cert-allowed-cn`). PEM contents, not paths.
 */
export interface PdTlsOptions {
  /** The server's certificate chain (PEM). */
  readonly cert: Buffer | string;
  /** The server's private key (PEM). */
  readonly key: Buffer | string;
  /**
   * CA bundle (PEM). When given, TLS is mutual: every client must present a
   * certificate that chains to it, or the handshake fails.
   */
  readonly caCert?: Buffer | string;
  /**
   * Client certificate common names allowed to call (TiKV's `cert-allowed-cn`);
   * empty or absent: any certificate the CA signed. Needs `caCert`. A
   * refused call fails with `PERMISSION_DENIED` (HTTP 403 on the status port).
   */
  readonly allowedCNs?: readonly string[];
}

const asBuffer = (v: Buffer | string): Buffer => (typeof v === "string" ? Buffer.from(v) : v);

/**
 * Checks TLS options for consistency.
 *
 * @throws Error when `allowedCNs` is given without `caCert` (no client
 *   certificate would be asked for, so no CN could be checked).
 */
export function checkTlsOptions(tls: PdTlsOptions): void {
  if (tls.allowedCNs !== undefined && tls.allowedCNs.length > 0 && tls.caCert === undefined) {
    throw new Error("allowed client certificate CNs need a CA (--cacert): without one no client certificate is requested");
  }
}

/** gRPC server credentials: insecure without TLS options; with `caCert`, client certificates are required. */
export function serverCredentials(tls: PdTlsOptions | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  checkTlsOptions(tls);
  return ServerCredentials.createSsl(
    tls.caCert === undefined ? null : asBuffer(tls.caCert),
    [{ cert_chain: asBuffer(tls.cert), private_key: asBuffer(tls.key) }],
    tls.caCert !== undefined,
  );
}

/**
 * The per-call check of `--cert-allowed-cn`: refuses a call whose verified
 * client certificate has a CN outside the list. gRPC checks the chain in the
 * handshake; grpc-js exposes no per-connection hook, so the CN is read per
 * call (only when a list is configured).
 */
export function certificateAuthorizer(allowedCNs: readonly string[] | undefined):
  | ((call: CallerInfo) => Partial<ServiceError> | undefined)
  | undefined {
  if (allowedCNs === undefined || allowedCNs.length === 0) return undefined;
  const allowed = new Set(allowedCNs);
  return (call) => {
    const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
    if (typeof cn === "string" && allowed.has(cn)) return undefined;
    return encodePdError("PERMISSION_DENIED", `client certificate CN ${JSON.stringify(cn ?? "")} is not allowed`);
  };
}

/** True for `localhost` and loopback IPs (127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./i.test(h);
  return false;
}
