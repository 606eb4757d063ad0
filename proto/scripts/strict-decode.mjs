#!/usr/bin/env node
// Makes ts-proto's generated decoders decode as the protobuf spec (and Go's
// server) does. ts-proto 2.18 has no option for either rule:
//
// 1. A singular message field that occurs more than once is merged, as if by
//    MergeFrom: later scalars win, repeated fields append, sub-messages merge.
//    ts-proto replaces the earlier copy. Fix: every `decode` takes an optional
//    message to decode into, and a singular message field passes its current
//    value, which gives exactly the merge semantics, recursively.
// 2. A field number 0 (tag 0 included), an unexpected end-group tag, an end-group tag closing
//    another field's group, or a field running past the end of its
//    sub-message is invalid wire-format data. ts-proto silently stops (or
//    reads on) instead. Fix: throw; grpc-js answers a request whose
//    deserializer throws with INTERNAL, as Go's server does.
//
// Usage: `node scripts/strict-decode.mjs DIR` rewrites every *.ts in DIR
// (the generate script runs it right after `buf generate`);
// `node scripts/strict-decode.mjs --check DIR` only verifies that DIR is
// rewritten (scripts/check-generated.sh). Either fails loudly when the
// generated code does not have the expected shape (a ts-proto upgrade):
// a rule must never be skipped silently.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const MARKER = "// post-processed by scripts/strict-decode.mjs: decode merges repeated message fields and refuses malformed tags";

const DECODE_SIGNATURE = /decode\(input: BinaryReader \| Uint8Array, length\?: number\): (\w+)( \{|;)/g;
const LAX_TAG_CHECK = /if \(\(tag & 7\) === 4 \|\| tag === 0\) \{\s*break;\s*\}\s*reader\.skip\(tag & 7\);(\s*)\}(\s*)return message;/g;
const SINGULAR_MESSAGE = /message\.(\w+) = (\w+)\.decode\(reader, reader\.uint32\(\)\);/g;

function fail(file, what) {
  console.error(`strict-decode: ${file}: ${what}; the generated code changed shape, update scripts/strict-decode.mjs`);
  process.exit(1);
}

/** Returns the rewritten text of one generated file. */
function rewrite(file, text) {
  if (text.includes(MARKER)) fail(file, "already post-processed");
  const decoders = [...text.matchAll(DECODE_SIGNATURE)].filter((m) => m[2] === " {").length;
  const interfaces = [...text.matchAll(DECODE_SIGNATURE)].filter((m) => m[2] === ";").length;
  if (decoders === 0) return text;
  if (interfaces !== 1) fail(file, `expected one MessageFns.decode declaration, found ${interfaces}`);

  let out = text.replace(/(\/\/ source: [^\n]*\n)/, `$1${MARKER}\n`);
  if (!out.includes(MARKER)) fail(file, "no '// source:' header line");

  // Each decoder, and the MessageFns<T> interface they implement (its type is `T`).
  out = out.replace(DECODE_SIGNATURE, (_m, type, end) => `decode(input: BinaryReader | Uint8Array, length?: number, into?: ${type}): ${type}${end}`);

  // In each decoder (and only there: fromPartial builds its message the same way) start from `into`.
  let seeded = 0;
  out = out.replace(
    /(decode\(input: BinaryReader \| Uint8Array, length\?: number, into\?: (\w+)\): \w+ \{[\s\S]*?)const message = createBase(\w+)\(\);/g,
    (_m, head, type, base) => {
      if (type !== base) fail(file, `decoder of ${type} creates a ${base}`);
      seeded++;
      return `${head}const message = into ?? createBase${base}();`;
    },
  );
  if (seeded !== decoders) fail(file, `seeded ${seeded} of ${decoders} decoders`);

  let strict = 0;
  out = out.replace(LAX_TAG_CHECK, (_m, ws1, ws2) => {
    strict++;
    return (
      // Field number 0 is invalid whatever its wire type (ts-proto only catches the zero byte).
      `if (tag >>> 3 === 0 || (tag & 7) === 4) {\n` +
      `          throw new globalThis.Error(\n` +
      `            tag >>> 3 === 0 ? "invalid wire-format data: field number 0" : "invalid wire-format data: unexpected end-group tag",\n` +
      `          );\n` +
      `        }\n` +
      `        reader.skip(tag & 7, tag >>> 3);${ws1}}\n` +
      `      if (reader.pos !== end) {\n` +
      `        throw new globalThis.Error("invalid wire-format data: a field runs past the end of its message");\n` +
      `      }${ws2}return message;`
    );
  });
  if (strict !== decoders) fail(file, `made ${strict} of ${decoders} tag loops strict`);

  out = out.replace(SINGULAR_MESSAGE, (_m, field, type) => `message.${field} = ${type}.decode(reader, reader.uint32(), message.${field});`);
  return out;
}

/** Throws unless `text` is what {@link rewrite} produces. */
function check(file, text) {
  const decoders = [...text.matchAll(/decode\(input: BinaryReader \| Uint8Array, length\?: number, into\?: (\w+)\): \w+ \{/g)].length;
  const lax = [...text.matchAll(DECODE_SIGNATURE)].length;
  if (decoders === 0 && lax === 0) return;
  const problems = [];
  if (!text.includes(MARKER)) problems.push("marker line missing");
  if (lax > 0) problems.push(`${lax} decode signature(s) without 'into'`);
  if ([...text.matchAll(/const message = into \?\? createBase\w+\(\);/g)].length !== decoders) problems.push("a decoder ignores 'into'");
  if ([...text.matchAll(/reader\.skip\(tag & 7, tag >>> 3\);/g)].length !== decoders) problems.push("a tag loop is not strict");
  if ([...text.matchAll(/if \(reader\.pos !== end\) \{/g)].length !== decoders) problems.push("a decoder lacks the length check");
  if ([...text.matchAll(SINGULAR_MESSAGE)].length > 0) problems.push("a singular message field replaces instead of merging");
  if (problems.length > 0) fail(file, `not post-processed (${problems.join(", ")}); run 'pnpm generate'`);
}

const args = process.argv.slice(2);
const checkOnly = args[0] === "--check";
const dir = checkOnly ? args[1] : args[0];
if (dir === undefined) {
  console.error("usage: strict-decode.mjs [--check] DIR");
  process.exit(2);
}
const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
if (files.length === 0) fail(dir, "no generated .ts files");
for (const name of files) {
  const file = join(dir, name);
  const text = readFileSync(file, "utf8");
  if (checkOnly) check(file, text);
  else writeFileSync(file, rewrite(file, text));
}
