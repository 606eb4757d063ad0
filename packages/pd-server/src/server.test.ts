import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { type AllocatorState, type Cluster, type Leadership, type LeadershipHost, PdError, type RegionEdit } from "@nokv/pd-core";
import { MAX_UINT64, type SchedulingConfig } from "@nokv/pd-model";
import { PDClient, type RegionMeta, type TsoResponse } from "@nokv/pd-proto";
import { createMemoryStore, openLocalFileStore, type Store } from "@nokv/pd-storage";
import fc from "fast-check";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createPdServer, type PdServer, type PdServerOptions } from "./index.js";
import { call, failure } from "./testing/grpc-call.js";

const silent = pino({ level: "silent" });
const servers: PdServer[] = [];
const clients: Client[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(opts: PdServerOptions = {}): Promise<{ server: PdServer; pd: PDClient }> {
  const server = await createPdServer({ addr: "127.0.0.1:0", logger: silent, ...opts });
  servers.push(server);
  const pd = new PDClient(server.address, credentials.createInsecure());
  clients.push(pd);
  return { server, pd };
}


const b = (s: string) => Buffer.from(s);
function meta(id: bigint, start: string, end: string, version = 1n, conf = 1n): RegionMeta {
  return { id, startKey: b(start), endKey: b(end), epochVersion: version, epochConfVersion: conf, peers: [{ storeId: 1n, peerId: id * 10n }] };
}
const hb = (pd: PDClient, region: RegionMeta | undefined) => call<{ region?: RegionMeta }, { accepted: boolean }>(pd, "regionHeartbeat", { region });
const route = (pd: PDClient, key: string | Buffer) =>
  call<{ key: Buffer }, { region?: RegionMeta; notFound: boolean }>(pd, "getRegionByKey", { key: typeof key === "string" ? b(key) : key });
const allocId = (pd: PDClient, count: bigint) => call<{ count: bigint }, { firstId: bigint; count: bigint }>(pd, "allocId", { count });
const tso = (pd: PDClient, count: bigint) => call<{ count: bigint }, TsoResponse>(pd, "tso", { count });

/** A store that counts writes and can be told to fail them. */
class ProbeStore implements Store {
  readonly description = "probe";
  appends = 0;
  failWrites = false;
  constructor(private readonly inner: Store = createMemoryStore()) {}
  load() {
    return this.inner.load();
  }
  async appendRegionEdits(edits: readonly RegionEdit[]) {
    if (this.failWrites) throw new Error("injected disk failure");
    this.appends++;
    return this.inner.appendRegionEdits(edits);
  }
  async saveAllocatorState(s: AllocatorState) {
    if (this.failWrites) throw new Error("injected disk failure");
    return this.inner.saveAllocatorState(s);
  }
  async saveSchedulingConfig(c: SchedulingConfig) {
    if (this.failWrites) throw new Error("injected disk failure");
    return this.inner.saveSchedulingConfig(c);
  }
  close() {
    return this.inner.close();
  }
}

describe("pd-server over gRPC", () => {
  it("routes keys by [start, end) with an empty end unbounded, and says not_found without an error", async () => {
    const { pd } = await start();
    expect((await route(pd, "a")).notFound).toBe(true);
    await hb(pd, meta(1n, "", "m"));
    await hb(pd, meta(2n, "m", ""));
    expect((await route(pd, "")).region?.id).toBe(1n);
    expect((await route(pd, "l\xff")).region?.id).toBe(1n);
    expect((await route(pd, "m")).region?.id).toBe(2n);
    expect((await route(pd, Buffer.from([0xff, 0xff]))).region?.id).toBe(2n);
    const r = (await route(pd, "z")).region!;
    expect(r).toEqual(meta(2n, "m", ""));
  });

  it("maps invalid heartbeats to INVALID_ARGUMENT with the PD code in trailing metadata", async () => {
    const { pd } = await start();
    for (const bad of [undefined, meta(0n, "a", "b"), meta(1n, "b", "a"), meta(1n, "b", "b")]) {
      expect(await failure(hb(pd, bad))).toMatchObject({ status: status.INVALID_ARGUMENT, code: "INVALID_ARGUMENT" });
    }
    expect(await failure(call(pd, "storeHeartbeat", { storeId: 0n, regionNum: 0n, leaderNum: 0n, capacity: 0n, available: 0n }))).toMatchObject({
      status: status.INVALID_ARGUMENT,
    });
    expect(await failure(call(pd, "removeRegion", { regionId: 0n }))).toMatchObject({ status: status.INVALID_ARGUMENT });
    expect((await route(pd, "a")).notFound).toBe(true);
  });

  it("accepts the peers a store reports, two on one store included, schedules nothing onto them, and restores them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pd-server-"));
    dirs.push(dir);
    const first = await start({ store: await openLocalFileStore({ dir }) });
    const twoOnOne = { ...meta(1n, "", "m"), peers: [{ storeId: 1n, peerId: 10n }, { storeId: 2n, peerId: 11n }, { storeId: 1n, peerId: 12n }] };
    const samePeerTwice = { ...meta(2n, "m", ""), peers: [{ storeId: 1n, peerId: 20n }, { storeId: 2n, peerId: 21n }, { storeId: 2n, peerId: 21n }] };
    expect(await hb(first.pd, twoOnOne)).toEqual({ accepted: true });
    expect(await hb(first.pd, samePeerTwice)).toEqual({ accepted: true });
    expect((await route(first.pd, "a")).region).toEqual(twoOnOne);
    expect((await route(first.pd, "x")).region).toEqual(samePeerTwice);
    // Store 1 leads everything and store 2 nothing: without the duplicates, a transfer would be planned.
    const stats = (storeId: bigint, leaderNum: bigint) => ({ storeId, leaderNum, regionNum: 2n, capacity: 100n, available: 50n });
    await call(first.pd, "storeHeartbeat", stats(2n, 0n));
    expect(await call(first.pd, "storeHeartbeat", stats(1n, 2n))).toEqual({ accepted: true, operations: [] });
    await first.server.close();

    const second = await start({ store: await openLocalFileStore({ dir }) });
    expect(second.server.restored?.regions).toBe(2);
    expect(second.server.cluster.regions.duplicatePeerRegions).toBe(2);
    expect((await route(second.pd, "a")).region).toEqual(twoOnOne);
    expect((await route(second.pd, "x")).region).toEqual(samePeerTwice);
  });

  it("refuses stale heartbeats with FAILED_PRECONDITION and leaves the catalog unchanged", async () => {
    const { pd } = await start();
    await hb(pd, meta(1n, "", "", 3n, 3n));
    const stale = await failure(hb(pd, meta(1n, "", "", 2n, 3n)));
    expect(stale).toMatchObject({ status: status.FAILED_PRECONDITION, code: "STALE_EPOCH" });
    expect(stale.details).toContain("region 1");
    expect(await failure(hb(pd, meta(1n, "", "", 3n, 2n)))).toMatchObject({ code: "STALE_EPOCH" });
    expect(await failure(hb(pd, meta(2n, "x", "", 3n)))).toMatchObject({ status: status.FAILED_PRECONDITION, code: "RANGE_OVERLAP" });
    expect((await route(pd, "y")).region?.id).toBe(1n);
  });

  it("accepts a split child before its parent and removes the covered region", async () => {
    const { pd } = await start();
    await hb(pd, meta(1n, "", "", 1n));
    await hb(pd, meta(2n, "m", "", 2n));
    expect((await route(pd, "a")).notFound).toBe(true);
    await hb(pd, meta(1n, "", "m", 2n));
    expect((await route(pd, "a")).region?.id).toBe(1n);
    expect((await route(pd, "x")).region?.id).toBe(2n);
  });

  it("writes only heartbeats that change something", async () => {
    const store = new ProbeStore();
    const { pd } = await start({ store });
    await hb(pd, meta(1n, "a", "m"));
    const after = store.appends;
    for (let i = 0; i < 20; i++) await hb(pd, meta(1n, "a", "m"));
    expect(store.appends).toBe(after);
    await hb(pd, meta(1n, "a", "m", 1n, 2n));
    expect(store.appends).toBe(after + 1);
  });

  it("answers INTERNAL on a storage failure and applies nothing", async () => {
    const store = new ProbeStore();
    const { pd } = await start({ store, idWindow: 10n });
    await hb(pd, meta(1n, "", "m"));
    store.failWrites = true;
    expect(await failure(hb(pd, meta(2n, "m", "")))).toMatchObject({ status: status.INTERNAL, code: "STORAGE" });
    expect(await failure(call(pd, "removeRegion", { regionId: 1n }))).toMatchObject({ status: status.INTERNAL });
    expect((await route(pd, "x")).notFound).toBe(true);
    expect((await route(pd, "a")).region?.id).toBe(1n);
    // Past the durable id window, allocation needs a write and fails rather than risk reuse.
    let failed: { status: status } | undefined;
    for (let i = 0; i < 30 && !failed; i++) failed = await allocId(pd, 1n).then(() => undefined, (e: ServiceError) => ({ status: e.code }));
    expect(failed?.status).toBe(status.INTERNAL);
    store.failWrites = false;
    await hb(pd, meta(2n, "m", ""));
    expect((await route(pd, "x")).region?.id).toBe(2n);
  });

  it("hands out AllocID/Tso runs: count 0 means 1, runs never overlap, caps give INVALID_ARGUMENT", async () => {
    const { pd } = await start({ idStart: 100n });
    expect(await allocId(pd, 0n)).toEqual({ firstId: 100n, count: 1n });
    expect(await allocId(pd, 10n)).toEqual({ firstId: 101n, count: 10n });
    expect(await allocId(pd, 1n)).toEqual({ firstId: 111n, count: 1n });
    expect(await failure(allocId(pd, (1n << 20n) + 1n))).toMatchObject({ status: status.INVALID_ARGUMENT });
    const t1 = await tso(pd, 0n);
    expect(t1.count).toBe(1n);
    const t2 = await tso(pd, 5n);
    expect(t2.timestamp).toBeGreaterThan(t1.timestamp);
    expect((t2.timestamp >> 18n) - BigInt(Date.now())).toBeLessThan(1000n);
    expect(await failure(tso(pd, (1n << 18n) + 1n))).toMatchObject({ status: status.INVALID_ARGUMENT });
  });

  it("carries values above 2^53 exactly and refuses to wrap at 2^64 (OUT_OF_RANGE)", async () => {
    const { pd } = await start({ idStart: 2n ** 53n + 1n, tsStart: MAX_UINT64 - 2n });
    expect((await allocId(pd, 1n)).firstId).toBe(9007199254740993n);
    expect(await tso(pd, 2n)).toEqual({ timestamp: MAX_UINT64 - 2n, count: 2n });
    expect((await tso(pd, 1n)).timestamp).toBe(MAX_UINT64);
    expect(await failure(tso(pd, 1n))).toMatchObject({ status: status.OUT_OF_RANGE, code: "ALLOCATOR_EXHAUSTED" });
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: MAX_UINT64 }), async (id) => {
        await hb(pd, { ...meta(id, "k", "k\x01", id, id), peers: [{ storeId: id, peerId: id }] });
        const got = (await route(pd, "k")).region!;
        expect(got.id).toBe(id);
        expect(got.epochVersion).toBe(id);
        await call(pd, "removeRegion", { regionId: id });
      }),
      { numRuns: 25 },
    );
  });

  it("streams timestamps in request order, unique and increasing", async () => {
    const { pd } = await start({ tsoWindowMs: 1 });
    const stream = pd.tsoStream();
    const got: TsoResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on("data", (r: TsoResponse) => got.push(r));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    const counts = Array.from({ length: 500 }, (_, i) => BigInt((i % 7) + 1));
    for (const count of counts) stream.write({ count });
    stream.end();
    await done;
    expect(got.map((r) => r.count)).toEqual(counts);
    for (let i = 1; i < got.length; i++) expect(got[i]!.timestamp).toBeGreaterThanOrEqual(got[i - 1]!.timestamp + got[i - 1]!.count);
  });

  it("ends a stream with the PD status on a bad request", async () => {
    const { pd } = await start();
    const stream = pd.tsoStream();
    const err = await new Promise<ServiceError>((resolve) => {
      stream.on("data", () => undefined);
      stream.on("error", resolve);
      stream.write({ count: 1n << 30n });
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.metadata.get("pd-error-code")).toEqual(["INVALID_ARGUMENT"]);
  });

  it("ends open timestamp streams on close instead of waiting out the grace period", async () => {
    const { server, pd } = await start({ shutdownGraceMs: 60_000 });
    const stream = pd.tsoStream();
    const first = new Promise<TsoResponse>((resolve) => stream.once("data", resolve));
    const ended = new Promise<ServiceError>((resolve) => stream.on("error", resolve));
    stream.write({ count: 1n });
    await first;
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(30_000);
    const err = await ended;
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it("reports itself as the only member and the leader", async () => {
    const { server, pd } = await start({ name: "pd-a" });
    const res = await call<object, { members: { name: string; advertiseAddr: string; isLeader: boolean }[]; leader?: { name: string } }>(pd, "getMembers", {});
    expect(res.members).toEqual([{ name: "pd-a", advertiseAddr: server.address, isLeader: true }]);
    expect(res.leader?.name).toBe("pd-a");
  });

  it("plans a leader transfer for the most-loaded store's heartbeat", async () => {
    const { pd } = await start();
    await hb(pd, { ...meta(7n, "", ""), peers: [{ storeId: 1n, peerId: 71n }, { storeId: 2n, peerId: 72n }] });
    const stats = (storeId: bigint, leaderNum: bigint) => ({ storeId, leaderNum, regionNum: 1n, capacity: 100n, available: 50n });
    await call(pd, "storeHeartbeat", stats(2n, 0n));
    const res = await call<unknown, { accepted: boolean; operations: { regionId: bigint; sourcePeerId: bigint; targetPeerId: bigint }[] }>(
      pd,
      "storeHeartbeat",
      stats(1n, 5n),
    );
    expect(res.accepted).toBe(true);
    expect(res.operations).toEqual([expect.objectContaining({ type: 1, regionId: 7n, sourcePeerId: 71n, targetPeerId: 72n })]);
  });

  it("restores the catalog and continues above the allocator ceilings after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pd-server-"));
    dirs.push(dir);
    const first = await start({ store: await openLocalFileStore({ dir }) });
    await hb(first.pd, meta(1n, "", "m"));
    await hb(first.pd, meta(2n, "m", ""));
    const id = await allocId(first.pd, 10n);
    const ts = await tso(first.pd, 10n);
    await first.server.close();
    const second = await start({ store: await openLocalFileStore({ dir }) });
    expect(second.server.restored?.regions).toBe(2);
    expect((await route(second.pd, "x")).region?.id).toBe(2n);
    expect((await allocId(second.pd, 1n)).firstId).toBeGreaterThan(id.firstId + 9n);
    expect((await tso(second.pd, 1n)).timestamp).toBeGreaterThan(ts.timestamp + 9n);
  });

  it("decodes requests as Go's server does: a repeated region is merged, a field tag 0 is INTERNAL", async () => {
    const { server, pd } = await start();
    const raw = new Client(server.address, credentials.createInsecure());
    clients.push(raw);
    const send = (method: string, hex: string) =>
      new Promise<Buffer>((resolve, reject) =>
        raw.makeUnaryRequest(
          `/pb.PD/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(hex.replace(/\s+/g, ""), "hex"),
          new Metadata(),
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
      );
    // region sent twice: {id 7, start "a", peer 1:70} then {end "m", version 1, peer 2:71}.
    expect(await send("RegionHeartbeat", "0a0b 0807 120161 3204 0801 1046" + "0a0b 1a016d 2001 3204 0802 1047")).toEqual(Buffer.from("0801", "hex"));
    expect((await route(pd, "b")).region).toEqual({
      id: 7n,
      startKey: b("a"),
      endKey: b("m"),
      epochVersion: 1n,
      epochConfVersion: 0n,
      peers: [{ storeId: 1n, peerId: 70n }, { storeId: 2n, peerId: 71n }],
    });
    for (const [method, hex] of [["RegionHeartbeat", "0a020807 00"], ["Tso", "0801 00"], ["AllocID", "0c"]] as const) {
      const err = await send(method, hex).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(err?.code, `${method} ${hex}`).toBe(status.INTERNAL);
    }
    // Nothing of the refused heartbeat was applied.
    expect((await route(pd, "b")).region?.peers).toHaveLength(2);
  });

  it("names the address when it cannot bind, and closes the store", async () => {
    const { server } = await start();
    const store = new ProbeStore();
    await expect(createPdServer({ addr: server.address, store, logger: silent })).rejects.toThrow(`cannot listen on ${server.address}`);
    await expect(store.appendRegionEdits([])).rejects.toThrow();
  });
});

/** A leadership that records how the server drives it; it serves one in-memory cluster it builds at `start`. */
class RecordingLeadership implements Leadership {
  readonly calls: string[] = [];
  readonly name = "rec";
  #host: LeadershipHost | undefined;
  #cluster: Cluster | undefined;
  async open(host: LeadershipHost): Promise<undefined> {
    this.calls.push("open");
    this.#host = host;
    return undefined;
  }
  async start(boundAddr: string): Promise<void> {
    this.calls.push(`start ${boundAddr}`);
    const store = createMemoryStore();
    this.#cluster = this.#host!.createCluster(await store.load(), store);
  }
  serving(): Cluster {
    if (this.#cluster === undefined) throw new PdError("NOT_LEADER", "rec is not the leader");
    return this.#cluster;
  }
  members() {
    const me = { name: this.name, advertiseAddr: "rec:1", isLeader: true };
    return { members: [me], leader: me };
  }
  async close(): Promise<void> {
    this.calls.push("close");
  }
}

describe("pd-server over a leadership", () => {
  it("opens it before listening, starts it with the bound address, serves through it, closes it", async () => {
    const leadership = new RecordingLeadership();
    const { server, pd } = await start({ leadership, idStart: 500n });
    expect(leadership.calls).toEqual(["open", `start ${server.address}`]);
    expect(server.restored).toBeUndefined();
    expect(server.leadership).toBe(leadership);
    // The cluster it built through the host has the server's configuration.
    expect((await allocId(pd, 1n)).firstId).toBe(500n);
    await server.close();
    expect(leadership.calls).toEqual(["open", `start ${server.address}`, "close"]);
  });

  it("closes the leadership when it cannot start, and refuses a store beside a leadership", async () => {
    const { server } = await start();
    const leadership = new RecordingLeadership();
    await expect(createPdServer({ addr: server.address, leadership, logger: silent })).rejects.toThrow(`cannot listen on ${server.address}`);
    expect(leadership.calls).toEqual(["open", "close"]);
    await expect(createPdServer({ addr: "127.0.0.1:0", leadership, store: createMemoryStore(), logger: silent })).rejects.toThrow(
      /give them to the leadership/,
    );
  });
});

describe("pd-server on a workdir with bounded records", () => {
  it("answers INVALID_ARGUMENT for a region too large to store, writes nothing, and keeps serving", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pd-server-limit-"));
    dirs.push(dir);
    const store = await openLocalFileStore({ dir, maxRecordBytes: 64 * 1024 });
    const { pd } = await start({ store });
    const bigKey = (c: string) => Buffer.concat([b(c), Buffer.alloc(20_000, 0x61)]);
    const big: RegionMeta = { ...meta(5n, "", ""), startKey: bigKey("k"), endKey: bigKey("l") };
    const before = store.stats().appends;
    const got = await failure(hb(pd, big));
    expect(got.status).toBe(status.INVALID_ARGUMENT);
    expect(got.code).toBe("INVALID_ARGUMENT");
    expect(got.details).toContain("region 5");
    expect(store.stats().appends).toBe(before);
    expect((await route(pd, bigKey("k"))).notFound).toBe(true);
    // A region that fits is stored as usual.
    expect((await hb(pd, meta(6n, "a", "b"))).accepted).toBe(true);
  });
});
