import { createHash } from "node:crypto";

// Framing of an append-only file of records:
//   file   := magic(8) record*
//   record := length:u32 headerCheck:u32 payloadCheck:u32 payload
// headerCheck guards the length itself, so a corrupt length is told apart
// from a record cut short by a crash. Checks are the first 4 bytes of SHA-256.

/** Bytes of a record header. */
export const RECORD_HEADER_BYTES = 12;
/**
 * Largest payload of one record. The reader refuses a larger length as
 * corrupt, so every writer checks it before writing (see
 * {@link checkRecordSize}): a record that could not be read back would make
 * the whole file unreadable.
 */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

function check32(...parts: Uint8Array[]): number {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest().readUInt32LE(0);
}

function lengthCheck(len: number): number {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(len, 0);
  return check32(Buffer.from("nokv-pd-len"), b);
}

/** True when a payload of `bytes` fits in one record. */
export function fitsInRecord(bytes: number): boolean {
  return bytes <= MAX_RECORD_BYTES;
}

/**
 * Frames `payload` as one record.
 *
 * @throws RangeError when the payload exceeds {@link MAX_RECORD_BYTES}
 *   (callers check with {@link fitsInRecord} first and answer the request).
 */
export function frameRecord(payload: Uint8Array): Buffer {
  if (!fitsInRecord(payload.length)) {
    throw new RangeError(`record of ${payload.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte record limit`);
  }
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(lengthCheck(payload.length), 4);
  header.writeUInt32LE(check32(payload), 8);
  return Buffer.concat([header, payload]);
}

/**
 * Why the end of a file is taken for a torn write:
 * - `short`: the last record (or its header) runs past the end of the file;
 * - `zeros`: only zero bytes follow the last good record (a crash after the
 *   file grew but before its data reached the disk);
 * - `checksum`: a full-length last record whose payload fails its check. A
 *   crash can leave this (the header reached the disk, part of the payload
 *   did not), but so can corruption; both end the file there.
 */
export type TornReason = "short" | "zeros" | "checksum";

/** Result of scanning a record file. */
export type ScanResult =
  | { readonly kind: "ok"; readonly payloads: Buffer[]; readonly goodBytes: number }
  /** The end of the file is not a whole record: everything before `goodBytes` is intact. */
  | { readonly kind: "torn"; readonly payloads: Buffer[]; readonly goodBytes: number; readonly reason: TornReason }
  /** A record before the end is damaged: the file cannot be trusted past `offset`. */
  | { readonly kind: "corrupt"; readonly offset: number; readonly reason: string };

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Scans the records of `buf` (the whole file, magic included). A damaged
 * record is a torn tail when nothing trustworthy follows it: its length
 * header is intact but the record runs past the end of the file, or its
 * payload fails the check and it ends exactly at the end of the file, or
 * its header is unreadable and only zero bytes follow. Anything else is
 * corruption.
 */
export function scanRecords(buf: Buffer, magic: Buffer): ScanResult {
  if (buf.length < magic.length) {
    return allZero(buf, 0) || magic.subarray(0, buf.length).equals(buf)
      ? { kind: "torn", payloads: [], goodBytes: 0, reason: allZero(buf, 0) ? "zeros" : "short" }
      : { kind: "corrupt", offset: 0, reason: "bad file header" };
  }
  if (!buf.subarray(0, magic.length).equals(magic)) return { kind: "corrupt", offset: 0, reason: "bad file header" };
  const payloads: Buffer[] = [];
  let o = magic.length;
  while (o < buf.length) {
    if (buf.length - o < RECORD_HEADER_BYTES) {
      return { kind: "torn", payloads, goodBytes: o, reason: allZero(buf, o) ? "zeros" : "short" };
    }
    const len = buf.readUInt32LE(o);
    const headerOk = buf.readUInt32LE(o + 4) === lengthCheck(len) && len <= MAX_RECORD_BYTES;
    if (!headerOk) {
      if (allZero(buf, o)) return { kind: "torn", payloads, goodBytes: o, reason: "zeros" };
      return { kind: "corrupt", offset: o, reason: "bad record header" };
    }
    const end = o + RECORD_HEADER_BYTES + len;
    if (end > buf.length) return { kind: "torn", payloads, goodBytes: o, reason: "short" };
    const payload = buf.subarray(o + RECORD_HEADER_BYTES, end);
    if (buf.readUInt32LE(o + 8) !== check32(payload)) {
      if (end === buf.length) return { kind: "torn", payloads, goodBytes: o, reason: allZero(payload, 0) ? "zeros" : "checksum" };
      return { kind: "corrupt", offset: o, reason: "record checksum mismatch" };
    }
    payloads.push(payload);
    o = end;
  }
  return { kind: "ok", payloads, goodBytes: o };
}
