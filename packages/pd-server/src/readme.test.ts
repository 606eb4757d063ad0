import { readFileSync } from "node:fs";
import { TSO_LOGICAL_BITS as LOGICAL_BITS } from "@nokv/pd-model";
import { describe, expect, it } from "vitest";
import { DEFAULT_REQUEST_LIMITS } from "./service/limits.js";

// A Go store that hits one of PD-lite's own rules must find the reason in one
// README section, and the numbers there must be the ones the server enforces.
const README = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "## ${title}"`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

describe("README: how this PD differs from NoKV's Go PD", () => {
  it("names every rule a Go store can run into, with the numbers the server enforces", () => {
    const text = section("How this PD differs from NoKV's Go PD");
    expect(DEFAULT_REQUEST_LIMITS.maxKeyBytes).toBe(64 * 1024);
    expect(text).toContain("64 KiB (`--max-key-bytes`)");
    expect(DEFAULT_REQUEST_LIMITS.maxIdCount).toBe(1n << 20n);
    expect(text).toContain("`AllocID` at most 2^20");
    expect(DEFAULT_REQUEST_LIMITS.maxTsoCount).toBe(1n << 18n);
    expect(text).toContain("`Tso` at most 2^18");
    expect(LOGICAL_BITS).toBe(18n);
    expect(text).toContain("`physical_ms << 18 \\| logical`");
    expect(text).toMatch(/each field on its own/);
    expect(text).toMatch(/split or merge result/);
    expect(text).toMatch(/two peers on one store/);
    expect(text).toContain("`pd_regions_duplicate_peers`");
  });
});
