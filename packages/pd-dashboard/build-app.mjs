#!/usr/bin/env node
// Builds the status page into dist/www/: one JS and one CSS bundle named by
// their content hash (served immutable), the HTML that names them (served
// no-cache), gzipped twins made here once rather than per request, and a
// manifest that is the only list of files the server will serve.
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "dist/www");
await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, "src/app/main.tsx") },
  bundle: true,
  format: "esm",
  // BigInt literals and `**` on bigint need ES2020; every current browser has ES2022.
  target: "es2022",
  minify: true,
  sourcemap: false,
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => relative(out, join(process.cwd(), p)));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
if (js === undefined || css === undefined) throw new Error(`build-app: expected one .js and one .css, got ${outputs.join(", ")}`);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PD-lite status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${css}">
<script type="module" src="${js}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading PD status…</p></div>
<noscript>This page needs JavaScript. The same data is at <a href="../pd/api/v1/stores">/pd/api/v1/</a> and <a href="../metrics">/metrics</a>.</noscript>
</body>
</html>
`;
await writeFile(join(out, "index.html"), html);

const TYPES = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8" };
const files = [];
for (const path of ["index.html", ...outputs]) {
  const body = await readFile(join(out, path));
  const gz = gzipSync(body, { level: 9 });
  const gzip = gz.length < body.length;
  if (gzip) await writeFile(join(out, `${path}.gz`), gz);
  const ext = path.slice(path.lastIndexOf("."));
  const contentType = TYPES[ext];
  if (contentType === undefined) throw new Error(`build-app: no content type for ${path}`);
  files.push({
    path,
    contentType,
    immutable: path !== "index.html",
    gzip,
    etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 20)}"`,
    bytes: body.length,
    gzipBytes: gzip ? gz.length : body.length,
  });
}
await writeFile(join(out, "manifest.json"), `${JSON.stringify({ index: "index.html", files }, null, 2)}\n`);
const weight = files.filter((f) => f.path !== "index.html").reduce((n, f) => n + f.gzipBytes, 0);
if (process.env.PD_DASHBOARD_BUILD_VERBOSE) {
  for (const f of files) console.log(`${basename(f.path)}: ${f.bytes} B, ${f.gzipBytes} B gzipped`);
  console.log(`JS+CSS gzipped: ${weight} B`);
}
