import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./harness/pd-process.js";
import { runPdCli } from "./harness/run-command.js";

describe("pd-cli --version", () => {
  it("prints the package version on stdout and exits 0", async () => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, "apps/pd-cli/package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await runPdCli([flag]);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, flag).toEqual({ code: 0, stdout: [version], stderr: [] });
    }
  });
});
