import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/**
 * Temporary directories for the tests of the enclosing file or describe
 * block, removed after each test. Call at the top level of a test file;
 * `make()` inside tests.
 */
export function useTempDirs(prefix: string): { make(): Promise<string> } {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  return {
    async make() {
      const d = await mkdtemp(join(tmpdir(), `${prefix}-`));
      dirs.push(d);
      return d;
    },
  };
}
