import { mkdtemp, readFile, rm } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, credentials } from "@grpc/grpc-js";
import { PDClient } from "@nokv/pd-proto";
import { openLocalFileStore } from "@nokv/pd-storage";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPdServer, type PdServer } from "./index.js";
import { call, failure } from "./testing/grpc-call.js";

// The Grafana dashboard in the repository is checked against what PD really
// exports: every metric a panel's query names must be in a real scrape of
// /metrics, and every label it groups or filters by must be on that metric.

interface Dashboard {
  readonly panels: ReadonlyArray<{ readonly title: string; readonly type: string; readonly targets?: ReadonlyArray<{ readonly expr: string }> }>;
}

/** Metric names in a PromQL expression: PD's own and the Node.js process metrics prom-client adds. */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b((?:pd|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!))];
}

/** Labels an expression groups by (`by (…)`, `on (…)`) or matches on (`{label op "value"}`), with the values it asks for equal. */
function labelsUsed(expr: string): { names: Set<string>; equals: Array<[string, string]> } {
  const names = new Set<string>();
  const equals: Array<[string, string]> = [];
  for (const m of expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)) for (const l of m[1]!.split(",")) if (l.trim() !== "") names.add(l.trim());
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const part of m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      names.add(part[1]!);
      if (part[2] === "=") equals.push([part[1]!, part[3]!]);
    }
  }
  // Prometheus adds these to every scraped series.
  names.delete("job");
  names.delete("instance");
  names.delete("le");
  return { names, equals };
}

interface Scrape {
  /** Every name a query may use: sample names, and _bucket/_sum/_count of histograms. */
  readonly names: Set<string>;
  /** Sample name → label name → values seen. */
  readonly labels: Map<string, Map<string, Set<string>>>;
}

function parseScrape(text: string): Scrape {
  const names = new Set<string>();
  const labels = new Map<string, Map<string, Set<string>>>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type !== null) {
      names.add(type[1]!);
      if (type[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(type[1]! + s);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (m === null) continue;
    names.add(m[1]!);
    let byLabel = labels.get(m[1]!);
    if (byLabel === undefined) labels.set(m[1]!, (byLabel = new Map()));
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) {
      let values = byLabel.get(l[1]!);
      if (values === undefined) byLabel.set(l[1]!, (values = new Set()));
      values.add(l[2]!);
    }
  }
  return { names, labels };
}

/** What is wrong with one query against a scrape: missing metrics, labels no named metric has, label values never seen. */
function problems(expr: string, scrape: Scrape): string[] {
  const out: string[] = [];
  const metrics = metricNames(expr);
  if (metrics.length === 0) out.push(`names no PD metric: ${expr}`);
  for (const n of metrics) if (!scrape.names.has(n)) out.push(`metric ${n} is not in /metrics`);
  const { names, equals } = labelsUsed(expr);
  const onAny = (label: string) => metrics.some((n) => scrape.labels.get(n)?.has(label));
  for (const l of names) if (!onAny(l)) out.push(`label ${l} is on none of ${metrics.join(", ")}`);
  for (const [l, v] of equals) if (!metrics.some((n) => scrape.labels.get(n)?.get(l)?.has(v))) out.push(`no series of ${metrics.join(", ")} has ${l}="${v}"`);
  return out;
}

const DASHBOARD = new URL("../../../grafana/pd-lite-dashboard.json", import.meta.url);

describe("the Grafana dashboard against a real /metrics", () => {
  let server: PdServer;
  let pd: Client;
  let dir: string;
  let scrape: Scrape;
  let dashboard: Dashboard;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pd-grafana-"));
    server = await createPdServer({
      addr: "127.0.0.1:0",
      statusAddr: "127.0.0.1:0",
      logger: pino({ level: "silent" }),
      store: await openLocalFileStore({ dir }),
    });
    const client = new PDClient(server.address, credentials.createInsecure());
    pd = client;
    // Traffic of every kind a panel shows, a rejected heartbeat and an error code included.
    await call(client, "tso", { count: 4n });
    await call(client, "allocId", { count: 2n });
    await call(client, "storeHeartbeat", { storeId: 1n, regionNum: 1n, leaderNum: 1n, capacity: 100n, available: 50n });
    const region = { id: 5n, startKey: Buffer.alloc(0), endKey: Buffer.alloc(0), epochVersion: 2n, epochConfVersion: 1n, peers: [{ storeId: 1n, peerId: 51n }] };
    await call(client, "regionHeartbeat", { region });
    await failure(call(client, "regionHeartbeat", { region: { ...region, epochVersion: 1n } }));
    await call(client, "getRegionByKey", { key: Buffer.from("k") });
    const text = await new Promise<string>((resolve, reject) =>
      get(`http://${server.statusAddress}/metrics`, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(body));
      }).on("error", reject),
    );
    scrape = parseScrape(text);
    dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as Dashboard;
  });
  afterAll(async () => {
    pd?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("covers what the issue asks for", () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join("\n");
    for (const name of [
      "pd_grpc_requests_total",
      "pd_grpc_request_duration_seconds_bucket",
      "pd_tso_timestamps_total",
      "pd_id_allocated_total",
      "pd_heartbeats_total",
      "pd_regions",
      "pd_stores",
      "pd_storage_append_duration_seconds_bucket",
      "pd_is_leader",
    ]) {
      expect(metricNames(exprs)).toContain(name);
    }
  });

  it("every metric and label a panel's query names exists in the scrape", () => {
    const found: string[] = [];
    let queries = 0;
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) {
        queries++;
        for (const problem of problems(t.expr, scrape)) found.push(`${p.title}: ${problem}`);
      }
    }
    expect(queries).toBeGreaterThan(25);
    expect(found).toEqual([]);
  });

  it("the check fails on a metric or a label PD does not export", () => {
    expect(problems("rate(pd_tso_timestamp_total[1m])", scrape)).toEqual(["metric pd_tso_timestamp_total is not in /metrics"]);
    expect(problems("sum by (method) (pd_tso_timestamps_total)", scrape)).toEqual(["label method is on none of pd_tso_timestamps_total"]);
    expect(problems('pd_heartbeats_total{result="refused"}', scrape)).toEqual(['no series of pd_heartbeats_total has result="refused"']);
  });
});
