import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { StoreHeartbeatResponse } from "@nokv/pd-proto";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createPdServer, type PdServer } from "../index.js";

// NoKV's Go stores speak the original contract: their requests carry none of
// the fields added for scheduling, and what they receive must be exactly the
// bytes PD sent before those fields existed. These tests talk raw protobuf
// bytes to a real server, hand-encoded from the contract's field numbers, so
// that no generated code on either side can hide a difference.

const silent = pino({ level: "silent" });
const servers: PdServer[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ""), "hex");

/** Protobuf varint of a small non-negative integer. */
function varint(n: number | bigint): string {
  let v = BigInt(n);
  let out = "";
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out += byte.toString(16).padStart(2, "0");
  } while (v > 0n);
  return out;
}
const field = (num: number, wireType: number, body: string) => varint((num << 3) | wireType) + body;
const uint = (num: number, v: bigint) => (v === 0n ? "" : field(num, 0, varint(v)));
const bytesField = (num: number, h: string) => field(num, 2, varint(h.length / 2) + h);

/** RegionHeartbeatRequest{region: RegionMeta{id, epoch, peers}} as a Go store encodes it. */
function goRegionHeartbeat(id: bigint, peers: ReadonlyArray<readonly [store: bigint, peer: bigint]>, range: { start?: string; end?: string } = {}): Buffer {
  return hex(bytesField(1, regionMeta(id, peers, range)));
}

/** RegionMeta{id, start_key, end_key (hex), epoch {1, 1}, peers}. */
function regionMeta(id: bigint, peers: ReadonlyArray<readonly [store: bigint, peer: bigint]>, range: { start?: string; end?: string } = {}): string {
  const keys = (range.start ? bytesField(2, range.start) : "") + (range.end ? bytesField(3, range.end) : "");
  return uint(1, id) + keys + uint(4, 1n) + uint(5, 1n) + peers.map(([s, p]) => bytesField(6, uint(1, s) + uint(2, p))).join("");
}

/** StoreHeartbeatRequest fields 1-5, as a Go store encodes it. */
function goStoreHeartbeat(storeId: bigint, leaderNum: bigint, regionNum = 1n): Buffer {
  return hex(uint(1, storeId) + uint(2, regionNum) + uint(3, leaderNum) + uint(4, 100n) + uint(5, 50n));
}

async function start(): Promise<{ server: PdServer; send: (method: string, body: Buffer) => Promise<Buffer> }> {
  const server = await createPdServer({ addr: "127.0.0.1:0", logger: silent });
  servers.push(server);
  const raw = new Client(server.address, credentials.createInsecure());
  clients.push(raw);
  const send = (method: string, body: Buffer) =>
    new Promise<Buffer>((resolve, reject) =>
      raw.makeUnaryRequest(
        `/pb.PD/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        new Metadata(),
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );
  return { server, send };
}

describe("a store without capabilities (NoKV's Go store) on the wire", () => {
  it("receives a leader transfer encoded with fields 1-4 only, byte for byte", async () => {
    const { send } = await start();
    expect(await send("RegionHeartbeat", goRegionHeartbeat(7n, [[1n, 71n], [2n, 72n]]))).toEqual(hex("0801"));
    // An empty answer: accepted = true, no operations.
    expect(await send("StoreHeartbeat", goStoreHeartbeat(2n, 0n))).toEqual(hex("0801"));
    const res = await send("StoreHeartbeat", goStoreHeartbeat(1n, 5n));
    // accepted (08 01), operations[0] (12 08): type 1, region 7, source peer 71, target peer 72 — and nothing else.
    expect(res.toString("hex")).toBe("0801" + "1208" + "0801" + "1007" + "1847" + "2048");
  });
});

describe("stores with and without capabilities in one cluster", () => {
  it("sends a Go store the old bytes while a store with capabilities gets membership changes", async () => {
    const { send } = await start();
    // Region 7: stores 1 and 2, Go-style (no extras). Region 8: two voters on stores 3 and 4, led
    // by 3, which reports its leader and peers' state: one replica short of max-replicas (3).
    await send("RegionHeartbeat", goRegionHeartbeat(7n, [[1n, 71n], [2n, 72n]], { end: "6d" }));
    const region8 = bytesField(1, regionMeta(8n, [[3n, 83n], [4n, 84n]], { start: "6d" }));
    expect(await send("RegionHeartbeat", hex(region8 + uint(2, 83n) + uint(3, 96n << 20n) + bytesField(7, "")))).toEqual(hex("0801"));
    // Capabilities: field 6 = StoreCapabilities{operation_types: [1, 2, 3, 4, 5]} (packed).
    const caps = bytesField(6, bytesField(1, "0102030405"));
    const capable = (storeId: bigint) => hex(goStoreHeartbeat(storeId, storeId === 3n ? 1n : 0n).toString("hex") + caps);
    expect(await send("StoreHeartbeat", capable(4n))).toEqual(hex("0801"));
    expect(await send("StoreHeartbeat", capable(5n))).toEqual(hex("0801"));
    expect(await send("StoreHeartbeat", goStoreHeartbeat(2n, 0n))).toEqual(hex("0801"));
    const fromGo = await send("StoreHeartbeat", goStoreHeartbeat(1n, 5n));
    expect(fromGo.toString("hex")).toBe("0801" + "1208" + "0801" + "1007" + "1847" + "2048");
    // Store 3 leads region 8: it is asked to add a learner on store 5 (the only store without a
    // peer of it), with an operator id, the epoch planned against and the target store.
    const ops = StoreHeartbeatResponse.decode(await send("StoreHeartbeat", capable(3n))).operations;
    expect(ops).toEqual([
      expect.objectContaining({ type: 3, regionId: 8n, sourcePeerId: 83n, targetStoreId: 5n, regionEpoch: { version: 1n, confVer: 1n } }),
    ]);
    expect(ops[0]!.operatorId).toBeGreaterThan(0n);
    // The Go stores keep getting nothing but leader transfers in the old encoding.
    for (let i = 0; i < 3; i++) {
      for (const [id, leaders] of [[2n, 0n], [1n, 5n]] as const) {
        const res = await send("StoreHeartbeat", goStoreHeartbeat(id, leaders));
        for (const op of StoreHeartbeatResponse.decode(res).operations) {
          expect(op.type).toBe(1);
          expect([op.operatorId, op.regionEpoch, op.targetStoreId]).toEqual([undefined, undefined, undefined]);
        }
      }
    }
  });
});
