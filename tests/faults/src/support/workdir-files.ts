import { copyFile, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";

/** The regular files of a workdir by name, with their bytes. */
export type WorkdirFiles = ReadonlyMap<string, Buffer>;

/** Reads every regular file of `dir` (not recursive). */
export async function readWorkdir(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isFile()) out.set(e.name, await readFile(join(dir, e.name)));
  }
  return out;
}

/** Copies every regular file of `from` into the existing directory `to`. */
export async function copyWorkdir(from: string, to: string): Promise<void> {
  for (const e of await readdir(from, { withFileTypes: true })) {
    if (e.isFile()) await copyFile(join(from, e.name), join(to, e.name));
  }
}

/** Asserts that `after` holds exactly the files of `before`, byte for byte (LOCK aside when `ignoreLock`). */
export function expectSameFiles(after: WorkdirFiles, before: WorkdirFiles, what: string, opts: { ignoreLock?: boolean } = {}): void {
  const names = (m: WorkdirFiles) => [...m.keys()].filter((n) => !(opts.ignoreLock === true && n === "LOCK")).sort();
  expect(names(after), `${what}: files`).toEqual(names(before));
  for (const name of names(before)) {
    const a = after.get(name)!;
    const b = before.get(name)!;
    if (!a.equals(b)) {
      let at = 0;
      while (at < Math.min(a.length, b.length) && a[at] === b[at]) at++;
      expect.fail(`${what}: ${name} changed (${b.length} → ${a.length} bytes, first difference at offset ${at})`);
    }
  }
}
