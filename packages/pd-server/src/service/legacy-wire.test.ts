import { Client, credentials, Metadata } from "@grpc/grpc-js";
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
function goRegionHeartbeat(id: bigint, peers: ReadonlyArray<readonly [store: bigint, peer: bigint]>, version = 1n, conf = 1n): Buffer {
  const meta = uint(1, id) + uint(4, version) + uint(5, conf) + peers.map(([s, p]) => bytesField(6, uint(1, s) + uint(2, p))).join("");
  return hex(bytesField(1, meta));
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
