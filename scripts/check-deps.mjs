#!/usr/bin/env node
// The workspace's dependency rules, checked over the import graph of every
// package's TypeScript (tests included). Exits 1 naming each violation.
//
//   node scripts/check-deps.mjs [--root DIR]
//
// Rules:
// 1. Layers: a package imports only the workspace packages its row allows.
//    What stores and gateways install (pd-client, pd-adapter, nokv-config) and
//    the shared contract (pd-model, pd-proto) import nothing server-side.
// 2. pd-core and pd-model stay pure: no I/O modules, no gRPC, no generated code.
// 3. No file reaches into another package's sources: no relative import that
//    leaves its package, no `@nokv/x/src/...` specifier.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const args = process.argv.slice(2);
const root = resolve(args[0] === "--root" && args[1] !== undefined ? args[1] : join(dirname(new URL(import.meta.url).pathname), ".."));

/** Workspace packages each package may import (`*`: any). Private test and tool packages may import anything. */
const LAYERS = {
  "@nokv/pd-model": [],
  "@nokv/pd-proto": ["@nokv/pd-model"],
  "@nokv/pd-core": ["@nokv/pd-model"],
  "@nokv/pd-storage": ["@nokv/pd-core", "@nokv/pd-model"],
  "@nokv/pd-etcd": ["@nokv/pd-storage", "@nokv/pd-core", "@nokv/pd-model"],
  "@nokv/pd-dashboard": ["@nokv/pd-model"],
  "@nokv/pd-server": ["@nokv/pd-core", "@nokv/pd-storage", "@nokv/pd-proto", "@nokv/pd-model", "@nokv/pd-dashboard"],
  "@nokv/pd-client": ["@nokv/pd-proto", "@nokv/pd-model"],
  "@nokv/pd-adapter": ["@nokv/pd-client", "@nokv/pd-model"],
  "@nokv/nokv-config": ["@nokv/pd-model"],
  "@nokv/pd-cli": "*",
};

/** Modules that do I/O (or speak gRPC, or are generated wire code): never in the pure packages. */
const IMPURE = /^(node:)?(fs|fs\/promises|net|http|https|http2|tls|dgram|dns|child_process|cluster|worker_threads)$|^@grpc\/|^@nokv\/pd-proto$|^etcd3$/;
const PURE = new Set(["@nokv/pd-core", "@nokv/pd-model"]);

function workspaceDirs() {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const globs = [...yaml.matchAll(/^\s*-\s*['"]?([^'"\s]+)['"]?\s*$/gm)].map((m) => m[1]);
  const dirs = [];
  for (const g of globs) {
    if (g.endsWith("/*")) {
      const base = join(root, g.slice(0, -2));
      let names = [];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const n of names) if (exists(join(base, n, "package.json"))) dirs.push(join(base, n));
    } else if (exists(join(root, g, "package.json"))) {
      dirs.push(join(root, g));
    }
  }
  return dirs;
}

function exists(p) {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function tsFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "node_modules" || entry.name === "dist" || entry.name === "gen") continue;
      out.push(...tsFiles(p));
    } else if (/\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      out.push(p);
    }
  }
  return out;
}

// Static imports and re-exports, dynamic import() and new URL("…", import.meta.url) reads of sources.
const SPECIFIERS = /(?:^|[\s;])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|(?:^|[\s;(])import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

const violations = [];
const packages = workspaceDirs().map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }));
for (const { dir, pkg } of packages) {
  const name = pkg.name;
  const allowed = LAYERS[name] ?? (pkg.private === true ? "*" : undefined);
  if (allowed === undefined) violations.push(`${relative(root, dir)}: package ${name} has no row in scripts/check-deps.mjs`);
  const srcDir = join(dir, "src");
  if (!exists(srcDir)) continue;
  for (const file of tsFiles(srcDir)) {
    const text = readFileSync(file, "utf8");
    const where = relative(root, file);
    for (const m of text.matchAll(SPECIFIERS)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (!(target + sep).startsWith(dir + sep)) violations.push(`${where}: imports ${spec}, outside its package (import the package by name)`);
        continue;
      }
      if (/^@nokv\/[^/]+\/src(\/|$)/.test(spec)) {
        violations.push(`${where}: imports ${spec}, another package's sources`);
        continue;
      }
      const wsDep = /^(@nokv\/[^/]+)/.exec(spec)?.[1];
      // Tests may also use the private test utilities.
      const isTest = /\.test\.tsx?$/.test(file) || file.includes(`${sep}testing${sep}`);
      if (isTest && wsDep === "@nokv/testkit") continue;
      if (wsDep !== undefined && wsDep !== name && allowed !== "*" && allowed !== undefined && !allowed.includes(wsDep)) {
        violations.push(`${where}: ${name} may not import ${wsDep} (allowed: ${allowed.join(", ") || "nothing"})`);
      }
      if (PURE.has(name) && IMPURE.test(spec)) violations.push(`${where}: ${name} must stay free of I/O, gRPC and generated code, but imports ${spec}`);
    }
  }
}

if (violations.length > 0) {
  for (const v of violations) console.error(`check-deps: ${v}`);
  console.error(`check-deps: ${violations.length} violation(s)`);
  process.exit(1);
}
console.log(`check-deps: ${packages.length} packages follow the dependency rules`);
