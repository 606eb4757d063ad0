import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonNumber, JsonSyntaxError, parseJson, type JsonValue } from "./parse-json.js";

// Converts the lossless tree to what JSON.parse would have produced.
function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return Number(value.text);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseJson", () => {
  it("keeps number digits exactly, beyond 2^53", () => {
    const tree = parseJson('{"id": 18446744073709551615, "small": 9007199254740993}');
    expect(tree).toBeInstanceOf(Map);
    const obj = tree as ReadonlyMap<string, JsonValue>;
    expect(obj.get("id")).toEqual(new JsonNumber("18446744073709551615"));
    expect(obj.get("small")).toEqual(new JsonNumber("9007199254740993"));
  });

  it("keeps fractions and exponents as written so callers can reject them", () => {
    expect(parseJson("[1.50, -2e+3, 0]")).toEqual([new JsonNumber("1.50"), new JsonNumber("-2e+3"), new JsonNumber("0")]);
  });

  it("decodes string escapes, including surrogate pairs", () => {
    expect(parseJson(String.raw`"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"`)).toBe('a"b\\c/d\b\f\n\r\t\u00e9\u{1f600}');
  });

  it("treats __proto__ as an ordinary key", () => {
    const tree = parseJson('{"__proto__": 1}') as ReadonlyMap<string, JsonValue>;
    expect([...tree.keys()]).toEqual(["__proto__"]);
  });

  it("rejects a key repeated with a different value, accepts an identical repeat", () => {
    const err = syntaxError('{"a": 1, "a": 2}');
    expect([err.line, err.column]).toEqual([1, 10]);
    expect(err.message).toContain('duplicate key "a" with a different value');
    expect(toPlain(parseJson('{"a": [1], "a": [1]}'))).toEqual({ a: [1] });
  });

  it("ignores a leading byte-order mark", () => {
    expect(parseJson("\ufeff[true,false,null]")).toEqual([true, false, null]);
  });

  it.each([
    ["", 1, 1, "unexpected end of input"],
    ["{\n  \"a\": 1,\n  }", 3, 3, "expected a string key"],
    ['{"a" 1}', 1, 6, "expected ':'"],
    ["[1 2]", 1, 4, "expected ',' or ']'"],
    ["01", 1, 2, "after the top-level value"],
    ["-", 1, 1, "invalid number"],
    ['"abc', 1, 5, "unterminated string"],
    ['"a\u0001"', 1, 3, "unescaped control character"],
    [String.raw`"\x"`, 1, 3, "invalid escape"],
    [String.raw`"\u12g4"`, 1, 4, "invalid \\u escape"],
    ["tru", 1, 1, "unexpected character"],
    ["{} {}", 1, 4, "after the top-level value"],
    ["[1.]", 1, 2, "invalid number '1.'"],
    ["[", 1, 2, "unexpected end of input"],
    ['{"a": 1', 1, 8, "expected ',' or '}', got end of input"],
    ['{"a": [1}', 1, 9, "expected ',' or ']'"],
    [`[1 ${"[".repeat(300)}`, 1, 4, "expected ',' or ']'"],
  ])("rejects %j at line %i column %i", (text, line, column, problem) => {
    const err = syntaxError(text);
    expect(err.line).toBe(line);
    expect(err.column).toBe(column);
    expect(err.message).toContain(problem);
  });

  it("refuses absurd nesting instead of overflowing the stack", () => {
    expect(syntaxError("[".repeat(10_000)).message).toContain("nesting deeper than");
  });

  it("agrees with JSON.parse on every document JSON.stringify writes", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(toPlain(parseJson(text))).toEqual(JSON.parse(text));
      }),
    );
  });
});
