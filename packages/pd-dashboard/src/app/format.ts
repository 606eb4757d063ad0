// Formatting for people. uint64 values arrive as decimal strings and stay
// BigInt; they become a Number only where a value is drawn (a pixel cannot
// tell 2^53 from 2^53 + 1) and never where it is printed.

/** Splits a PD timestamp into its wall-clock milliseconds and its logical counter (pd-model's layout). */
export { decodeTimestamp as decodeTso } from "@nokv/pd-model";

/** Parses a decimal uint64 string exactly; 0n for anything else. */
export function u64(s: string | null | undefined): bigint {
  return s !== null && s !== undefined && /^[0-9]{1,20}$/.test(s) ? BigInt(s) : 0n;
}

/** `2026-11-30 10:46:20.123` in the viewer's time zone, from Unix ms. */
export function formatWallMs(ms: bigint | number): string {
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return "—";
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** `3d 4h`, `5m 12s`, `800 ms`. */
export function formatDuration(ms: number): string {
  if (!(ms >= 0)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** `1.5 GiB` from a byte count, exact in BigInt until the last division. */
export function formatBytes(bytes: bigint): string {
  let unit = 0;
  let whole = bytes;
  while (whole >= 1024n * 1024n && unit < UNITS.length - 2) {
    whole /= 1024n;
    unit++;
  }
  if (whole >= 1024n) return `${(Number(whole) / 1024).toFixed(1)} ${UNITS[unit + 1]}`;
  return `${whole} ${UNITS[unit]}`;
}

/** A compact number for axis and rate labels: `1.2k`, `3.4M`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "—";
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (a >= 100 || n === Math.round(n)) return String(Math.round(n));
  return n.toFixed(a >= 10 ? 1 : 2);
}

/** The bytes of an upper-case hex key. */
export function hexBytes(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

/**
 * A key for people: the text itself when every byte is printable ASCII,
 * else hex (`0x…`); `""` for the empty key and `+inf` for an empty end.
 */
export function formatKey(hex: string, isEnd = false): string {
  if (hex === "") return isEnd ? "+inf" : '""';
  const bytes = hexBytes(hex);
  if (bytes.every((b) => b >= 0x20 && b < 0x7f)) return JSON.stringify(String.fromCharCode(...bytes));
  return `0x${hex}`;
}

/** `[start, end)` for people. */
export function formatRange(startHex: string, endHex: string): string {
  return `[${formatKey(startHex)}, ${formatKey(endHex, true)})`;
}
