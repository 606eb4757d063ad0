import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonNumber, parseJson } from "./parse-json.js";
import { writeJson } from "./write-json.js";

describe("writeJson", () => {
  it("writes bigints as exact JSON numbers", () => {
    expect(writeJson({ id: 2n ** 64n - 1n, ids: [0n, 9007199254740993n] })).toBe(
      '{"id":18446744073709551615,"ids":[0,9007199254740993]}',
    );
  });

  it("omits undefined members, keeps null and empty containers", () => {
    expect(writeJson({ a: undefined, b: null, c: [], d: {} })).toBe('{"b":null,"c":[],"d":{}}');
  });

  it("escapes like Go's encoding/json", () => {
    expect(writeJson("<a & b>\u2028\u2029\n\"")).toBe(String.raw`"\u003ca \u0026 b\u003e\u2028\u2029\n\""`);
  });

  it("pretty-prints like JSON.stringify when given an indent", () => {
    const value = { a: [1, { b: "x" }], c: {}, d: [] };
    expect(writeJson(value, 2)).toBe(JSON.stringify(value, null, 2));
  });

  it("rejects non-finite numbers", () => {
    expect(() => writeJson(Number.NaN)).toThrow(TypeError);
  });

  it("round-trips any uint64 through parseJson", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (id) => {
        expect(parseJson(writeJson([id]))).toEqual([new JsonNumber(id.toString())]);
      }),
    );
  });
});
