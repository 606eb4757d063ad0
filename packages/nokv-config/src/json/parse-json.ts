import { parse } from "lossless-json";

/**
 * A JSON number kept as its exact source text.
 *
 * `JSON.parse` turns every number into a float64, which silently corrupts
 * uint64 ids above 2^53. Keeping the digits lets the caller convert them
 * with `BigInt` and reject anything that is not an integer.
 */
export class JsonNumber {
  /** @param text - the number exactly as written in the document. */
  constructor(readonly text: string) {}
}

/**
 * A parsed JSON object. A key may repeat only with a deep-equal value (see
 * {@link parseJson}). Members are in document order, except that
 * integer-like keys (`"0"`, `"42"`) come first in ascending order, as in a
 * JavaScript object.
 */
export type JsonObject = ReadonlyMap<string, JsonValue>;

/** Any parsed JSON value, with numbers as {@link JsonNumber}. */
export type JsonValue = null | boolean | string | JsonNumber | readonly JsonValue[] | JsonObject;

/**
 * Thrown by {@link parseJson} for input that is not RFC 8259 JSON, nests
 * too deeply, or repeats an object key with a different value.
 */
export class JsonSyntaxError extends Error {
  /**
   * @param problem - what was wrong, e.g. `unexpected character "}"`.
   * @param line - 1-based line of the offending character.
   * @param column - 1-based column (UTF-16 code units) of it.
   */
  constructor(
    readonly problem: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`invalid JSON at line ${line} column ${column}: ${problem}`);
    this.name = "JsonSyntaxError";
  }
}

// Nesting deeper than this is not a config file; refusing it keeps a hostile
// input from overflowing the stack (lossless-json recurses once per level).
const MAX_DEPTH = 256;

/**
 * Parses RFC 8259 JSON text with `lossless-json`, keeping numbers as their
 * source digits.
 *
 * A leading byte-order mark is ignored. Objects become `Map`s, so keys such
 * as `__proto__` are plain data. At most 256 arrays and objects may nest.
 *
 * A key repeated in one object is accepted only when both values are
 * deep-equal; otherwise the document is rejected at the second occurrence.
 * Go's `encoding/json` does not simply keep the last value (a repeated
 * object or array is decoded over the first, merging their fields), so
 * picking either value could silently disagree with what NoKV reads, and a
 * repeated key in a config file is almost always a mistake.
 *
 * @throws {@link JsonSyntaxError} with the line and column of the problem.
 */
export function parseJson(text: string): JsonValue {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const body = text.slice(bom);
  const fail = (at: number, problem: string): never => {
    throw new JsonSyntaxError(problem, ...lineAndColumn(text, bom + at));
  };
  // Parse only up to a bracket nesting too deep, so lossless-json never
  // recurses past the limit; a syntax error before that bracket still wins.
  const tooDeepAt = bracketsOpenAt(body, body.length).tooDeepAt;
  let raw: unknown;
  try {
    raw = parse(tooDeepAt === undefined ? body : body.slice(0, tooDeepAt), null, {
      parseNumber: (digits) => new JsonNumber(digits),
      onDuplicateKey: ({ key, position }) => {
        // `position` is one past the key's opening quote.
        throw new SyntaxError(`duplicate key ${JSON.stringify(key)} with a different value at position ${position - 1}`);
      },
    });
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const { at, problem } = explain(body, err.message);
    if (tooDeepAt === undefined || at < tooDeepAt) fail(at, problem);
  }
  if (tooDeepAt !== undefined) fail(tooDeepAt, `nesting deeper than ${MAX_DEPTH} levels`);
  return toTree(raw);
}

/** Turns lossless-json's plain objects into `Map`s. */
function toTree(value: unknown): JsonValue {
  if (Array.isArray(value)) return value.map(toTree);
  if (typeof value === "object" && value !== null && !(value instanceof JsonNumber)) {
    return new Map(Object.entries(value).map(([key, member]) => [key, toTree(member)]));
  }
  return value as JsonValue;
}

/**
 * The brackets open (outside strings) just before `end`, innermost last;
 * stops at the first one nesting deeper than `MAX_DEPTH`.
 */
function bracketsOpenAt(text: string, end: number): { open: string[]; tooDeepAt?: number } {
  const open: string[] = [];
  let inString = false;
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "[" || c === "{") {
      open.push(c);
      if (open.length > MAX_DEPTH) return { open, tooDeepAt: i };
    } else if (c === "]" || c === "}") {
      open.pop();
    }
  }
  return { open };
}

/**
 * Rewords a lossless-json error message (`... at position N`, N a 0-based
 * index) as a problem and the index of the offending character.
 */
function explain(text: string, message: string): { at: number; problem: string } {
  const position = /\s*at position (\d+)$/.exec(message);
  const at = position === null ? 0 : Number(position[1]);
  const here = text[at] === undefined ? "end of input" : `character ${JSON.stringify(text[at])}`;
  // lossless-json reports a container cut short by the end of input as
  // "... or end of array/object expected", whether or not it has a member yet.
  let before = at - 1;
  while (before >= 0 && " \t\n\r".includes(text.charAt(before))) before--;
  const afterMember = before >= 0 && !"[{".includes(text.charAt(before));
  if (message.startsWith("Comma ',' expected") || (/ or end of (array|object)/.test(message) && afterMember)) {
    const close = bracketsOpenAt(text, at).open.at(-1) === "{" ? "}" : "]";
    return { at, problem: `expected ',' or '${close}', got ${here}` };
  }
  if (/^(JSON value|Array item|Object value) expected|^Array item or end of/.test(message)) {
    return { at, problem: `unexpected ${here}` };
  }
  if (message.startsWith("Quoted object key")) return { at, problem: `expected a string key, got ${here}` };
  if (message.startsWith("Colon ':' expected")) return { at, problem: `expected ':', got ${here}` };
  if (message.startsWith("Expected end of input")) return { at, problem: `unexpected ${here} after the top-level value` };
  const number = /^Invalid number '([^']*)'/.exec(message);
  if (number !== null) {
    const digits = number[1] ?? "";
    return { at: at - digits.length, problem: `invalid number '${digits}'` };
  }
  if (message.startsWith("End of string")) return { at, problem: "unterminated string" };
  if (message.startsWith("Invalid character")) return { at, problem: "unescaped control character in string" };
  if (message.startsWith("Invalid escape character")) {
    const c = text[at + 1];
    return { at: at + 1, problem: `invalid escape ${c === undefined ? "at end of input" : `'\\${c}'`}` };
  }
  if (message.startsWith("Invalid unicode character")) return { at: at + 2, problem: "invalid \\u escape" };
  return { at, problem: position === null ? message : message.slice(0, position.index) };
}

function lineAndColumn(text: string, at: number): [line: number, column: number] {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return [line, at - lineStart + 1];
}
