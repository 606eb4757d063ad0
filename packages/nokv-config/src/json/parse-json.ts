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

/** A parsed JSON object; duplicate keys keep the last value, like `JSON.parse`. */
export type JsonObject = ReadonlyMap<string, JsonValue>;

/** Any parsed JSON value, with numbers as {@link JsonNumber}. */
export type JsonValue = null | boolean | string | JsonNumber | readonly JsonValue[] | JsonObject;

/** Thrown by {@link parseJson} for input that is not RFC 8259 JSON. */
export class JsonSyntaxError extends Error {
  /**
   * @param problem - what was wrong, e.g. `unexpected character '}'`.
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
// input from overflowing the stack.
const MAX_DEPTH = 256;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Parses RFC 8259 JSON text, keeping numbers as their source digits.
 *
 * A leading byte-order mark is ignored. Objects become `Map`s, so keys such
 * as `__proto__` are plain data.
 *
 * @throws {@link JsonSyntaxError} with the line and column of the problem.
 */
export function parseJson(text: string): JsonValue {
  const parser = new Parser(text);
  return parser.document();
}

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  document(): JsonValue {
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.describeHere()} after the top-level value`);
    return value;
  }

  private value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object(depth);
      case "[":
        return this.array(depth);
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
        return this.fail(`unexpected ${this.describeHere()}`);
    }
  }

  private object(depth: number): JsonObject {
    const out = new Map<string, JsonValue>();
    this.pos++; // '{'
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') this.fail(`expected a string key, got ${this.describeHere()}`);
      const key = this.string();
      this.skipWhitespace();
      this.expect(":");
      this.skipWhitespace();
      out.set(key, this.value(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ",") {
        this.pos++;
        this.skipWhitespace();
        continue;
      }
      if (c === "}") {
        this.pos++;
        return out;
      }
      this.fail(`expected ',' or '}', got ${this.describeHere()}`);
    }
  }

  private array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.pos++; // '['
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ",") {
        this.pos++;
        this.skipWhitespace();
        continue;
      }
      if (c === "]") {
        this.pos++;
        return out;
      }
      this.fail(`expected ',' or ']', got ${this.describeHere()}`);
    }
  }

  private string(): string {
    this.pos++; // opening quote
    let out = "";
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= this.text.length) this.fail("unterminated string");
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += this.text.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (c === 0x5c) {
        out += this.text.slice(chunkStart, this.pos);
        this.pos++;
        out += this.escape();
        chunkStart = this.pos;
        continue;
      }
      if (c < 0x20) this.fail("unescaped control character in string");
      this.pos++;
    }
  }

  private escape(): string {
    const c = this.text[this.pos];
    this.pos++;
    switch (c) {
      case '"':
        return '"';
      case "\\":
        return "\\";
      case "/":
        return "/";
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "u": {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape");
        this.pos += 4;
        // Surrogate pairs arrive as two escapes; concatenating the two code
        // units rebuilds the code point.
        return String.fromCharCode(Number.parseInt(hex, 16));
      }
      default:
        this.pos--;
        return this.fail(`invalid escape ${c === undefined ? "at end of input" : `'\\${c}'`}`);
    }
  }

  private number(): JsonNumber {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail(`invalid number`);
    this.pos += match[0].length;
    return new JsonNumber(match[0]);
  }

  private literal<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    return this.fail(`unexpected ${this.describeHere()}`);
  }

  private expect(c: string): void {
    if (this.text[this.pos] !== c) this.fail(`expected '${c}', got ${this.describeHere()}`);
    this.pos++;
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else return;
    }
  }

  private describeHere(): string {
    const c = this.text[this.pos];
    if (c === undefined) return "end of input";
    return `character ${JSON.stringify(c)}`;
  }

  private fail(problem: string): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < this.pos && i < this.text.length; i++) {
      if (this.text[i] === "\n") {
        line++;
        lineStart = i + 1;
      }
    }
    throw new JsonSyntaxError(problem, line, this.pos - lineStart + 1);
  }
}
