import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import { type Cluster, isPdError, type Leadership } from "@nokv/pd-core";
import {
  keyToTikvHex,
  membersToTikvJson,
  operatorToTikvJson,
  operatorToTikvString,
  parseUint64,
  regionPageToTikvJson,
  regionToTikvJson,
  schedulingConfigToTikvJson,
  storeLimitsToTikvJson,
  storesToTikvJson,
  storeToTikvJson,
  stringifyJson as stringify,
  tikvOperatorKind,
} from "@nokv/pd-model";
import type { Logger } from "pino";
import { createDashboardApi, DashboardHttpError, type DashboardDeps, serveDashboardFile } from "../dashboard/dashboard-http.js";
import type { PdMetrics } from "../metrics/metrics.js";
import type { RequestLimits } from "../service/limits.js";
import type { PdTlsOptions } from "../tls/tls.js";
import { keyFromUrl } from "./url-key.js";

/** What the status server reads from. */
export interface StatusServerDeps {
  readonly leadership: Pick<Leadership, "serving" | "members">;
  /** The metrics `/metrics` exposes; undefined when they are off (`metrics: false`): `/metrics` is then a 404. */
  readonly metrics: PdMetrics | undefined;
  readonly limits: RequestLimits;
  readonly log: Logger;
  /** This member's name, for `/health`. */
  readonly name: string;
  /** True while the server is stopping (health turns `NOT_SERVING`). */
  readonly stopping: () => boolean;
  readonly tls?: PdTlsOptions | undefined;
  /** The status page (`/dashboard/`, `/` redirects there) and its endpoints; absent: neither is served. */
  readonly dashboard?: DashboardDeps | undefined;
}

/** A running status server. */
export interface StatusServer {
  /** The bound `host:port`. */
  readonly address: string;
  close(): Promise<void>;
}

const API = "/pd/api/v1";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

function parseId(what: string, raw: string): bigint {
  const id = parseUint64(raw);
  if (id === undefined || id === 0n) {
    throw new HttpError(400, `invalid ${what} id ${JSON.stringify(decodeURIComponent(raw))}: expected a decimal uint64 above 0`);
  }
  return id;
}

function send(res: ServerResponse, status: number, body: string, contentType = "application/json; charset=utf-8"): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}

/** The `limit` query parameter: at most this many entries; undefined when absent. */
function limitParam(q: URLSearchParams): number | undefined {
  const raw = q.get("limit");
  if (raw === null) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new HttpError(400, `invalid limit ${JSON.stringify(raw)}: expected a positive integer`);
  return Number(raw);
}

/**
 * The status address (`--status-addr`): Prometheus metrics on `/metrics` and
 * a JSON inspection API modelled on TiKV PD's `/pd/api/v1` (`stores`,
 * `store/{id}`, `regions`, `region/id/{id}`, `region/key/{key}`, `health`,
 * `members`; scheduling: `operators` (in flight, oldest first; strings, or
 * with `?object=1` pd-model's `TikvOperatorJson`; `?kind=` TiKV's kind flags,
 * `?limit=N`), `operators/records` (ended, newest first, the same
 * parameters), `operators/{region_id}`, `schedulers`
 * (`?status=paused`), `checker/replica`, `config`, `config/schedule`,
 * `config/replicate`, `stores/limit`). GET only: this port is read-only;
 * scheduling is changed through the gRPC service `pb.PDScheduling`. Errors are JSON `{"error": "..."}`: 400 for bad
 * input, 404 for an unknown store, region or path, 503 (with `leader`) on a
 * member that is not the leader. With TLS options it serves HTTPS, and with
 * a CA it requires client certificates (and checks their CN when a list is given).
 * With `dashboard`, it also serves the status page at `/dashboard/` and the
 * page's read-only endpoints (`dashboard/summary`, `dashboard/regions`,
 * `dashboard/region-changes`), behind the same TLS and CN check.
 */
export async function startStatusServer(addr: { host: string; port: number }, deps: StatusServerDeps): Promise<StatusServer> {
  const { leadership, metrics, limits, log, tls } = deps;
  const dashboardApi = deps.dashboard === undefined ? undefined : createDashboardApi(deps.dashboard);

  function cluster(): Cluster {
    try {
      return leadership.serving();
    } catch (err) {
      if (isPdError(err, "NOT_LEADER")) throw new HttpError(503, "not leader", { leader: err.leaderAddr ?? null });
      throw new HttpError(503, isPdError(err) ? err.message : "not serving");
    }
  }

  function serving(): boolean {
    if (deps.stopping()) return false;
    try {
      leadership.serving();
      return true;
    } catch {
      return false;
    }
  }

  async function route(url: URL): Promise<{ status: number; body: unknown } | { text: string; contentType: string }> {
    const path = url.pathname;
    if (path === "/metrics") {
      // Metrics can be off while the inspection API is on: say so, rather than fail.
      if (metrics === undefined) throw new HttpError(404, "metrics are off on this server (metrics: false)");
      return { text: await metrics.registry.metrics(), contentType: metrics.registry.contentType };
    }
    if (!path.startsWith(`${API}/`)) throw new HttpError(404, `no such path ${path}`);
    const rest = path.slice(API.length + 1);
    const q = url.searchParams;
    if (rest === "health") {
      const ok = serving();
      return { status: ok ? 200 : 503, body: { name: deps.name, health: ok, status: ok ? "SERVING" : "NOT_SERVING" } };
    }
    if (rest === "members") return { status: 200, body: membersToTikvJson(leadership.members()) };
    if (rest === "stores") return { status: 200, body: storesToTikvJson(cluster().storeStatuses()) };
    if (rest === "stores/limit") {
      const c = cluster();
      return { status: 200, body: storeLimitsToTikvJson(c.schedulingConfig, c.storeStatuses().map((x) => x.storeId)) };
    }
    if (rest === "operators" || rest === "operators/records") {
      const c = cluster();
      const limit = limitParam(q);
      let ops = rest === "operators" ? c.scheduling.listOperators() : c.scheduling.operators.history();
      const kinds = q.getAll("kind");
      if (kinds.length > 0) ops = ops.filter((op) => kinds.includes(tikvOperatorKind(op.kind)));
      if (limit !== undefined) ops = ops.slice(0, limit);
      return { status: 200, body: q.has("object") ? ops.map(operatorToTikvJson) : ops.map(operatorToTikvString) };
    }
    if (rest.startsWith("operators/")) {
      const id = parseId("region", rest.slice("operators/".length));
      const c = cluster();
      const live = c.scheduling.operators.get(id);
      const op = live !== undefined ? c.scheduling.listOperators().find((o) => o.regionId === id) : c.scheduling.operators.history().find((o) => o.regionId === id);
      if (op === undefined) throw new HttpError(404, `no operator for region ${id}`);
      return { status: 200, body: q.has("object") ? operatorToTikvJson(op) : operatorToTikvString(op) };
    }
    if (rest === "schedulers") {
      const want = q.get("status");
      if (want !== null && want !== "paused") throw new HttpError(400, `invalid status ${JSON.stringify(want)}: expected paused`);
      return { status: 200, body: cluster().schedulers().filter((x) => want === null || x.paused).map((x) => x.name) };
    }
    if (rest.startsWith("checker/")) {
      const name = rest.slice("checker/".length);
      const checker = cluster().schedulers().find((x) => x.name === `${name}-checker`);
      if (checker === undefined) throw new HttpError(404, `no checker ${JSON.stringify(name)}`);
      return { status: 200, body: { paused: checker.paused } };
    }
    if (rest === "config" || rest === "config/schedule" || rest === "config/replicate") {
      const c = cluster();
      const json = schedulingConfigToTikvJson(c.schedulingConfig, {
        maxStoreDownTimeMs: c.liveness.downAfterMs,
        leaderScheduleLimit: c.scheduling.limits.maxInFlightPerStore,
      });
      return { status: 200, body: rest === "config" ? json : rest === "config/schedule" ? json.schedule : json.replication };
    }
    if (rest.startsWith("store/")) {
      const id = parseId("store", rest.slice("store/".length));
      const s = cluster().storeStatuses().find((x) => x.storeId === id);
      if (s === undefined) throw new HttpError(404, `store ${id} not found`);
      return { status: 200, body: storeToTikvJson(s) };
    }
    if (rest === "regions") {
      const limitRaw = q.get("limit");
      let limit = limits.defaultScanLimit;
      if (limitRaw !== null) {
        if (!/^[1-9][0-9]{0,8}$/.test(limitRaw)) throw new HttpError(400, `invalid limit ${JSON.stringify(limitRaw)}: expected a positive integer`);
        limit = Number(limitRaw);
        if (limit > limits.maxScanLimit) throw new HttpError(400, `limit ${limit} exceeds ${limits.maxScanLimit}`);
      }
      // The raw (still percent-encoded) value: searchParams would decode it as
      // UTF-8 first, mangling binary keys before keyFromUrl decodes the bytes.
      const startKey = keyFromUrl(rawQueryParam(url.search, "start_key") ?? "", q.get("format"));
      if (startKey === undefined) throw new HttpError(400, "invalid start_key or format (format is raw or hex)");
      if (startKey.length > limits.maxKeyBytes) throw new HttpError(400, `start_key: ${startKey.length} bytes exceed the limit of ${limits.maxKeyBytes}`);
      return { status: 200, body: regionPageToTikvJson(cluster().regions.page(startKey, limit)) };
    }
    if (rest.startsWith("region/id/")) {
      const id = parseId("region", rest.slice("region/id/".length));
      const r = cluster().regions.getRegion(id);
      if (r === undefined) throw new HttpError(404, `region ${id} not found`);
      return { status: 200, body: regionToTikvJson(r) };
    }
    if (rest.startsWith("region/key/")) {
      const key = keyFromUrl(rest.slice("region/key/".length), q.get("format"));
      if (key === undefined) throw new HttpError(400, "invalid key or format (format is raw or hex)");
      if (key.length > limits.maxKeyBytes) throw new HttpError(400, `key: ${key.length} bytes exceed the limit of ${limits.maxKeyBytes}`);
      const r = cluster().getRegionByKey(key);
      if (r === undefined) throw new HttpError(404, `no region holds key ${keyToTikvHex(key) || '""'}`);
      return { status: 200, body: regionToTikvJson(r) };
    }
    const page = dashboardApi?.(rest, q, cluster);
    if (page !== undefined) return { status: 200, body: await page };
    throw new HttpError(404, `no such path ${path}`);
  }

  const allowed = tls?.allowedCNs !== undefined && tls.allowedCNs.length > 0 ? new Set(tls.allowedCNs) : undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (allowed !== undefined) {
      const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
      if (typeof cn !== "string" || !allowed.has(cn)) {
        send(res, 403, stringify({ error: `client certificate CN ${JSON.stringify(cn ?? "")} is not allowed` }));
        return;
      }
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, 405, stringify({ error: `method ${req.method} not allowed` }));
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://status");
    } catch {
      send(res, 400, stringify({ error: "malformed URL" }));
      return;
    }
    const dashboard = deps.dashboard;
    if (dashboard !== undefined && (url.pathname === "/" || url.pathname === "/dashboard" || url.pathname.startsWith("/dashboard/"))) {
      serveDashboardFile(req, res, url.pathname, dashboard.assets).catch((err: unknown) => {
        log.error({ err, path: url.pathname }, "status page request failed");
        if (!res.headersSent) send(res, 500, stringify({ error: "internal error" }));
        else res.destroy();
      });
      return;
    }
    route(url).then(
      (out) => {
        if ("text" in out) send(res, 200, out.text, out.contentType);
        else send(res, out.status, stringify(out.body));
      },
      (err: unknown) => {
        if (err instanceof HttpError) {
          send(res, err.status, stringify({ error: err.message, ...err.extra }));
          return;
        }
        if (err instanceof DashboardHttpError) {
          send(res, err.status, stringify({ error: err.message }));
          return;
        }
        log.error({ err, path: url.pathname }, "status request failed");
        send(res, 500, stringify({ error: "internal error" }));
      },
    );
  };

  const server: Server = tls
    ? createHttpsServer(
        {
          key: tls.key,
          cert: tls.cert,
          ...(tls.caCert !== undefined && { ca: tls.caCert, requestCert: true, rejectUnauthorized: true }),
        },
        handle,
      )
    : createHttpServer(handle);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : addr.port;
  const host = addr.host.includes(":") && !addr.host.startsWith("[") ? `[${addr.host}]` : addr.host;
  return {
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The first value of `name` in a query string, still percent-encoded; null when absent. */
export function rawQueryParam(search: string, name: string): string | null {
  for (const part of search.replace(/^\?/, "").split("&")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === name) return eq < 0 ? "" : part.slice(eq + 1);
  }
  return null;
}
