import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, runCommand } from "./harness/index.js";

// What `npm publish` would ship, checked on the real tarballs: a LICENSE, the
// metadata that tells a user where the code and the issues are, and source
// maps that carry their sources (the tarballs ship dist/ only).

const PUBLISHED: ReadonlyArray<readonly [string, string]> = [
  ["@nokv/pd-model", "packages/pd-model"],
  ["@nokv/pd-proto", "proto"],
  ["@nokv/pd-core", "packages/pd-core"],
  ["@nokv/pd-storage", "packages/pd-storage"],
  ["@nokv/pd-etcd", "packages/pd-etcd"],
  ["@nokv/pd-server", "packages/pd-server"],
  ["@nokv/pd-client", "packages/pd-client"],
  ["@nokv/pd-adapter", "packages/pd-adapter"],
  ["@nokv/nokv-config", "packages/nokv-config"],
  ["@nokv/pd-cli", "apps/pd-cli"],
  ["@nokv/pd-dashboard", "packages/pd-dashboard"],
];

const dest = await mkdtemp(join(tmpdir(), "pd-pack-"));
afterAll(() => rm(dest, { recursive: true, force: true }));

describe("published tarballs", () => {
  it.each(PUBLISHED)("%s ships a LICENSE, its metadata, and source maps with their sources", async (name, dir) => {
    const packed = await runCommand("pnpm", ["pack", "--pack-destination", dest], { cwd: join(REPO_ROOT, dir), timeoutMs: 60_000 });
    expect(packed.code, packed.stderr.join("\n")).toBe(0);
    const tarball = (await readdir(dest)).find((f) => f.startsWith(`${name.slice(1).replace("/", "-")}-`) && f.endsWith(".tgz"))!;
    const out = join(dest, name.replace("/", "_"));
    await mkdir(out, { recursive: true });
    const untar = await runCommand("tar", ["xzf", join(dest, tarball), "-C", out]);
    expect(untar.code).toBe(0);
    const pkgDir = join(out, "package");
    const files = await readdir(pkgDir, { recursive: true });
    expect(files).toContain("LICENSE");
    expect((await readFile(join(pkgDir, "LICENSE"), "utf8")).startsWith("\n                                 Apache License")).toBe(true);
    const pkg = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8")) as Record<string, unknown>;
    for (const field of ["license", "repository", "homepage", "bugs"]) expect(pkg[field], `${name}: ${field}`).toBeDefined();
    // Nothing in the tarball points at sources it does not ship.
    const maps = files.filter((f) => f.endsWith(".map"));
    expect(maps.length, `${name}: source maps`).toBeGreaterThan(0);
    for (const m of maps) {
      expect(m.endsWith(".d.ts.map"), `${name}: ${m} points at src/`).toBe(false);
      const map = JSON.parse(await readFile(join(pkgDir, m), "utf8")) as { sources: string[]; sourcesContent?: string[] };
      expect(map.sourcesContent?.length, `${name}: ${m} has no sourcesContent`).toBe(map.sources.length);
    }
  });
});
