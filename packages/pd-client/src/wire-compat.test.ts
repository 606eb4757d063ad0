/**
 * What a store that declares no capabilities and no extras puts on the wire:
 * exactly the requests NoKV's Go stores send, byte for byte. A raw grpc-js
 * server records the request bytes; the expectations are hand-encoded from
 * the contract's field numbers, so that no generated code on either side can
 * hide a difference. (pd-server's legacy-wire test shows the other half:
 * such a store gets exactly the old answers.)
 */
import { type sendUnaryData, Server, ServerCredentials, type ServerUnaryCall } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { createPdClient, type PdClient } from "./client.js";

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ""), "hex");

/** Protobuf varint of a small non-negative integer, as hex. */
function varint(n: bigint): string {
  let v = n;
  let out = "";
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out += byte.toString(16).padStart(2, "0");
  } while (v > 0n);
  return out;
}
const tag = (num: number, wireType: number) => varint(BigInt((num << 3) | wireType));
const uint = (num: number, v: bigint) => (v === 0n ? "" : tag(num, 0) + varint(v));
const bytesField = (num: number, h: string) => tag(num, 2) + varint(BigInt(h.length / 2)) + h;

let server: Server | undefined;
let c: PdClient | undefined;
afterEach(() => {
  c?.close();
  server?.forceShutdown();
});

/** A server answering `accepted: true` to both heartbeats and recording their raw request bytes. */
async function rawPd(): Promise<{ addr: string; seen: Array<[string, Buffer]> }> {
  const seen: Array<[string, Buffer]> = [];
  server = new Server();
  const raw = (b: Buffer) => b;
  const method = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw });
  const answer = (name: string) => (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
    seen.push([name, call.request]);
    cb(null, hex("0801"));
  };
  server.addService(
    { storeHeartbeat: method("/pb.PD/StoreHeartbeat"), regionHeartbeat: method("/pb.PD/RegionHeartbeat") },
    { storeHeartbeat: answer("StoreHeartbeat"), regionHeartbeat: answer("RegionHeartbeat") },
  );
  const s = server;
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { addr: `127.0.0.1:${port}`, seen };
}

const region = { id: 7n, startKey: Buffer.from("a"), endKey: Buffer.from("b"), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: 71n }] };
/** RegionMeta{id 7, start "a", end "b", epoch {1, 1}, peers [{1, 71}]}, as a Go store encodes it. */
const regionMeta = uint(1, 7n) + bytesField(2, "61") + bytesField(3, "62") + uint(4, 1n) + uint(5, 1n) + bytesField(6, uint(1, 1n) + uint(2, 71n));

describe("a store without capabilities or extras, on the wire", () => {
  it("sends the original StoreHeartbeat and RegionHeartbeat bytes; the additions only when given", async () => {
    const pd = await rawPd();
    c = createPdClient({ addr: pd.addr });
    await c.storeHeartbeat({ storeId: 1n, regionNum: 2n, leaderNum: 3n, capacity: 100n, available: 50n });
    await c.regionHeartbeat(region);
    const goStore = uint(1, 1n) + uint(2, 2n) + uint(3, 3n) + uint(4, 100n) + uint(5, 50n);
    expect(pd.seen).toEqual([
      ["StoreHeartbeat", hex(goStore)],
      ["RegionHeartbeat", hex(bytesField(1, regionMeta))],
    ]);

    // Declared: capabilities (6: StoreCapabilities{operation_types: [1, 5]}, packed) and used_size (7).
    await c.storeHeartbeat({ storeId: 1n, regionNum: 2n, leaderNum: 3n, capacity: 100n, available: 50n, capabilities: ["leader-transfer", "remove-peer"], usedSize: 7n });
    expect(pd.seen[2]).toEqual(["StoreHeartbeat", hex(goStore + bytesField(6, bytesField(1, "0105")) + uint(7, 7n))]);
    // Reported: leader_peer_id (2) and peer_status (7, empty lists: "none").
    await c.regionHeartbeat(region, { leaderPeerId: 71n, learnerPeerIds: [], pendingPeers: [], downPeers: [] });
    expect(pd.seen[3]).toEqual(["RegionHeartbeat", hex(bytesField(1, regionMeta) + uint(2, 71n) + bytesField(7, ""))]);
  });
});
