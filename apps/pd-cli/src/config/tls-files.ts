import { readFile } from "node:fs/promises";
import type { PdClientTlsOptions } from "@nokv/pd-client";
import type { PdTlsOptions } from "@nokv/pd-server";

// The TLS flags, both sides: `pd-cli pd` (the server's certificate, and a CA
// to require client certificates) and every inspection verb (a CA to check
// PD's certificate, and a client certificate for mutual TLS). The files are
// read, and the rules they share checked, here only. Types only are imported,
// so an inspection verb loads nothing of the server.

/** The PEM file flags both sides take (paths). */
export interface TlsFileFlags {
  readonly cacert?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** PEM contents read from {@link TlsFileFlags}. */
interface TlsFiles {
  readonly caCert?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/**
 * Reads the PEM file a flag names.
 *
 * @throws Error `--flag FILE: no such file` (or the OS's reason).
 */
export async function readPem(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
}

/**
 * The rule both sides share: a certificate is useless without its key and
 * the reverse.
 *
 * @throws Error `--cert and --key go together`.
 */
function checkCertKeyPair(flags: TlsFileFlags): void {
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new Error("--cert and --key go together");
}

/** Reads every PEM flag given. */
async function readTlsFiles(flags: TlsFileFlags): Promise<TlsFiles> {
  const [caCert, cert, key] = await Promise.all([
    flags.cacert === undefined ? undefined : readPem("--cacert", flags.cacert),
    flags.cert === undefined ? undefined : readPem("--cert", flags.cert),
    flags.key === undefined ? undefined : readPem("--key", flags.key),
  ]);
  return { ...(caCert !== undefined && { caCert }), ...(cert !== undefined && { cert }), ...(key !== undefined && { key }) };
}

/**
 * The server's TLS settings from `pd-cli pd`'s flags: none without
 * `--cert`/`--key`; `--cacert` makes TLS mutual; `--cert-allowed-cn`
 * (repeatable, or comma-separated) needs `--cacert`.
 *
 * @throws Error naming the flag that is missing or unreadable.
 */
export async function serverTlsFromFlags(
  flags: TlsFileFlags & { readonly certAllowedCn?: readonly string[] | undefined },
): Promise<PdTlsOptions | undefined> {
  const cns = (flags.certAllowedCn ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  if (flags.cert === undefined && flags.key === undefined) {
    if (flags.cacert !== undefined || cns.length > 0) throw new Error("--cacert and --cert-allowed-cn need --cert and --key");
    return undefined;
  }
  checkCertKeyPair(flags);
  if (cns.length > 0 && flags.cacert === undefined) {
    throw new Error("--cert-allowed-cn needs --cacert (client certificates are only asked for with a CA)");
  }
  const { caCert, cert, key } = await readTlsFiles(flags);
  return { cert: cert!, key: key!, ...(caCert !== undefined && { caCert }), ...(cns.length > 0 && { allowedCNs: cns }) };
}

/**
 * A client's TLS settings from an inspection verb's flags: none without any
 * of them (plaintext); `--cacert` alone checks PD's certificate;
 * `--cert`/`--key` add a client certificate.
 *
 * @throws Error naming the flag that is missing or unreadable.
 */
export async function clientTlsFromFlags(flags: TlsFileFlags): Promise<PdClientTlsOptions | undefined> {
  if (flags.cacert === undefined && flags.cert === undefined && flags.key === undefined) return undefined;
  checkCertKeyPair(flags);
  return readTlsFiles(flags);
}
