import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { key, type PdProcess, useTestScope } from "@nokv/e2e/harness";
import { createPdClient, GrpcStatus, type PdClient, type Region } from "@nokv/pd-client";
import { RegionHeartbeatRequest } from "@nokv/pd-proto";
import { describe, expect, it } from "vitest";
import { Ledger } from "./support/ledger.js";
import { rejectionOf } from "./support/pd-outcome.js";
import { waitUntil } from "@nokv/testkit";

// Region heartbeats at the edges of what PD accepts. The store's own limit
// is the real one: a record of the edit log holds at most 256 MiB, a region
// at most half of that (so the deletions it causes fit beside it). The
// request limits (--max-key-bytes, --max-message-bytes) are raised here so
// that the store's is the one reached.

const scope = useTestScope();

/** The most bytes one region may take in the edit log: half of the 256 MiB record limit. */
const REGION_LIMIT_BYTES = 128 * 1024 * 1024;
/** A region's bytes in the log besides its keys: kind, id, epoch, two key lengths, peer count, one peer. */
const REGION_OVERHEAD_BYTES = 1 + 24 + 4 + 4 + 4 + 16;

/** A one-peer region taking exactly `bytes` in the edit log, its keys starting with `prefix` and the next letter. */
function regionOfBytes(id: bigint, prefix: string, bytes: number): Region {
  const keyBytes = bytes - REGION_OVERHEAD_BYTES;
  const startKey = Buffer.alloc(Math.floor(keyBytes / 2), 0x61);
  const endKey = Buffer.alloc(keyBytes - startKey.length, 0x61);
  startKey.write(prefix);
  endKey.write(String.fromCharCode(prefix.charCodeAt(0) + 1));
  return { id, startKey, endKey, epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: id + 1n }] };
}

/** The bytes of the `RegionHeartbeat` request pd-client sends for `r` (what gRPC's message limit counts). */
function requestBytes(r: Region): number {
  const region = {
    id: r.id,
    startKey: Buffer.from(r.startKey),
    endKey: Buffer.from(r.endKey),
    epochVersion: r.epoch.version,
    epochConfVersion: r.epoch.confVersion,
    peers: r.peers.map((p) => ({ ...p })),
  };
  return RegionHeartbeatRequest.encode({ region }).finish().length;
}

// Keys are a letter and then "a"s: the letter followed by "b" lies inside the region.

/** Asserts that `got` is `r`, comparing large keys without rendering them. */
function expectSameRegion(got: Region | undefined, r: Region, what: string): void {
  expect(got, what).toBeDefined();
  expect({ id: got!.id, epoch: got!.epoch, peers: got!.peers }, what).toEqual({ id: r.id, epoch: r.epoch, peers: r.peers });
  expect(Buffer.from(got!.startKey).equals(r.startKey), `${what}: start key (${got!.startKey.length} bytes)`).toBe(true);
  expect(Buffer.from(got!.endKey).equals(r.endKey), `${what}: end key (${got!.endKey.length} bytes)`).toBe(true);
}

/** The region-catalog files (edit logs and snapshot) of a workdir, with their bytes. */
async function catalogFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const n of (await readdir(dir)).filter((n) => n.startsWith("regions.")).sort()) out.set(n, await readFile(join(dir, n)));
  return out;
}

describe("region heartbeats at the size limits of a real pd-cli --workdir", () => {
  it("refuses a region one byte over the store's limit with INVALID_ARGUMENT and writes nothing; keeps one at the limit across a restart and a compaction", async () => {
    const dir = await scope.workdir();
    const limits = ["--max-key-bytes", String(64 * 1024 * 1024), "--max-message-bytes", String(130 * 1024 * 1024)];
    const args = (compactMinBytes: number) => ["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn", ...limits, "--compact-min-bytes", String(compactMinBytes)];
    const ledger = new Ledger();
    let pd: PdProcess;
    let client: PdClient;
    const start = async (compactMinBytes: number) => {
      pd = await scope.startPd(args(compactMinBytes));
      client = createPdClient({ addr: pd.addr, timeoutMs: 60_000, routeCache: false, channelOptions: { "grpc.max_receive_message_length": 140 * 1024 * 1024 } });
      scope.cleanup.add(() => client.close());
    };
    const restart = async (compactMinBytes: number) => {
      client.close();
      expect(await pd.stop("SIGKILL")).toBe("SIGKILL");
      await start(compactMinBytes);
    };
    await start(999_999_999);
    const ids = await ledger.takeIds(client!, 6n, "set-up");

    // One byte over: refused before anything is written.
    let over: Region | undefined = regionOfBytes(ids.firstId, "o", REGION_LIMIT_BYTES + 1);
    const before = await catalogFiles(dir);
    const refused = await rejectionOf(client!.regionHeartbeat(over));
    expect({ code: refused.code, status: GrpcStatus[refused.status] }, refused.message).toEqual({ code: "INVALID_ARGUMENT", status: "INVALID_ARGUMENT" });
    expect(refused.message).toContain(`region ${ids.firstId}`);
    expect(await catalogFiles(dir)).toEqual(before);
    over = undefined; // 128 MiB less to hold

    // At the limit: acknowledged, durable in the log.
    const atLimit = regionOfBytes(ids.firstId + 2n, "u", REGION_LIMIT_BYTES);
    expect(await client!.regionHeartbeat(atLimit)).toBe(true);
    ledger.regions.set(atLimit.id, atLimit);
    await restart(999_999_999);
    expectSameRegion(await client!.getRegionByKey(key("ub")), atLimit, "at the limit, after a restart (read from the log)");
    expect(await client!.getRegionByKey(key("ob")), "the refused region").toBeUndefined();

    // Compaction: a small write makes the log pass a tiny threshold, and the snapshot must hold the region.
    await restart(1);
    const small: Region = { id: ids.firstId + 4n, startKey: key("a"), endKey: key("b"), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: ids.firstId + 5n }] };
    expect(await client!.regionHeartbeat(small)).toBe(true);
    await waitUntil(
      "the log to be compacted into regions.snap",
      async () => {
        const names = await readdir(dir);
        return names.includes("regions.snap") && names.filter((n) => n.endsWith(".log")).length === 1 && !names.some((n) => n.endsWith(".tmp"));
      },
      30_000,
    );
    await restart(999_999_999);
    expectSameRegion(await client!.getRegionByKey(key("ub")), atLimit, "at the limit, after a compaction (read from the snapshot)");
    expectSameRegion(await client!.getRegionByKey(key("ab")), small, "the small region");
    expect(await client!.getRegionByKey(key("ob")), "the refused region").toBeUndefined();
    await ledger.expectFreshValues(client!, "after the restarts");
  }, 120_000);

  it("answers one byte over --max-key-bytes with INVALID_ARGUMENT and one byte over --max-message-bytes with RESOURCE_EXHAUSTED, writing nothing", async () => {
    const dir = await scope.workdir();
    const MAX_KEY = 1024;
    const MAX_MESSAGE = 1800;
    const args = ["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn", "--max-key-bytes", String(MAX_KEY), "--max-message-bytes", String(MAX_MESSAGE)];
    let pd = await scope.startPd(args);
    let client = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false });
    const ledger = new Ledger();
    const ids = await ledger.takeIds(client, 8n, "set-up");
    const regionWith = (n: number, startKey: Buffer, endKeyBytes: number): Region => {
      const id = ids.firstId + BigInt(2 * n);
      const endKey = Buffer.alloc(endKeyBytes, 0x7a);
      endKey.write(String.fromCharCode(startKey[0]! + 1));
      return { id, startKey, endKey, epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: id + 1n }] };
    };
    const keyOf = (c: string, bytes: number) => Buffer.concat([Buffer.from(c), Buffer.alloc(bytes - 1, 0x61)]);

    // Keys: exactly the limit is accepted, one byte more refused.
    const keyAtLimit = regionWith(0, keyOf("a", MAX_KEY), 8);
    const keyOver = regionWith(1, keyOf("c", MAX_KEY + 1), 8);
    // Messages: the end key's length sets the request's size to the byte.
    const sized = (n: number, c: string, bytes: number): Region => {
      const startKey = keyOf(c, 900);
      // Past 128 bytes a key's length prefix stays 2 bytes: one more key byte is one more request byte.
      let endKeyBytes = 200;
      for (let tries = 0; tries < 5; tries++) {
        const r = regionWith(n, startKey, endKeyBytes);
        const size = requestBytes(r);
        if (size === bytes) return r;
        endKeyBytes += bytes - size;
      }
      throw new Error(`no region makes a ${bytes}-byte request`);
    };
    const messageAtLimit = sized(2, "e", MAX_MESSAGE);
    const messageOver = sized(3, "g", MAX_MESSAGE + 1);

    const before = await catalogFiles(dir);
    const keyRefused = await rejectionOf(client.regionHeartbeat(keyOver));
    expect({ code: keyRefused.code, status: GrpcStatus[keyRefused.status] }, keyRefused.message).toEqual({ code: "INVALID_ARGUMENT", status: "INVALID_ARGUMENT" });
    expect(keyRefused.message).toContain(`${MAX_KEY + 1} bytes exceed the limit of ${MAX_KEY}`);
    const messageRefused = await rejectionOf(client.regionHeartbeat(messageOver));
    expect(GrpcStatus[messageRefused.status], messageRefused.message).toBe("RESOURCE_EXHAUSTED");
    expect(await catalogFiles(dir), "nothing written for the refused regions").toEqual(before);
    for (const r of [keyAtLimit, messageAtLimit]) {
      expect(await client.regionHeartbeat(r)).toBe(true);
      ledger.regions.set(r.id, r);
    }

    client.close();
    expect(await pd.stop("SIGKILL")).toBe("SIGKILL");
    pd = await scope.startPd(args);
    client = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false });
    scope.cleanup.add(() => client.close());
    expectSameRegion(await client.getRegionByKey(key("ab")), keyAtLimit, "key at the limit, after a restart");
    expectSameRegion(await client.getRegionByKey(key("eb")), messageAtLimit, "message at the limit, after a restart");
    expect(await client.getRegionByKey(key("cb")), "key over the limit").toBeUndefined();
    expect(await client.getRegionByKey(key("gb")), "message over the limit").toBeUndefined();
    await ledger.expectFreshValues(client, "after the restart");
  });
});
