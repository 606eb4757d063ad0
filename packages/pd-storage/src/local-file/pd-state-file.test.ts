import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { PdError } from "@nokv/pd-core";
import { MAX_UINT64 } from "@nokv/pd-model";
import { parse } from "lossless-json";
import { afterEach, describe, expect, it } from "vitest";
import { testRegion } from "../testing/store-contract.js";
import { openLocalFileStore } from "./local-file-store.js";
import { formatAllocatorState, parseAllocatorState, parsePdStateFile } from "./pd-state-file.js";
import { useTempDirs } from "@nokv/testkit";

const temp = useTempDirs("pd-state");
const tempDir = () => temp.make();

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

// NoKV's Go PD at 545b5c20 (2026-03-13 on), as encoding/json writes it.
const GO_NESTED =
  '{"regions":{"7":{"id":7,"end_key":"bQ==","epoch":{"version":1,"conf_version":1},"peers":[{"store_id":1,"peer_id":70}],"state":0},' +
  '"8":{"id":8,"start_key":"bQ==","end_key":"","epoch":{"version":2,"conf_version":3},"peers":[{"store_id":1,"peer_id":80},{"store_id":2,"peer_id":81}],"state":1}},' +
  '"allocator":{"id_current":5000,"ts_current":7000}}';

/**
 * Reads a PD_STATE.json the way each Go version does: encoding/json into a
 * struct, by field name, ignoring unknown fields (numbers kept exact here).
 */
function readAsGo(fileText: string, version: "flat" | "nested"): { id: string; ts: string } {
  const doc = parse(fileText, null, (digits) => digits) as Record<string, unknown>;
  const src = (version === "flat" ? doc : doc.allocator) as Record<string, string> | undefined;
  return { id: src?.id_current ?? "0", ts: src?.ts_current ?? "0" };
}

describe("PD_STATE.json shapes", () => {
  it("reads the flat shape Go wrote until 2026-03-13", () => {
    expect(parsePdStateFile('{"id_current":5000,"ts_current":7000}', "f")).toEqual({
      shape: "flat",
      allocator: { idCurrent: 5000n, tsCurrent: 7000n },
      regions: [],
      skipped: [],
    });
  });

  it("reads the nested shape Go writes since 2026-03-13, with its regions (base64 keys, missing key empty)", () => {
    const got = parsePdStateFile(GO_NESTED, "f");
    expect(got.shape).toBe("nested");
    expect(got.allocator).toEqual({ idCurrent: 5000n, tsCurrent: 7000n });
    expect(got.regions.map((r) => [r.id, text(r.startKey), text(r.endKey), r.epoch.version, r.epoch.confVersion])).toEqual([
      [7n, "", "m", 1n, 1n],
      [8n, "m", "", 2n, 3n],
    ]);
    expect(got.regions[1]!.peers).toEqual([
      { storeId: 1n, peerId: 80n },
      { storeId: 2n, peerId: 81n },
    ]);
  });

  it("reads the wire contract's example verbatim", () => {
    const example =
      '{"regions":{"7":{"id":7,"start_key":"YQ==","end_key":"","epoch":{"version":1,"conf_version":1},"peers":[{"store_id":1,"peer_id":70}],"state":0}},"allocator":{"id_current":5000,"ts_current":7000}}';
    const got = parsePdStateFile(example, "f");
    expect(got.allocator).toEqual({ idCurrent: 5000n, tsCurrent: 7000n });
    expect(got.regions).toEqual([
      { id: 7n, startKey: new Uint8Array(Buffer.from("a")), endKey: new Uint8Array(), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: 70n }] },
    ]);
  });

  it("reads values above 2^53 exactly in both shapes", () => {
    const big = "9007199254740993";
    expect(parseAllocatorState(`{"regions":{},"allocator":{"id_current":${big},"ts_current":18446744073709551615}}`, "f")).toEqual({
      idCurrent: 9007199254740993n,
      tsCurrent: MAX_UINT64,
    });
    const r = parsePdStateFile(`{"regions":{"${big}":{"id":${big},"peers":[{"store_id":${big},"peer_id":18446744073709551615}]}},"allocator":{"id_current":1,"ts_current":1}}`, "f");
    expect(r.regions[0]!.id).toBe(9007199254740993n);
    expect(r.regions[0]!.peers[0]).toEqual({ storeId: 9007199254740993n, peerId: MAX_UINT64 });
  });

  it("takes the larger value of each checkpoint when a file has both shapes", () => {
    const got = parsePdStateFile('{"id_current":9,"ts_current":100,"allocator":{"id_current":50,"ts_current":7}}', "f");
    expect(got.shape).toBe("both");
    expect(got.allocator).toEqual({ idCurrent: 50n, tsCurrent: 100n });
  });

  it("lists tombstones and invalid regions as skipped instead of refusing the file", () => {
    const got = parsePdStateFile(
      '{"regions":{"3":{"id":3,"state":3},"4":{"id":4,"start_key":"eg==","end_key":"YQ=="},"5":{"id":5}},"allocator":{"id_current":9,"ts_current":9}}',
      "f",
    );
    expect(got.regions.map((r) => r.id)).toEqual([5n]);
    expect(got.skipped.map((s) => s.key)).toEqual(["3", "4"]);
    expect(got.skipped[0]!.reason).toBe("tombstone");
    expect(got.skipped[1]!.reason).toContain("start key must be below end key");
  });

  it("writes both shapes, so that each Go version reads the same checkpoints back (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT64 }), fc.bigInt({ min: 0n, max: MAX_UINT64 }), (id, ts) => {
        const written = formatAllocatorState({ idCurrent: id, tsCurrent: ts });
        for (const version of ["flat", "nested"] as const) expect(readAsGo(written, version)).toEqual({ id: id.toString(), ts: ts.toString() });
        expect(parsePdStateFile(written, "f")).toMatchObject({ shape: "both", allocator: { idCurrent: id, tsCurrent: ts } });
      }),
    );
  });

  it.each([
    ["", "not valid JSON"],
    ["{", "not valid JSON"],
    ["3000", "not a JSON object"],
    ["[1]", "not a JSON object"],
    ["{}", "neither shape"],
    ['{"id_durrent":3000,"ts_current":5}', "ts_current but no id_current"],
    ['{"regions":{}}', "neither shape"],
    ['{"allocator":{"id_current":5}}', "id_current but no ts_current"],
    ['{"allocator":7}', "allocator must be an object"],
    ['{"id_current":-1,"ts_current":1}', "non-negative integer"],
    ['{"id_current":1.5,"ts_current":1}', "non-negative integer"],
    ['{"id_current":"7","ts_current":1}', "non-negative integer"],
    ['{"id_current":18446744073709551616,"ts_current":1}', "exceeds 2^64-1"],
    ['{"regions":[],"allocator":{"id_current":1,"ts_current":1}}', "regions must be an object"],
    ['{"regions":{"7":{"id":7,"start_key":"not base64!"}},"allocator":{"id_current":1,"ts_current":1}}', "must be base64"],
    ['{"regions":{"7":{"id":8}},"allocator":{"id_current":1,"ts_current":1}}', "holds region id 8, not 7"],
  ])("refuses %j, naming the file", (content, why) => {
    expect(() => parsePdStateFile(content, "/w/PD_STATE.json")).toThrow(why);
    expect(() => parsePdStateFile(content, "/w/PD_STATE.json")).toThrow("/w/PD_STATE.json");
  });
});

describe("opening a workdir with a PD_STATE.json", () => {
  it.each([
    ["a bare number", "3000"],
    ["an empty object", "{}"],
    ["a misspelt key", '{"id_durrent":3000,"ts_current":9000}'],
    ["truncated JSON", '{"id_current":5000,"ts_cur'],
  ])("refuses %s and leaves every file as it was", async (_what, content) => {
    const dir = await tempDir();
    await writeFile(join(dir, "PD_STATE.json"), content);
    const err = await openLocalFileStore({ dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PdError);
    expect((err as PdError).code).toBe("STORAGE");
    expect((err as PdError).message).toContain(join(dir, "PD_STATE.json"));
    expect(await readFile(join(dir, "PD_STATE.json"), "utf8")).toBe(content);
    expect((await readdir(dir)).filter((n) => n !== "LOCK").sort()).toEqual(["PD_STATE.json"]);
  });

  it("takes over a Go PD's nested workdir: checkpoints, regions, a kept original and a file both Go versions read", async () => {
    const dir = await tempDir();
    const statePath = join(dir, "PD_STATE.json");
    await writeFile(statePath, GO_NESTED);
    const s = await openLocalFileStore({ dir });
    const snap = await s.load();
    expect(snap.allocator.idCurrent).toBe(5000n);
    expect(snap.allocator.tsCurrent).toBe(7000n);
    expect(snap.regions.map((r) => r.id).sort()).toEqual([7n, 8n]);
    expect(s.recovery.importedCatalog).toMatchObject({ imported: 2, skipped: [] });
    const backup = s.recovery.importedCatalog!.backup;
    expect(await readFile(backup, "utf8")).toBe(GO_NESTED);
    await s.close();

    const written = await readFile(statePath, "utf8");
    expect(readAsGo(written, "flat")).toEqual({ id: "5000", ts: "7000" });
    expect(readAsGo(written, "nested")).toEqual({ id: "5000", ts: "7000" });
    expect(parsePdStateFile(written, statePath).regions).toEqual([]);

    // The regions now live in our own catalog: a second open imports nothing and keeps them.
    const again = await openLocalFileStore({ dir });
    expect(again.recovery.importedCatalog).toBeUndefined();
    expect((await again.load()).regions.map((r) => r.id).sort()).toEqual([7n, 8n]);
    await again.close();
  });

  it("merges a Go catalog written after ours as heartbeats: newer regions win, older ones are skipped, ids cover them", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([
      { kind: "put", region: testRegion(1n, "", "m", 5n) },
      { kind: "put", region: testRegion(2n, "m", "", 1n) },
    ]);
    await s.saveAllocatorState({ idCurrent: 30n, tsCurrent: 40n });
    await s.close();
    // A Go PD ran on the workdir afterwards: region 1 at an older version, region 2 split into 2 and 3.
    const b64 = (v: string) => Buffer.from(v).toString("base64");
    await writeFile(
      join(dir, "PD_STATE.json"),
      JSON.stringify({
        regions: {
          "1": { id: 1, end_key: b64("m"), epoch: { version: 4, conf_version: 2 }, peers: [{ store_id: 1, peer_id: 11 }], state: 1 },
          "2": { id: 2, start_key: b64("m"), end_key: b64("t"), epoch: { version: 2, conf_version: 2 }, peers: [{ store_id: 1, peer_id: 21 }], state: 1 },
          "3": { id: 3, start_key: b64("t"), epoch: { version: 2, conf_version: 2 }, peers: [{ store_id: 1, peer_id: 9001 }], state: 1 },
        },
        allocator: { id_current: 60, ts_current: 70 },
      }),
    );
    const t = await openLocalFileStore({ dir });
    const byId = new Map((await t.load()).regions.map((r) => [r.id, r]));
    expect(byId.get(1n)!.epoch.version).toBe(5n);
    expect(text(byId.get(2n)!.endKey)).toBe("t");
    expect(text(byId.get(3n)!.startKey)).toBe("t");
    expect(t.recovery.importedCatalog!.imported).toBe(2);
    expect(t.recovery.importedCatalog!.skipped.map((x) => x.key)).toEqual(["1"]);
    // Peer 9001 is in use: the id checkpoint covers it.
    expect((await t.load()).allocator).toEqual({ idCurrent: 9001n, tsCurrent: 70n });
    await t.close();
  });
});
