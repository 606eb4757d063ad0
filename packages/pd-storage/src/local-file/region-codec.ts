import { PdError, type RegionEdit } from "@nokv/pd-core";
import { type Region } from "@nokv/pd-model";

// Binary encoding of region edits, little-endian:
//   edit   := kind:u8 (1 = put, 2 = delete) body
//   put    := id:u64 version:u64 confVersion:u64 startLen:u32 start endLen:u32 end peerCount:u32 (storeId:u64 peerId:u64)*
//   delete := id:u64
//   batch  := count:u32 edit*
// Every uint64 is written as 64 bits: no value passes through a JS number.

const PUT = 1;
const DELETE = 2;

/** Bytes one edit takes in a payload written by {@link encodeEdits} (a batch adds 4). */
export function editBytes(e: RegionEdit): number {
  if (e.kind === "delete") return 1 + 8;
  const r = e.region;
  return 1 + 24 + 4 + r.startKey.length + 4 + r.endKey.length + 4 + 16 * r.peers.length;
}

/** Encodes a batch of edits as one payload. */
export function encodeEdits(edits: readonly RegionEdit[]): Buffer {
  let size = 4;
  for (const e of edits) size += editBytes(e);
  const buf = Buffer.allocUnsafe(size);
  let o = buf.writeUInt32LE(edits.length, 0);
  for (const e of edits) {
    if (e.kind === "delete") {
      o = buf.writeUInt8(DELETE, o);
      o = buf.writeBigUInt64LE(e.regionId, o);
      continue;
    }
    const r = e.region;
    o = buf.writeUInt8(PUT, o);
    o = buf.writeBigUInt64LE(r.id, o);
    o = buf.writeBigUInt64LE(r.epoch.version, o);
    o = buf.writeBigUInt64LE(r.epoch.confVersion, o);
    o = buf.writeUInt32LE(r.startKey.length, o);
    buf.set(r.startKey, o);
    o += r.startKey.length;
    o = buf.writeUInt32LE(r.endKey.length, o);
    buf.set(r.endKey, o);
    o += r.endKey.length;
    o = buf.writeUInt32LE(r.peers.length, o);
    for (const p of r.peers) {
      o = buf.writeBigUInt64LE(p.storeId, o);
      o = buf.writeBigUInt64LE(p.peerId, o);
    }
  }
  return buf;
}

/**
 * Decodes a payload written by {@link encodeEdits}.
 *
 * @throws PdError `STORAGE` when the payload is malformed.
 */
export function decodeEdits(buf: Buffer, where: string): RegionEdit[] {
  try {
    let o = 0;
    const count = buf.readUInt32LE(o);
    o += 4;
    const out: RegionEdit[] = [];
    for (let i = 0; i < count; i++) {
      const kind = buf.readUInt8(o);
      o += 1;
      if (kind === DELETE) {
        out.push({ kind: "delete", regionId: buf.readBigUInt64LE(o) });
        o += 8;
        continue;
      }
      if (kind !== PUT) throw new Error(`unknown edit kind ${kind}`);
      const id = buf.readBigUInt64LE(o);
      const version = buf.readBigUInt64LE(o + 8);
      const confVersion = buf.readBigUInt64LE(o + 16);
      o += 24;
      const startLen = buf.readUInt32LE(o);
      o += 4;
      if (o + startLen > buf.length) throw new Error("start key runs past the record");
      const startKey = new Uint8Array(buf.subarray(o, o + startLen));
      o += startLen;
      const endLen = buf.readUInt32LE(o);
      o += 4;
      if (o + endLen > buf.length) throw new Error("end key runs past the record");
      const endKey = new Uint8Array(buf.subarray(o, o + endLen));
      o += endLen;
      const peerCount = buf.readUInt32LE(o);
      o += 4;
      if (o + peerCount * 16 > buf.length) throw new Error("peers run past the record");
      const peers = [];
      for (let j = 0; j < peerCount; j++) {
        peers.push({ storeId: buf.readBigUInt64LE(o), peerId: buf.readBigUInt64LE(o + 8) });
        o += 16;
      }
      const region: Region = { id, startKey, endKey, epoch: { version, confVersion }, peers };
      out.push({ kind: "put", region });
    }
    if (o !== buf.length) throw new Error(`${buf.length - o} trailing byte(s)`);
    return out;
  } catch (err) {
    if (err instanceof PdError) throw err;
    throw new PdError("STORAGE", `${where}: malformed record: ${(err as Error).message}`, { cause: err });
  }
}
