import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Cluster, Leadership } from "@nokv/pd-core";
import type {
  CompactRegionJson,
  DashboardAssets,
  DashboardOperatorsJson,
  DashboardRegionChangesJson,
  DashboardRegionPageJson,
  DashboardSummaryJson,
} from "@nokv/pd-dashboard";
import { keyToTikvHex, membersToTikvJson, type Region, storesToTikvJson } from "@nokv/pd-model";
import type { RegionJournal } from "./region-journal.js";
import type { StatusHistory } from "./status-history.js";

/** What the status page's endpoints read, beside the leadership. */
export interface DashboardDeps {
  readonly leadership: Pick<Leadership, "serving" | "members" | "name">;
  readonly history: StatusHistory;
  /** The region feed of a cluster model (each model has its own). */
  readonly journalOf: (cluster: Cluster) => RegionJournal | undefined;
  /** The built page, or why there is none (read once at start-up). */
  readonly assets: Promise<DashboardAssets>;
  /** Monotonic ms at server start (uptime). */
  readonly startedMonoMs: number;
  /** Wall-clock ms at server start. */
  readonly startedWallMs: number;
}

/** An error the status server turns into a JSON answer with this status. */
export class DashboardHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const HEX_KEY = /^(?:[0-9A-Fa-f]{2})*$/;

/** A region in the page's compact shape (see `CompactRegionJson`), its end key elided when `elideEnd`. */
function compact(cluster: Cluster, r: Region, elideEnd: boolean): CompactRegionJson {
  const peers: string[] = [];
  for (const p of r.peers) peers.push(p.storeId.toString(), p.peerId.toString());
  // What the region's heartbeat named, else a leader transfer seen complete (NoKV's Go stores name no leader).
  const leader = cluster.scheduling.leaderStoreOf(r);
  return [
    r.id.toString(),
    keyToTikvHex(r.startKey),
    elideEnd ? null : keyToTikvHex(r.endKey),
    r.epoch.version.toString(),
    r.epoch.confVersion.toString(),
    leader === undefined ? "" : leader.toString(),
    peers,
  ];
}

function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The largest page of regions one request reads (about 1 MB of JSON). */
export const DASHBOARD_MAX_PAGE = 10_000;

/**
 * The JSON endpoints of the status page, under `/pd/api/v1/`: `dashboard/summary`,
 * `dashboard/regions` and `dashboard/region-changes`. (The operators are
 * TiKV's `operators` and `operators/records`, which the status server
 * serves for everyone.) Returns undefined for any other path. `cluster()`
 * throws the status server's 503 when this member does not serve.
 */
export function createDashboardApi(deps: DashboardDeps): (rest: string, q: URLSearchParams, cluster: () => Cluster) => Promise<unknown> | undefined {
  const instance = randomBytes(6).toString("hex");

  function serving(): Cluster | undefined {
    try {
      return deps.leadership.serving();
    } catch {
      return undefined;
    }
  }

  function operators(c: Cluster): DashboardOperatorsJson {
    const counters: Record<string, number> = { create: 0, success: 0, timeout: 0, cancelled: 0, replaced: 0 };
    for (const [, event, n] of c.scheduling.operators.counters()) counters[event] = (counters[event] ?? 0) + n;
    return { in_flight: c.scheduling.operators.size, counters };
  }

  async function summary(q: URLSearchParams): Promise<DashboardSummaryJson> {
    const since = Number(q.get("since") ?? "0");
    const c = serving();
    const journal = c === undefined ? undefined : deps.journalOf(c);
    const h = deps.history;
    const durable = c?.checkpoint.durable;
    return {
      member: {
        name: deps.leadership.name,
        serving: c !== undefined,
        instance,
        started_at_ms: String(Math.round(deps.startedWallMs)),
        uptime_ms: Math.round(performance.now() - deps.startedMonoMs),
      },
      members: membersToTikvJson(deps.leadership.members()),
      server_time_ms: String(Date.now()),
      cluster:
        c === undefined
          ? null
          : {
              region_count: c.regions.size,
              allocators: {
                id_next: c.ids.next.toString(),
                id_ceiling: durable!.idCurrent.toString(),
                tso_last: c.tso.last.toString(),
                tso_ceiling: durable!.tsCurrent.toString(),
              },
              stores: storesToTikvJson(c.storeStatuses()).stores,
              liveness: { disconnected_after_ms: c.liveness.disconnectedAfterMs, down_after_ms: c.liveness.downAfterMs },
              region_feed: { generation: journal?.generation ?? "", seq: journal?.seq ?? 0 },
              operators: operators(c),
            },
      history: { interval_ms: h.intervalMs, capacity: h.capacity, seq: h.seq, samples: h.since(Number.isFinite(since) ? since : 0) },
    };
  }

  function regions(q: URLSearchParams, c: Cluster): DashboardRegionPageJson {
    const startHex = q.get("start_key") ?? "";
    if (!HEX_KEY.test(startHex)) throw new DashboardHttpError(400, "invalid start_key: expected hex digits");
    const limitRaw = q.get("limit");
    let limit = DASHBOARD_MAX_PAGE;
    if (limitRaw !== null) {
      if (!/^[1-9][0-9]{0,8}$/.test(limitRaw)) throw new DashboardHttpError(400, `invalid limit ${JSON.stringify(limitRaw)}: expected a positive integer`);
      limit = Math.min(Number(limitRaw), DASHBOARD_MAX_PAGE);
    }
    const journal = deps.journalOf(c);
    // The feed's position before the read: changes after it are in the page or will be replayed.
    const seq = journal?.seq ?? 0;
    const page = c.regions.page(Buffer.from(startHex, "hex"), limit);
    const out: CompactRegionJson[] = [];
    const rs = page.regions;
    for (let i = 0; i < rs.length; i++) {
      const next = rs[i + 1];
      out.push(compact(c, rs[i]!, next !== undefined && rs[i]!.endKey.length > 0 && keysEqual(rs[i]!.endKey, next.startKey)));
    }
    const more = page.nextStartKey !== undefined;
    return {
      generation: journal?.generation ?? "",
      seq,
      count: out.length,
      regions: out,
      has_more: more,
      ...(more && { next_start_key: keyToTikvHex(page.nextStartKey!) }),
    };
  }

  function changes(q: URLSearchParams, c: Cluster): DashboardRegionChangesJson {
    const journal = deps.journalOf(c);
    const generation = journal?.generation ?? "";
    const seq = journal?.seq ?? 0;
    const none = { generation, seq, regions: [], removed: [] };
    if (journal === undefined || q.get("generation") !== generation) return { ...none, reset: true };
    const delta = journal.since(Number(q.get("since") ?? "NaN"));
    if (delta.reset) return { ...none, reset: true };
    const regions: CompactRegionJson[] = [];
    const removed: string[] = [];
    for (const id of delta.ids) {
      const r = c.regions.getRegion(id);
      if (r === undefined) removed.push(id.toString());
      else regions.push(compact(c, r, false));
    }
    return { generation, seq, reset: false, regions, removed };
  }

  return (rest, q, cluster) => {
    switch (rest) {
      case "dashboard/summary":
        return summary(q);
      case "dashboard/regions":
        return Promise.resolve(regions(q, cluster()));
      case "dashboard/region-changes":
        return Promise.resolve(changes(q, cluster()));
      default:
        return undefined;
    }
  }
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/**
 * The page's own content-security policy: everything from this origin,
 * nothing from anywhere else (no CDN, no inline script), no framing.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Serves the page's static files under `/dashboard/`: the HTML `no-cache`
 * (it names the current asset hashes), hashed assets `immutable` for a year,
 * gzipped when the client accepts it, with ETags for revalidation. Only
 * files the build's manifest lists exist. `/` and `/dashboard` redirect to
 * `/dashboard/`. Returns false for paths that are not the page's.
 */
export async function serveDashboardFile(req: IncomingMessage, res: ServerResponse, path: string, assets: Promise<DashboardAssets>): Promise<boolean> {
  if (path === "/" || path === "/dashboard") {
    res.writeHead(302, { location: "/dashboard/", "cache-control": "no-cache", "content-length": 0, ...SECURITY_HEADERS });
    res.end();
    return true;
  }
  if (!path.startsWith("/dashboard/")) return false;
  let built: DashboardAssets;
  try {
    built = await assets;
  } catch (err) {
    const body = `status page unavailable: ${(err as Error).message}\n`;
    res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
    res.end(body);
    return true;
  }
  const rel = path === "/dashboard/" ? built.index : path.slice("/dashboard/".length);
  const file = built.files.get(rel);
  if (file === undefined) {
    const body = `no such file ${path}\n`;
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store", ...SECURITY_HEADERS });
    res.end(body);
    return true;
  }
  const headers: Record<string, string | number> = {
    "content-type": file.contentType,
    "cache-control": file.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    etag: file.etag,
    vary: "accept-encoding",
    ...SECURITY_HEADERS,
  };
  if (rel === built.index) headers["content-security-policy"] = DASHBOARD_CSP;
  if (req.headers["if-none-match"] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  const gzip = file.gzip !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? file.gzip! : file.body;
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = body.length;
  res.writeHead(200, headers);
  res.end(body);
  return true;
}
