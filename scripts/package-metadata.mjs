#!/usr/bin/env node
// The metadata every published package carries, from one place: the root
// package.json's `repository` and `license`, and the root LICENSE file.
//
//   node scripts/package-metadata.mjs --check   # CI: exit 1 naming what is missing or stale
//   node scripts/package-metadata.mjs --write   # stamp it into every published package
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const mode = process.argv[2];
if (mode !== "--check" && mode !== "--write") {
  console.error("usage: package-metadata.mjs --check | --write");
  process.exit(2);
}
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const repoUrl = rootPkg.repository?.url?.replace(/^git\+/, "").replace(/\.git$/, "");
if (repoUrl === undefined) {
  console.error("package-metadata: the root package.json needs repository.url");
  process.exit(1);
}
const license = readFileSync(join(root, "LICENSE"));

const dirs = [];
for (const base of ["proto", "packages", "apps"]) {
  const abs = join(root, base);
  if (existsSync(join(abs, "package.json"))) dirs.push(abs);
  else if (existsSync(abs)) for (const n of readdirSync(abs)) if (existsSync(join(abs, n, "package.json"))) dirs.push(join(abs, n));
}

const problems = [];
for (const dir of dirs) {
  const file = join(dir, "package.json");
  const text = readFileSync(file, "utf8");
  const pkg = JSON.parse(text);
  if (pkg.private === true) continue;
  const rel = relative(root, dir);
  const want = {
    license: rootPkg.license,
    repository: { type: "git", url: `git+${repoUrl}.git`, directory: rel },
    homepage: `${repoUrl}/tree/main/${rel}#readme`,
    bugs: { url: `${repoUrl}/issues` },
  };
  const stale = Object.entries(want).filter(([k, v]) => JSON.stringify(pkg[k]) !== JSON.stringify(v)).map(([k]) => k);
  const licenseFile = join(dir, "LICENSE");
  const licenseStale = !existsSync(licenseFile) || !readFileSync(licenseFile).equals(license);
  if (mode === "--write") {
    if (stale.length > 0) {
      // Keep the field order readable: metadata right after `license`.
      const out = {};
      for (const [k, v] of Object.entries(pkg)) {
        if (k in want) continue;
        out[k] = v;
        if (k === "description") Object.assign(out, want);
      }
      if (!("repository" in out)) Object.assign(out, want);
      writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    }
    if (licenseStale) copyFileSync(join(root, "LICENSE"), licenseFile);
  } else {
    for (const k of stale) problems.push(`${rel}/package.json: ${k} is missing or differs from the root's`);
    if (licenseStale) problems.push(`${rel}/LICENSE: missing or not the root LICENSE`);
  }
}
if (problems.length > 0) {
  for (const p of problems) console.error(`package-metadata: ${p}`);
  console.error("package-metadata: run node scripts/package-metadata.mjs --write");
  process.exit(1);
}
console.log(`package-metadata: ${mode === "--write" ? "stamped" : "checked"} every published package`);
