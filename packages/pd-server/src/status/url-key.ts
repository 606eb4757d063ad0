// Keys in the status API's URLs: hex with `format=hex`, otherwise the
// percent-decoded bytes themselves.

/**
 * Decodes a key given in a URL: `format=hex` takes hex digits (either case),
 * otherwise the percent-decoded bytes themselves (so `%FF` is the byte 0xff,
 * not UTF-8). Returns undefined for malformed input.
 */
export function keyFromUrl(raw: string, format: string | null): Uint8Array | undefined {
  if (format === "hex") {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(raw)) return undefined;
    return Buffer.from(raw, "hex");
  }
  if (format !== null && format !== "raw") return undefined;
  return percentDecodeBytes(raw);
}

function percentDecodeBytes(s: string): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 3;
    } else {
      const next = s.indexOf("%", i);
      const end = next < 0 ? s.length : next;
      for (const b of Buffer.from(s.slice(i, end), "utf8")) out.push(b);
      i = end;
    }
  }
  return Uint8Array.from(out);
}
