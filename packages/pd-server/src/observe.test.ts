import { mkdtemp, rm } from "node:fs/promises";
import { get } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import {
  type Client,
  credentials,
  loadPackageDefinition,
  makeClientConstructor,
  status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { PDClient, type RegionMeta, StoreLiveness } from "@nokv/pd-proto";
import { PdError } from "@nokv/pd-core";
import { createMemoryStore, openLocalFileStore } from "@nokv/pd-storage";
import { service as healthService } from "grpc-health-check";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createPdServer, type PdServer, type PdServerOptions } from "./index.js";
import { call, failure } from "./testing/grpc-call.js";
import { waitUntil } from "@nokv/testkit";

const silent = pino({ level: "silent" });
const servers: PdServer[] = [];
const clients: Client[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(opts: PdServerOptions = {}): Promise<{ server: PdServer; pd: PDClient; http: (path: string) => Promise<Http> }> {
  const server = await createPdServer({ addr: "127.0.0.1:0", statusAddr: "127.0.0.1:0", logger: silent, ...opts });
  servers.push(server);
  const pd = new PDClient(server.address, credentials.createInsecure());
  clients.push(pd);
  return { server, pd, http: (path) => httpGet(`http://${server.statusAddress}${path}`) };
}

interface Http {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** Parsed JSON, asserted field by field. */
  readonly json: any;
}

function httpGet(url: string, method = "GET"): Promise<Http> {
  return new Promise((resolve, reject) => {
    const req = get(url, { method }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"]), text, json });
      });
    });
    req.on("error", reject);
  });
}


const b = (s: string) => Buffer.from(s);
function meta(id: bigint, start: string | Buffer, end: string | Buffer, version = 1n, stores = [1n]): RegionMeta {
  return {
    id,
    startKey: typeof start === "string" ? b(start) : start,
    endKey: typeof end === "string" ? b(end) : end,
    epochVersion: version,
    epochConfVersion: 1n,
    peers: stores.map((s) => ({ storeId: s, peerId: id * 10n + s })),
  };
}
const hb = (pd: PDClient, region: RegionMeta) => call<{ region: RegionMeta }, { accepted: boolean }>(pd, "regionHeartbeat", { region });
const storeHb = (pd: PDClient, storeId: bigint, leaderNum = 0n) =>
  call(pd, "storeHeartbeat", { storeId, regionNum: 2n, leaderNum, capacity: 1000n, available: 600n });

/** The value of one sample line of a Prometheus text exposition. */
function sample(text: string, name: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return undefined;
}

describe("metrics on the status address", () => {
  it("counts RPCs by method and code, timestamps and ids handed out, heartbeats by reason, and samples the model", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pd-metrics-"));
    dirs.push(dir);
    const { pd, http } = await start({ store: await openLocalFileStore({ dir }) });
    for (let i = 0; i < 3; i++) await call(pd, "tso", { count: 5n });
    await call(pd, "allocId", { count: 7n });
    await hb(pd, meta(1n, "", "", 2n));
    await failure(hb(pd, meta(1n, "", "", 1n)));
    await failure(storeHb(pd, 0n));
    await storeHb(pd, 1n);
    await call(pd, "getRegionByKey", { key: b("k") });

    const res = await http("/metrics");
    expect(res.status).toBe(200);
    expect(res.contentType).toContain("text/plain");
    const m = res.text;
    expect(sample(m, 'pd_grpc_requests_total{method="Tso",code="OK"}')).toBe(3);
    expect(sample(m, 'pd_grpc_request_duration_seconds_count{method="Tso"}')).toBe(3);
    expect(sample(m, 'pd_grpc_requests_total{method="RegionHeartbeat",code="FAILED_PRECONDITION"}')).toBe(1);
    expect(sample(m, 'pd_grpc_requests_total{method="StoreHeartbeat",code="INVALID_ARGUMENT"}')).toBe(1);
    expect(sample(m, "pd_tso_timestamps_total")).toBe(15);
    expect(sample(m, 'pd_tso_batch_size_bucket{le="4"}')).toBe(0);
    expect(sample(m, 'pd_tso_batch_size_bucket{le="16"}')).toBe(3);
    expect(sample(m, "pd_id_allocated_total")).toBe(7);
    expect(sample(m, 'pd_heartbeats_total{type="region",result="accepted",reason="none"}')).toBe(1);
    expect(sample(m, 'pd_heartbeats_total{type="region",result="rejected",reason="stale_epoch"}')).toBe(1);
    expect(sample(m, 'pd_heartbeats_total{type="store",result="rejected",reason="invalid_argument"}')).toBe(1);
    expect(sample(m, 'pd_heartbeats_total{type="store",result="accepted",reason="none"}')).toBe(1);
    expect(sample(m, "pd_regions")).toBe(1);
    expect(sample(m, 'pd_stores{liveness="up"}')).toBe(1);
    expect(sample(m, 'pd_stores{liveness="down"}')).toBe(0);
    expect(sample(m, "pd_is_leader")).toBe(1);
    expect(sample(m, "pd_storage_append_edits_count")).toBe(1);
    expect(sample(m, "pd_storage_append_duration_seconds_count")).toBe(1);
    expect(sample(m, "pd_storage_state_write_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(sample(m, "pd_storage_log_syncs_total")).toBe(1);
    expect(sample(m, "pd_storage_log_appends_total")).toBe(1);
    expect(sample(m, "pd_scheduler_transfers_in_flight")).toBe(0);
    expect(sample(m, "pd_storage_compaction_failures_total")).toBe(0);
    expect(m).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
  });

  it("counts regions that report duplicate peers: each time one appears, and how many there are now", async () => {
    const { pd, http } = await start();
    const dup = (id: bigint, conf: bigint, peers: Array<[bigint, bigint]>) => ({
      ...meta(id, id === 1n ? "" : "m", id === 1n ? "m" : ""),
      epochConfVersion: conf,
      peers: peers.map(([storeId, peerId]) => ({ storeId, peerId })),
    });
    for (let i = 0; i < 3; i++) await hb(pd, dup(1n, 2n, [[1n, 10n], [1n, 11n]]));
    await hb(pd, dup(1n, 3n, [[1n, 10n], [1n, 11n], [2n, 12n]]));
    await hb(pd, dup(2n, 1n, [[1n, 20n], [2n, 21n]]));
    let m = (await http("/metrics")).text;
    expect(sample(m, "pd_region_duplicate_peers_total")).toBe(1);
    expect(sample(m, "pd_regions_duplicate_peers")).toBe(1);
    await hb(pd, dup(1n, 4n, [[1n, 10n], [2n, 12n]]));
    m = (await http("/metrics")).text;
    expect(sample(m, "pd_regions_duplicate_peers")).toBe(0);
    await hb(pd, dup(1n, 5n, [[2n, 12n], [2n, 13n]]));
    await hb(pd, dup(2n, 2n, [[1n, 20n], [1n, 20n]]));
    m = (await http("/metrics")).text;
    expect(sample(m, "pd_region_duplicate_peers_total")).toBe(3);
    expect(sample(m, "pd_regions_duplicate_peers")).toBe(2);
    expect(sample(m, 'pd_heartbeats_total{type="region",result="accepted",reason="none"}')).toBe(8);
  });

  it("answers /metrics with 404, not 500, when metrics are off beside a status port, and serves the rest", async () => {
    const { server, http, pd } = await start({ metrics: false });
    expect(server.metrics).toBeUndefined();
    await call(pd, "tso", { count: 1n });
    const res = await http("/metrics");
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: expect.stringContaining("metrics are off") });
    expect((await http("/pd/api/v1/health")).json).toMatchObject({ health: true });
  });

  it("records nothing and serves no status port unless asked", async () => {
    const server = await createPdServer({ addr: "127.0.0.1:0", logger: silent });
    servers.push(server);
    expect(server.statusAddress).toBeUndefined();
    expect(server.metrics).toBeUndefined();
  });
});

describe("inspection API (/pd/api/v1)", () => {
  it("lists stores with liveness, and answers one store or a JSON 404 / 400", async () => {
    const { pd, http } = await start();
    await storeHb(pd, 2n, 3n);
    await storeHb(pd, 1n, 1n);
    const stores = await http("/pd/api/v1/stores");
    expect(stores.status).toBe(200);
    expect(stores.contentType).toContain("application/json");
    expect(stores.json.count).toBe(2);
    expect(stores.json.stores.map((s: { store: { id: string } }) => s.store.id)).toEqual(["1", "2"]);
    expect(stores.json.stores[1]).toMatchObject({
      store: { id: "2", state_name: "Up" },
      status: { capacity: "1000", available: "600", leader_count: "3", region_count: "2" },
    });
    expect(Date.parse(stores.json.stores[1].status.last_heartbeat_ts)).toBeGreaterThan(Date.now() - 60_000);
    expect((await http("/pd/api/v1/store/2")).json.store.id).toBe("2");
    const missing = await http("/pd/api/v1/store/9");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: "store 9 not found" });
    for (const bad of ["0", "x", "-1", "18446744073709551616"]) {
      const r = await http(`/pd/api/v1/store/${bad}`);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(/invalid store id/);
    }
  });

  it("pages regions in key order with hex keys and uint64s as strings", async () => {
    const { pd, http } = await start();
    const big = (1n << 63n) + 1n;
    await hb(pd, { ...meta(big, "", "g"), peers: [{ storeId: 1n, peerId: big - 1n }] });
    await hb(pd, meta(2n, "g", "p"));
    await hb(pd, meta(3n, "p", Buffer.from([0xff, 0x00])));
    await hb(pd, meta(4n, Buffer.from([0xff, 0x00]), ""));
    const all = await http("/pd/api/v1/regions");
    expect(all.json.count).toBe(4);
    expect(all.json.has_more).toBe(false);
    expect(all.json.regions[0]).toEqual({
      id: big.toString(),
      start_key: "",
      end_key: "67",
      epoch: { conf_ver: "1", version: "1" },
      peers: [{ id: "9223372036854775808", store_id: "1" }],
    });
    const p1 = await http("/pd/api/v1/regions?limit=2");
    expect(p1.json.regions.map((r: { id: string }) => r.id)).toEqual([big.toString(), "2"]);
    expect(p1.json).toMatchObject({ count: 2, has_more: true, next_start_key: "70" });
    const p2 = await http(`/pd/api/v1/regions?limit=2&format=hex&start_key=${p1.json.next_start_key}`);
    expect(p2.json.regions.map((r: { id: string }) => r.id)).toEqual(["3", "4"]);
    expect(p2.json.has_more).toBe(false);
    expect((await http("/pd/api/v1/regions?start_key=h&limit=1")).json.regions[0].id).toBe("2");
    // A raw binary start key is percent-decoded to its bytes exactly once: ff01 lies in region 4
    // ([ff00, +inf)); decoded twice it would become ef bf bd 01, in region 3.
    const binary = await http("/pd/api/v1/regions?start_key=%FF%01&limit=1");
    expect(binary.status).toBe(200);
    expect(binary.json.regions[0].id).toBe("4");
    expect((await http("/pd/api/v1/regions?start_key=%25&limit=1")).status).toBe(200);
    for (const q of ["limit=0", "limit=abc", "limit=10001", "format=hex&start_key=zz", "format=base64"]) {
      expect((await http(`/pd/api/v1/regions?${q}`)).status).toBe(400);
    }
  });

  it("finds a region by id and by url-encoded or hex key, with JSON errors for the rest", async () => {
    const { pd, http } = await start();
    await hb(pd, meta(7n, "a b", Buffer.from([0xff])));
    expect((await http("/pd/api/v1/region/id/7")).json).toMatchObject({ id: "7", start_key: "612062", end_key: "FF" });
    expect((await http("/pd/api/v1/region/key/a%20c")).json.id).toBe("7");
    expect((await http("/pd/api/v1/region/key/%FE%01")).json.id).toBe("7");
    expect((await http("/pd/api/v1/region/key/FE01?format=hex")).json.id).toBe("7");
    const nf = await http("/pd/api/v1/region/key/%FF");
    expect(nf.status).toBe(404);
    expect(nf.json.error).toBe("no region holds key FF");
    expect((await http("/pd/api/v1/region/id/8")).status).toBe(404);
    expect((await http("/pd/api/v1/region/id/abc")).status).toBe(400);
    expect((await http("/pd/api/v1/region/key/%zz")).status).toBe(400);
    expect((await http("/pd/api/v1/nope")).status).toBe(404);
    expect((await http("/elsewhere")).json.error).toMatch(/no such path/);
    const post = await httpGet(`http://${servers[0]!.statusAddress}/pd/api/v1/stores`, "POST");
    expect(post.status).toBe(405);
  });

  it("reports health and members", async () => {
    const { server, http } = await start({ name: "pd-a" });
    expect((await http("/pd/api/v1/health")).json).toEqual({ name: "pd-a", health: true, status: "SERVING" });
    expect((await http("/pd/api/v1/members")).json).toEqual({
      members: [{ name: "pd-a", client_urls: [server.address], is_leader: true }],
      leader: { name: "pd-a", client_urls: [server.address], is_leader: true },
    });
  });
});

describe("inspection RPCs", () => {
  it("ListStores answers every store with stats, heartbeat time and liveness", async () => {
    const { pd } = await start();
    const before = Date.now();
    await storeHb(pd, 3n, 1n);
    const res = await call<unknown, { stores: Array<Record<string, unknown>> }>(pd, "listStores", {});
    expect(res.stores).toHaveLength(1);
    expect(res.stores[0]).toMatchObject({ storeId: 3n, leaderNum: 1n, regionNum: 2n, liveness: StoreLiveness.STORE_LIVENESS_UP });
    expect(res.stores[0]!.lastHeartbeatMs as bigint).toBeGreaterThanOrEqual(BigInt(before));
  });

  it("ListRegions pages in key order and refuses a limit above the maximum", async () => {
    const { pd } = await start({ limits: { maxScanLimit: 2, defaultScanLimit: 2 } });
    await hb(pd, meta(1n, "", "g"));
    await hb(pd, meta(2n, "g", "p"));
    await hb(pd, meta(3n, "p", ""));
    type Page = { regions: RegionMeta[]; hasMore: boolean; nextStartKey: Buffer };
    const p1 = await call<unknown, Page>(pd, "listRegions", { startKey: Buffer.alloc(0), limit: 0n });
    expect(p1.regions.map((r) => r.id)).toEqual([1n, 2n]);
    expect(p1.hasMore).toBe(true);
    expect(p1.nextStartKey.toString()).toBe("p");
    const p2 = await call<unknown, Page>(pd, "listRegions", { startKey: p1.nextStartKey, limit: 2n });
    expect(p2.regions.map((r) => r.id)).toEqual([3n]);
    expect(p2.hasMore).toBe(false);
    expect(await failure(call(pd, "listRegions", { startKey: Buffer.alloc(0), limit: 3n }))).toMatchObject({
      status: status.INVALID_ARGUMENT,
      code: "INVALID_ARGUMENT",
    });
  });

  it("GetRegionById answers the region, not_found without an error, and INVALID_ARGUMENT for id 0", async () => {
    const { pd } = await start();
    await hb(pd, meta(5n, "a", "b"));
    expect(await call(pd, "getRegionById", { regionId: 5n })).toEqual({ region: meta(5n, "a", "b"), notFound: false });
    expect(await call(pd, "getRegionById", { regionId: 6n })).toEqual({ region: undefined, notFound: true });
    expect(await failure(call(pd, "getRegionById", { regionId: 0n }))).toMatchObject({ status: status.INVALID_ARGUMENT });
  });
});

describe("request limits", () => {
  it("refuses keys over the limit with INVALID_ARGUMENT and changes nothing", async () => {
    const { pd, server } = await start({ limits: { maxKeyBytes: 8 } });
    const long = Buffer.alloc(9, 0x61);
    const refused = await failure(call(pd, "getRegionByKey", { key: long }));
    expect(refused).toMatchObject({ status: status.INVALID_ARGUMENT, code: "INVALID_ARGUMENT" });
    expect(refused.details).toBe("key: 9 bytes exceed the limit of 8");
    expect(await failure(hb(pd, meta(1n, long, "")))).toMatchObject({ status: status.INVALID_ARGUMENT });
    expect(await failure(hb(pd, meta(1n, "", long)))).toMatchObject({ status: status.INVALID_ARGUMENT });
    expect(await failure(call(pd, "listRegions", { startKey: long, limit: 1n }))).toMatchObject({ status: status.INVALID_ARGUMENT });
    expect(server.cluster.regions.size).toBe(0);
    await hb(pd, meta(1n, Buffer.alloc(8, 0x61), ""));
    expect(server.cluster.regions.size).toBe(1);
  });

  it("uses 64 KiB keys, 2^18 timestamps and 2^20 ids by default, and takes configured counts", async () => {
    const { pd } = await start();
    expect(await failure(call(pd, "getRegionByKey", { key: Buffer.alloc(64 * 1024 + 1) }))).toMatchObject({ status: status.INVALID_ARGUMENT });
    expect((await call<unknown, { notFound: boolean }>(pd, "getRegionByKey", { key: Buffer.alloc(64 * 1024) })).notFound).toBe(true);
    expect(await failure(call(pd, "tso", { count: (1n << 18n) + 1n }))).toMatchObject({ status: status.INVALID_ARGUMENT });
    expect(await failure(call(pd, "allocId", { count: (1n << 20n) + 1n }))).toMatchObject({ status: status.INVALID_ARGUMENT });
    const small = await start({ limits: { maxTsoCount: 10n, maxIdCount: 3n } });
    expect(await failure(call(small.pd, "tso", { count: 11n }))).toMatchObject({ status: status.INVALID_ARGUMENT, code: "INVALID_ARGUMENT" });
    expect(await failure(call(small.pd, "allocId", { count: 4n }))).toMatchObject({ status: status.INVALID_ARGUMENT });
    expect(await call(small.pd, "allocId", { count: 3n })).toEqual({ firstId: 1n, count: 3n });
  });

  it("refuses a message above maxMessageBytes (gRPC's RESOURCE_EXHAUSTED) and rejects bad limits", async () => {
    const { pd, server } = await start({ limits: { maxMessageBytes: 1024 } });
    const e = await failure(hb(pd, meta(1n, Buffer.alloc(600), Buffer.alloc(600, 1))));
    expect(e.status).toBe(status.RESOURCE_EXHAUSTED);
    expect(server.cluster.regions.size).toBe(0);
    await expect(createPdServer({ addr: "127.0.0.1:0", logger: silent, limits: { maxKeyBytes: 0 } })).rejects.toThrow(/maxKeyBytes/);
  });
});

describe("standard gRPC services", () => {
  const HealthClient = makeClientConstructor(healthService, "grpc.health.v1.Health");

  it("answers health checks: SERVING for '' and pb.PD, NOT_FOUND for others, NOT_SERVING while stopping", async () => {
    const server = await createPdServer({ addr: "127.0.0.1:0", logger: silent, shutdownGraceMs: 300 });
    servers.push(server);
    const health = new HealthClient(server.address, credentials.createInsecure());
    clients.push(health);
    expect(await call(health, "check", { service: "" })).toEqual({ status: "SERVING" });
    expect(await call(health, "check", { service: "pb.PD" })).toEqual({ status: "SERVING" });
    expect((await failure(call(health, "check", { service: "nope" }))).status).toBe(status.NOT_FOUND);
    const watch = (health as unknown as { watch(req: unknown): NodeJS.EventEmitter }).watch({ service: "pb.PD" });
    const seen: string[] = [];
    watch.on("data", (r: { status: string }) => seen.push(r.status));
    watch.on("error", () => undefined);
    await waitUntil("the condition", () => seen.length === 1);
    const closing = server.close();
    await waitUntil("the condition", () => seen.length === 2);
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    await closing;
  });

  it("serves reflection: tools can list pb.PD and the health service and fetch their descriptors", async () => {
    const { server } = await start();
    const require = createRequire(import.meta.url);
    const reflectionProto = join(dirname(require.resolve("@grpc/reflection")), "../proto/grpc/reflection/v1/reflection.proto");
    const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (addr: string, creds: unknown) => Client } } };
    };
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(server.address, credentials.createInsecure());
    clients.push(reflection);
    const ask = (req: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = (reflection as unknown as { ServerReflectionInfo(): NodeJS.ReadWriteStream }).ServerReflectionInfo();
        stream.on("data", (res: Record<string, unknown>) => {
          resolve(res);
          stream.end();
        });
        stream.on("error", reject);
        stream.write(req as never);
      });
    const list = (await ask({ list_services: "" })) as { list_services_response: { service: Array<{ name: string }> } };
    const names = list.list_services_response.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["pb.PD", "grpc.health.v1.Health"]));
    const file = (await ask({ file_containing_symbol: "pb.PD" })) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
    const text = Buffer.concat(file.file_descriptor_response.file_descriptor_proto).toString("latin1");
    expect(text).toContain("ListRegions");
    expect(text).toContain("GetRegionByKey");
  });
});

describe("structured logs", () => {
  it("writes one JSON line per significant event", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: "debug" }, sink);
    const server = await createPdServer({ addr: "0.0.0.0:0", logger });
    servers.push(server);
    const pd = new PDClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
    clients.push(pd);
    await call(pd, "tso", { count: 1n });
    await hb(pd, meta(1n, "", "", 2n));
    await failure(hb(pd, meta(1n, "", "", 1n)));
    await waitUntil("the condition", () => lines.some((l) => l.msg === "heartbeat rejected"));
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain("restored");
    expect(msgs).toContain("allocator ceiling persisted");
    expect(lines.find((l) => l.msg === "heartbeat rejected")).toMatchObject({ method: "RegionHeartbeat", reason: "STALE_EPOCH" });
    const warn = lines.find((l) => String(l.msg).includes("non-loopback"));
    expect(warn).toMatchObject({ level: 40 });
  });
});

describe("failures while storage is unavailable", () => {
  it("logs a storage failure once per method, without a stack trace, however many calls fail", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const inner = createMemoryStore();
    let down = false;
    const store = {
      description: "flaky",
      load: () => inner.load(),
      appendRegionEdits: (e: Parameters<typeof inner.appendRegionEdits>[0]) => (down ? Promise.reject(new PdError("STORAGE", "etcd: request timed out")) : inner.appendRegionEdits(e)),
      saveAllocatorState: (st: Parameters<typeof inner.saveAllocatorState>[0]) => (down ? Promise.reject(new PdError("STORAGE", "etcd: request timed out")) : inner.saveAllocatorState(st)),
      saveSchedulingConfig: (c: Parameters<typeof inner.saveSchedulingConfig>[0]) => inner.saveSchedulingConfig(c),
      close: async () => {},
    };
    const { pd } = await start({ logger: pino({ level: "info" }, sink), store, tsoWindowMs: 1 });
    await call(pd, "tso", { count: 1n });
    down = true;
    // A timestamp still under the last durable ceiling is answered; the rest fail.
    for (let failed = 0; failed < 50; ) if (await call(pd, "tso", { count: 1n }).then(() => false, () => true)) failed++;
    for (let i = 0; i < 20; i++) await failure(hb(pd, meta(BigInt(i + 1), `k${i}`, `k${i}~`)));
    await waitUntil("the condition", () => lines.some((l) => l.msg === "storage failure" && l.method === "RegionHeartbeat"));
    const storage = lines.filter((l) => l.msg === "storage failure");
    expect(storage.map((l) => l.method)).toEqual(["Tso", "RegionHeartbeat"]);
    for (const l of storage) {
      expect(l.err).toMatch(/request timed out/);
      expect(JSON.stringify(l)).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
    }
  });
});

describe("duplicate peers in the log", () => {
  it("warns once per region when duplicate peers appear, notes when they are gone, and warns again when they recur", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const { pd } = await start({ logger: pino({ level: "info" }, sink) });
    const region = (conf: bigint, peers: Array<[bigint, bigint]>) => ({
      ...meta(7n, "", ""),
      epochConfVersion: conf,
      peers: peers.map(([storeId, peerId]) => ({ storeId, peerId })),
    });
    const warnings = () => lines.filter((l) => l.msg === "region reports duplicate peers");
    for (let i = 0; i < 5; i++) await hb(pd, region(2n, [[1n, 70n], [1n, 71n]]));
    await hb(pd, region(3n, [[1n, 70n], [1n, 71n], [2n, 72n]]));
    await waitUntil("the condition", () => warnings().length === 1);
    expect(warnings()[0]).toMatchObject({ level: 40, regionId: "7", peers: ["1:70", "1:71"] });
    await hb(pd, region(4n, [[1n, 70n], [2n, 72n]]));
    await waitUntil("the condition", () => lines.some((l) => l.msg === "region is back to one peer per store"));
    expect(warnings()).toHaveLength(1);
    await hb(pd, region(5n, [[2n, 72n], [2n, 73n]]));
    await waitUntil("the condition", () => warnings().length === 2);
    expect(warnings()).toHaveLength(2);
  });
});

