/** Regions cover positions in [0, 2^64); a position is the key of its 8 big-endian bytes. */
export const KEY_SPACE = 1n << 64n;

/** The key of a position: 8 big-endian bytes; position 0 is the empty (first) key. */
export function keyAt(pos: bigint): Uint8Array {
  if (pos === 0n) return new Uint8Array();
  const b = new Uint8Array(8);
  let v = pos;
  for (let i = 7; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

/** The end key of a range ending at `end` (undefined: +infinity, the empty key). */
export function endKeyAt(end: bigint | undefined): Uint8Array {
  return end === undefined ? new Uint8Array() : keyAt(end);
}
