import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin.js", import.meta.url));

interface Exit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function spawnBin(args: string[], cwd: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(error);
        return;
      }
      resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  // The bin runs the compiled output; `pnpm test` builds before running vitest.
  if (!existsSync(new URL("../../dist/cli/run-cli.js", import.meta.url))) {
    throw new Error("packages/nokv-config/dist is missing: run `npx tsc -p packages/nokv-config/tsconfig.json` first");
  }
});

describe("bin.js", () => {
  it("is executable and starts with a node shebang", () => {
    expect(readFileSync(BIN, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("prints the docker PD address from the repo root's example and exits 0", async () => {
    expect(await spawnBin(["pd", "--field", "addr", "--scope", "docker"], REPO_ROOT)).toEqual({
      code: 0,
      stdout: "nokv-pd:2379\n",
      stderr: "",
    });
  });

  it("prints the stores from the package's shipped example", async () => {
    const out = await spawnBin(["stores"], PACKAGE_DIR);
    expect(out.code).toBe(0);
    expect(out.stdout.split("\n")).toHaveLength(4);
    expect(out.stdout).toMatch(/^1 127\.0\.0\.1:20170 /);
  });

  it("exits 1 with a single stderr line and no stack trace on a bad scope", async () => {
    const out = await spawnBin(["pd", "--scope", "local"], REPO_ROOT);
    expect(out).toEqual({ code: 1, stdout: "", stderr: 'nokv-config pd: unknown scope "local" (expected host|docker)\n' });
  });

  it("exits 1 when the config file is missing", async () => {
    const out = await spawnBin(["regions", "--config", "does-not-exist.json"], REPO_ROOT);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^nokv-config regions: config: cannot read .*does-not-exist\.json: no such file or directory\n$/);
  });

  it("exits 1 without a command", async () => {
    expect((await spawnBin([], REPO_ROOT)).code).toBe(1);
  });
});

describe("raft_config.example.json", () => {
  it("is the same file at the repo root and in the package", () => {
    expect(readFileSync(new URL("raft_config.example.json", `file://${REPO_ROOT}`), "utf8")).toBe(
      readFileSync(new URL("raft_config.example.json", `file://${PACKAGE_DIR}`), "utf8"),
    );
  });

  it("is listed in the package's files so it ships", () => {
    const pkg = JSON.parse(readFileSync(new URL("package.json", `file://${PACKAGE_DIR}`), "utf8")) as { files: string[] };
    expect(pkg.files).toContain("raft_config.example.json");
  });
});
