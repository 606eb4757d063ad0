import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingHttpHeaders, request } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type Client, credentials } from "@grpc/grpc-js";
import type { DashboardRegionChangesJson, DashboardRegionPageJson, DashboardSummaryJson } from "@nokv/pd-dashboard";
import { operatorFromTikvJson, type TikvOperatorJson } from "@nokv/pd-model";
import { PDClient, type RegionMeta } from "@nokv/pd-proto";
import { waitUntil } from "@nokv/testkit";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createPdServer, type PdServer, type PdServerOptions } from "../index.js";
import { call } from "../testing/grpc-call.js";
import { RegionJournal } from "./region-journal.js";

const silent = pino({ level: "silent" });
const servers: PdServer[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

interface Res {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly json: any;
}

function get(base: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(body.toString("utf8"));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function start(opts: PdServerOptions = {}) {
  const server = await createPdServer({ addr: "127.0.0.1:0", statusAddr: "127.0.0.1:0", logger: silent, ...opts });
  servers.push(server);
  const pd = new PDClient(server.address, credentials.createInsecure());
  clients.push(pd);
  const base = `http://${server.statusAddress}`;
  return { server, pd, base, http: (path: string, headers?: Record<string, string>, method?: string) => get(base, path, headers, method) };
}

const b = (s: string) => Buffer.from(s);
function meta(id: bigint, start: string, end: string, version = 1n, stores = [1n]): RegionMeta {
  return { id, startKey: b(start), endKey: b(end), epochVersion: version, epochConfVersion: 1n, peers: stores.map((s) => ({ storeId: s, peerId: id * 10n + s })) };
}
const hb = (pd: PDClient, region: RegionMeta) => call<{ region: RegionMeta }, { accepted: boolean }>(pd, "regionHeartbeat", { region });
const storeHb = (pd: PDClient, storeId: bigint, leaderNum = 0n) =>
  call(pd, "storeHeartbeat", { storeId, regionNum: 2n, leaderNum, capacity: 1000n, available: 600n });

describe("the status page's files", () => {
  it("redirects / to /dashboard/ and serves the HTML no-cache, with a self-only CSP", async () => {
    const { http } = await start();
    for (const path of ["/", "/dashboard"]) {
      const r = await http(path);
      expect(r.status).toBe(302);
      expect(r.headers.location).toBe("/dashboard/");
    }
    const page = await http("/dashboard/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    const html = page.body.toString("utf8");
    // Nothing from another origin: every asset is a relative, hashed name.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const js = /src="(assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const css = /href="(assets\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    expect(css).toBeDefined();

    const script = await http(`/dashboard/${js}`);
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(script.headers["content-encoding"]).toBeUndefined();
    const style = await http(`/dashboard/${css}`);
    expect(style.headers["content-type"]).toBe("text/css; charset=utf-8");

    // gzip when asked for, the same bytes once inflated; 304 for a known ETag.
    const zipped = await http(`/dashboard/${js}`, { "accept-encoding": "gzip, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toBe("accept-encoding");
    expect(zipped.body.length).toBeLessThan(script.body.length / 2);
    expect(gunzipSync(zipped.body).equals(script.body)).toBe(true);
    const again = await http(`/dashboard/${js}`, { "if-none-match": String(script.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it("serves only the built files, and nothing but GET and HEAD", async () => {
    const { http } = await start();
    for (const path of ["/dashboard/manifest.json", "/dashboard/../package.json", "/dashboard/assets/", "/dashboard/%2e%2e/index.js", "/dashboard/index.html.gz"]) {
      expect((await http(path)).status, path).toBe(404);
    }
    for (const method of ["POST", "PUT", "DELETE"]) {
      expect((await http("/dashboard/", {}, method)).status).toBe(405);
      expect((await http("/pd/api/v1/dashboard/summary", {}, method)).status).toBe(405);
    }
    const head = await http("/dashboard/", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });
});

describe("the status page's endpoints", () => {
  it("summary: this member, the leader, uptime, allocators, TiKV-shaped stores and PD's ring of samples", async () => {
    const { pd, http } = await start();
    await storeHb(pd, 1n, 1n);
    await hb(pd, meta(7n, "", ""));
    await call(pd, "tso", { count: 3n });
    const s = await waitUntil("a sample with the store", async () => {
      const j = (await http("/pd/api/v1/dashboard/summary")).json as DashboardSummaryJson;
      return j.history.samples.some((x) => x.stores["1"] !== undefined && x.regions === 1) ? j : undefined;
    });
    expect(s.member).toMatchObject({ name: "pd", serving: true });
    expect(s.member.uptime_ms).toBeGreaterThanOrEqual(0);
    expect(s.members.leader?.name).toBe("pd");
    const c = s.cluster!;
    expect(c.operators).toEqual({ in_flight: 0, counters: { create: 0, success: 0, timeout: 0, cancelled: 0, replaced: 0 } });
    expect(c.region_count).toBe(1);
    expect(c.stores[0]).toMatchObject({ store: { id: "1", state_name: "Up" }, status: { leader_count: "1" } });
    expect(BigInt(c.allocators.id_next)).toBeGreaterThan(70n); // moved past the peer ids the heartbeat reported
    expect(BigInt(c.allocators.id_ceiling)).toBeGreaterThanOrEqual(BigInt(c.allocators.id_next) - 1n);
    // The last TSO decodes to now (physical ms above the 18 logical bits).
    expect(Number(BigInt(c.allocators.tso_last) >> 18n)).toBeGreaterThan(Date.now() - 60_000);
    expect(BigInt(c.allocators.tso_ceiling)).toBeGreaterThanOrEqual(BigInt(c.allocators.tso_last));
    const last = s.history.samples.at(-1)!;
    expect(last.counters?.tso_timestamps).toBe(3);
    expect(last.counters?.tso_requests).toBe(1);
    expect(last.counters?.heartbeats["region/accepted/none"]).toBe(1);
    expect(last.stores["1"]).toEqual(["2", "1", "600", "1000", 0]);

    // `since` returns only newer samples.
    const later = (await http(`/pd/api/v1/dashboard/summary?since=${s.history.seq}`)).json as DashboardSummaryJson;
    expect(later.history.samples.every((x) => x.seq > s.history.seq)).toBe(true);
  });

  it("regions: compact pages in key order, ids exact above 2^53, end keys elided when they are the next start", async () => {
    const { pd, http } = await start();
    const big = 9007199254740993n; // 2^53 + 1: a JSON number would round it
    await hb(pd, meta(1n, "", "g"));
    await hb(pd, meta(big, "g", "m", 3n, [1n, 2n]));
    await hb(pd, meta(3n, "p", ""));
    const all = (await http("/pd/api/v1/dashboard/regions")).json as DashboardRegionPageJson;
    expect(all.count).toBe(3);
    expect(all.has_more).toBe(false);
    expect(all.regions).toEqual([
      ["1", "", null, "1", "1", "", ["1", "11"]],
      [big.toString(), "67", "6D", "3", "1", "", ["1", (big * 10n + 1n).toString(), "2", (big * 10n + 2n).toString()]],
      ["3", "70", "", "1", "1", "", ["1", "31"]],
    ]);
    const first = (await http("/pd/api/v1/dashboard/regions?limit=2")).json as DashboardRegionPageJson;
    expect(first.has_more).toBe(true);
    expect(first.next_start_key).toBe("6D");
    expect(first.regions[1]![2]).toBe("6D"); // the page's last end key is always given
    const second = (await http(`/pd/api/v1/dashboard/regions?limit=2&start_key=${first.next_start_key}`)).json as DashboardRegionPageJson;
    expect(second.regions.map((r) => r[0])).toEqual(["3"]);
    expect((await http("/pd/api/v1/dashboard/regions?start_key=zz")).status).toBe(400);
    expect((await http("/pd/api/v1/dashboard/regions?limit=0")).status).toBe(400);
  });

  it("region-changes: what changed since a position, as it is now; a stale position or generation says reset", async () => {
    const { pd, http } = await start();
    await hb(pd, meta(1n, "", ""));
    const page = (await http("/pd/api/v1/dashboard/regions")).json as DashboardRegionPageJson;
    const nothing = (await http(`/pd/api/v1/dashboard/region-changes?generation=${page.generation}&since=${page.seq}`)).json as DashboardRegionChangesJson;
    expect(nothing).toEqual({ generation: page.generation, seq: page.seq, reset: false, regions: [], removed: [] });

    // A split: region 1 shrinks (v2), region 2 takes the upper half; then region 2 is removed.
    await hb(pd, meta(1n, "", "m", 2n));
    await hb(pd, meta(2n, "m", "", 2n));
    const split = (await http(`/pd/api/v1/dashboard/region-changes?generation=${page.generation}&since=${page.seq}`)).json as DashboardRegionChangesJson;
    expect(split.reset).toBe(false);
    expect(split.seq).toBeGreaterThan(page.seq);
    expect(split.regions).toEqual([
      ["1", "", "6D", "2", "1", "", ["1", "11"]],
      ["2", "6D", "", "2", "1", "", ["1", "21"]],
    ]);
    await call(pd, "removeRegion", { regionId: 2n });
    const removed = (await http(`/pd/api/v1/dashboard/region-changes?generation=${page.generation}&since=${split.seq}`)).json as DashboardRegionChangesJson;
    expect(removed.removed).toEqual(["2"]);
    expect(removed.regions).toEqual([]);

    expect(((await http(`/pd/api/v1/dashboard/region-changes?generation=other&since=0`)).json as DashboardRegionChangesJson).reset).toBe(true);
    expect(((await http(`/pd/api/v1/dashboard/region-changes?generation=${page.generation}&since=999`)).json as DashboardRegionChangesJson).reset).toBe(true);
    expect(((await http(`/pd/api/v1/dashboard/region-changes?generation=${page.generation}`)).json as DashboardRegionChangesJson).reset).toBe(true);
  });

  it("operators: a leader transfer for stores without capabilities, in flight then ended, in the one shape the page reads", async () => {
    const { pd, http } = await start();
    await hb(pd, meta(1n, "", "m", 1n, [1n, 2n]));
    await hb(pd, meta(2n, "m", "", 1n, [1n, 2n]));
    await storeHb(pd, 2n, 0n);
    await storeHb(pd, 1n, 2n); // two leaders against none: PD plans one transfer from store 1 to 2
    const ops = (await http("/pd/api/v1/operators?object=1&limit=50")).json as TikvOperatorJson[];
    expect(ops).toHaveLength(1);
    const op = operatorFromTikvJson(ops[0]!);
    expect(op).toMatchObject({
      kind: "balance-leader",
      state: "running",
      steps: ["transfer leader from store 1 to store 2"],
      currentStep: 0,
      regionEpoch: { version: 1n, confVersion: 1n },
    });
    expect(ops[0]).toMatchObject({ desc: "balance-leader", kind: "leader", status: "Started", steps: [{ desc: "transfer leader from store 1 to store 2", done: false }] });
    expect(ops[0]).not.toHaveProperty("finished_at_ms");
    expect(Number(op.createdAtMs)).toBeGreaterThan(Date.now() - 60_000);
    const regionId = op.regionId;
    const summary = (await http("/pd/api/v1/dashboard/summary")).json as DashboardSummaryJson;
    expect(summary.cluster!.operators).toEqual({ in_flight: 1, counters: { create: 1, success: 0, timeout: 0, cancelled: 0, replaced: 0 } });
    expect((await http("/pd/api/v1/operators/records?object=1")).json).toEqual([]);

    // Store 1 reports one leader fewer: the transfer completed, and moved to the records with its outcome.
    await storeHb(pd, 1n, 1n);
    expect((await http("/pd/api/v1/operators?object=1")).json).toEqual([]);
    const records = (await http("/pd/api/v1/operators/records?object=1&limit=8")).json as TikvOperatorJson[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ region_id: regionId.toString(), status: "Success", steps: [{ done: true }] });
    expect(BigInt(records[0]!.finished_at_ms!)).toBe(BigInt(records[0]!.created_at_ms) + BigInt(records[0]!.age_ms));
    const after = (await http("/pd/api/v1/dashboard/summary")).json as DashboardSummaryJson;
    expect(after.cluster!.operators).toEqual({ in_flight: 0, counters: { create: 1, success: 1, timeout: 0, cancelled: 0, replaced: 0 } });
    // PD now knows that region's leader: the map colours it by store 2.
    const page = (await http("/pd/api/v1/dashboard/regions")).json as DashboardRegionPageJson;
    expect(page.regions.find((r) => r[0] === regionId.toString())![5]).toBe("2");
    // The retired path is gone, not silently empty.
    expect((await http("/pd/api/v1/leader-transfers")).status).toBe(404);
    expect((await http("/pd/api/v1/operators?limit=0")).status).toBe(400);
  });

  it("a member that may not serve answers the summary without cluster data, and 503 for the cluster's endpoints", async () => {
    const { server, http } = await start();
    const leadership = server.leadership;
    const serving = leadership.serving.bind(leadership);
    (leadership as { serving: () => unknown }).serving = () => {
      throw Object.assign(new Error("not leader"), { name: "PdError", code: "NOT_LEADER", leaderAddr: "10.0.0.9:2379" });
    };
    try {
      const s = (await http("/pd/api/v1/dashboard/summary")).json as DashboardSummaryJson;
      expect(s.member.serving).toBe(false);
      expect(s.cluster).toBeNull();
      expect((await http("/pd/api/v1/dashboard/regions")).status).toBe(503);
      expect((await http("/pd/api/v1/operators?object=1")).status).toBe(503);
    } finally {
      (leadership as { serving: () => unknown }).serving = serving;
    }
  });
});

describe("RegionJournal", () => {
  it("answers the distinct ids after a position, and reset once the ring has moved past it", () => {
    const j = new RegionJournal(4);
    const put = (id: bigint) => ({ kind: "put" as const, region: { id, startKey: new Uint8Array(), endKey: new Uint8Array(), epoch: { version: 1n, confVersion: 1n }, peers: [] } });
    j.record([put(1n), put(2n), { kind: "delete", regionId: 1n }]);
    expect(j.seq).toBe(3);
    expect(j.since(0)).toEqual({ reset: false, ids: [1n, 2n] });
    expect(j.since(2)).toEqual({ reset: false, ids: [1n] });
    expect(j.since(3)).toEqual({ reset: false, ids: [] });
    expect(j.since(4)).toEqual({ reset: true });
    j.record([put(3n), put(4n)]);
    expect(j.since(0)).toEqual({ reset: true }); // 5 edits, 4 kept
    expect(j.since(1)).toEqual({ reset: false, ids: [2n, 1n, 3n, 4n] });
    expect(j.since(-1)).toEqual({ reset: true });
    expect(j.since(Number.NaN)).toEqual({ reset: true });
  });
});

describe("the status page behind the status port's TLS", () => {
  it("is served over mutual TLS to an allowed client certificate, and refused (403) to another CN", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pd-dash-tls-"));
    try {
      const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
      ssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ca");
      const leaf = (name: string, ext?: string) => {
        ssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
        if (ext !== undefined) writeFileSync(join(dir, `${name}.ext`), ext);
        ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", ...(ext === undefined ? [] : ["-extfile", `${name}.ext`]));
        return { cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) };
      };
      const ca = readFileSync(join(dir, "ca.crt"));
      const server = leaf("pd", "subjectAltName=IP:127.0.0.1\n");
      const viewer = leaf("viewer");
      const other = leaf("other");
      const pd = await createPdServer({
        addr: "127.0.0.1:0",
        statusAddr: "127.0.0.1:0",
        logger: silent,
        tls: { cert: server.cert, key: server.key, caCert: ca, allowedCNs: ["viewer"] },
      });
      servers.push(pd);
      const fetchTls = (path: string, client: { cert: Buffer; key: Buffer }) =>
        new Promise<{ status: number; type: string }>((resolve, reject) => {
          const req = httpsRequest(`https://${pd.statusAddress}${path}`, { ca, cert: client.cert, key: client.key }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]) }));
          });
          req.on("error", reject);
          req.end();
        });
      expect(await fetchTls("/dashboard/", viewer)).toEqual({ status: 200, type: "text/html; charset=utf-8" });
      expect((await fetchTls("/pd/api/v1/dashboard/summary", viewer)).status).toBe(200);
      expect((await fetchTls("/dashboard/", other)).status).toBe(403);
      expect((await fetchTls("/pd/api/v1/dashboard/summary", other)).status).toBe(403);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
