import { readFile } from "node:fs/promises";

/** One file of the page, ready to serve. */
export interface DashboardAsset {
  /** Path below the page's root, e.g. `index.html`, `assets/app-3F2A9C1D.js`. */
  readonly path: string;
  readonly body: Buffer;
  /** The same bytes gzipped at build time (served when the client accepts gzip); absent when gzip would not help. */
  readonly gzip: Buffer | undefined;
  /** The `content-type` header, charset included. */
  readonly contentType: string;
  /**
   * True for files whose name carries a hash of their content: they never
   * change under that name, so clients may cache them forever
   * (`cache-control: public, max-age=31536000, immutable`). The HTML is not
   * (it names the current hashes): `no-cache`.
   */
  readonly immutable: boolean;
  /** A strong validator (`"<sha256 prefix>"`) for conditional requests. */
  readonly etag: string;
}

/** The built page: every file by path, and which one is the page itself. */
export interface DashboardAssets {
  readonly files: ReadonlyMap<string, DashboardAsset>;
  /** The path of the HTML page (`index.html`). */
  readonly index: string;
}

/** What the build writes beside the files (`dist/www/manifest.json`). */
export interface DashboardManifest {
  readonly index: string;
  readonly files: ReadonlyArray<{
    readonly path: string;
    readonly contentType: string;
    readonly immutable: boolean;
    readonly gzip: boolean;
    readonly etag: string;
  }>;
}

/** Where the build puts the page: `dist/www/` of this package (this module is `dist/assets/assets.js`). */
export const DASHBOARD_ROOT = new URL("../www/", import.meta.url);

/**
 * Reads the built page into memory (about 100 KB): the files the manifest
 * lists, with their precompressed twins. Paths are taken from the manifest
 * only, never from a request, so nothing outside the build can be served.
 *
 * @throws Error naming the missing file when the package was not built.
 */
export async function loadDashboardAssets(root: URL = DASHBOARD_ROOT): Promise<DashboardAssets> {
  let manifest: DashboardManifest;
  try {
    manifest = JSON.parse(await readFile(new URL("manifest.json", root), "utf8")) as DashboardManifest;
  } catch (err) {
    throw new Error(`pd-dashboard: no built page at ${root.pathname} (run the workspace build): ${(err as Error).message}`, { cause: err });
  }
  const files = new Map<string, DashboardAsset>();
  for (const f of manifest.files) {
    const body = await readFile(new URL(f.path, root));
    const gzip = f.gzip ? await readFile(new URL(`${f.path}.gz`, root)) : undefined;
    files.set(f.path, { path: f.path, body, gzip, contentType: f.contentType, immutable: f.immutable, etag: f.etag });
  }
  if (!files.has(manifest.index)) throw new Error(`pd-dashboard: the manifest names ${manifest.index} as the page, but lists no such file`);
  return { files, index: manifest.index };
}
