/**
 * A value that {@link writeJson} can serialise. `bigint` is written as its
 * exact decimal digits; object members whose value is `undefined` are
 * omitted (the `omitempty` of Go's encoder).
 */
export type JsonWritable =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonWritable[]
  | { readonly [key: string]: JsonWritable | undefined };

/**
 * Serialises `value` as JSON, writing bigints as plain JSON numbers.
 *
 * Output matches Go's `encoding/json` for the same data: members in
 * insertion order, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\uXXXX`.
 * With `indent` 0 (the default) the output is compact, as `json.Encoder`
 * writes it; otherwise it is pretty-printed like `JSON.stringify(v, null, n)`.
 * No trailing newline.
 *
 * @throws TypeError for a non-finite number.
 */
export function writeJson(value: JsonWritable, indent = 0): string {
  return write(value, indent, "");
}

function write(value: JsonWritable, indent: number, prefix: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as JSON`);
      return String(value);
    case "string":
      return quote(value);
  }
  const inner = indent > 0 ? prefix + " ".repeat(indent) : "";
  const open = indent > 0 ? `\n${inner}` : "";
  const sep = indent > 0 ? `,\n${inner}` : ",";
  const close = indent > 0 ? `\n${prefix}` : "";
  if (isArray(value)) {
    if (value.length === 0) return "[]";
    return `[${open}${value.map((item) => write(item, indent, inner)).join(sep)}${close}]`;
  }
  const colon = indent > 0 ? ": " : ":";
  const members: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined) continue;
    members.push(`${quote(key)}${colon}${write(member, indent, inner)}`);
  }
  if (members.length === 0) return "{}";
  return `{${open}${members.join(sep)}${close}}`;
}

// Array.isArray does not narrow readonly arrays out of a union.
function isArray(value: JsonWritable): value is readonly JsonWritable[] {
  return Array.isArray(value);
}

function quote(text: string): string {
  // JSON.stringify already escapes control characters and lone surrogates;
  // the extra escapes are the ones Go applies so both tools print the same.
  return JSON.stringify(text).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
