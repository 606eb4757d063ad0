import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// The post-processing step of `pnpm generate`; scripts/check-generated.sh runs its --check.
const SCRIPT = fileURLToPath(new URL("../scripts/strict-decode.mjs", import.meta.url));
const GEN = fileURLToPath(new URL("./gen/", import.meta.url));

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temp dir holding the committed pdpb.ts, optionally altered. */
function withPdpb(alter: (text: string) => string = (t) => t): string {
  const dir = mkdtempSync(join(tmpdir(), "strict-decode-"));
  dirs.push(dir);
  copyFileSync(join(GEN, "pdpb.ts"), join(dir, "pdpb.ts"));
  writeFileSync(join(dir, "pdpb.ts"), alter(readFileSync(join(dir, "pdpb.ts"), "utf8")));
  return dir;
}

function run(...args: string[]): { code: number; stderr: string } {
  try {
    execFileSync(process.execPath, [SCRIPT, ...args], { stdio: "pipe" });
    return { code: 0, stderr: "" };
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    return { code: e.status, stderr: e.stderr.toString() };
  }
}

describe("strict-decode.mjs", () => {
  it("accepts the committed generated code in --check mode", () => {
    expect(run("--check", withPdpb())).toEqual({ code: 0, stderr: "" });
  });

  it.each<[string, (t: string) => string, RegExp]>([
    ["a decoder that ignores 'into'", (t) => t.replace("const message = into ?? createBaseTsoRequest();", "const message = createBaseTsoRequest();"), /ignores 'into'/],
    ["a replacing message field", (t) => t.replace(/RegionMeta\.decode\(reader, reader\.uint32\(\), message\.region\)/, "RegionMeta.decode(reader, reader.uint32())"), /replaces instead of merging/],
    ["a lax tag loop", (t) => t.replace("reader.skip(tag & 7, tag >>> 3);", "reader.skip(tag & 7);"), /tag loop is not strict/],
  ])("refuses %s in --check mode", (_name, alter, reason) => {
    const res = run("--check", withPdpb(alter));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(reason);
  });

  it("refuses to rewrite a file twice, and code whose shape it does not know", () => {
    expect(run(withPdpb()).stderr).toMatch(/already post-processed/);
    // Unprocessed signatures but tag loops of a shape the script does not know (here: already strict).
    const unknown = withPdpb((t) =>
      t
        .replace(/\/\/ post-processed by [^\n]*\n/, "")
        .replaceAll("into ?? ", "")
        .replace(/, into\?: \w+\)/g, ")"),
    );
    const res = run(unknown);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/changed shape/);
  });
});
