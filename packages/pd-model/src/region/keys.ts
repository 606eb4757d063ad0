/**
 * Byte-wise comparison of keys: region boundaries are arbitrary binary
 * strings, ordered like Go's `bytes.Compare`, never as UTF-16 strings.
 * Returns a negative number, zero or a positive number.
 */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True when both keys hold the same bytes. */
export function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A key for messages and logs: printable ASCII as-is in quotes, anything else
 * as `hex:…`; the empty key as `""`.
 */
export function formatKey(key: Uint8Array): string {
  let text = "";
  for (const b of key) {
    if (b < 0x20 || b > 0x7e) return `hex:${toHex(key)}`;
    // One character at a time: spreading a large key into fromCharCode's arguments overflows the stack.
    text += String.fromCharCode(b);
  }
  return JSON.stringify(text);
}

/** Lowercase hex digits of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}
