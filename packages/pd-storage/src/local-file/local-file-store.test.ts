import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { MAX_UINT64, PdError } from "@nokv/pd-core";
import { afterEach, describe, expect, it } from "vitest";
import { storeContract, testRegion } from "../store.contract.js";
import { formatAllocatorState, parseAllocatorState } from "./allocator-state-file.js";
import { openLocalFileStore } from "./local-file-store.js";
import { frameRecord, scanRecords } from "./record-file.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "pd-storage-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

storeContract({
  name: "local-file",
  durable: true,
  async fresh() {
    const dir = await mkdtemp(join(tmpdir(), "pd-contract-"));
    return {
      open: () => openLocalFileStore({ dir }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});

storeContract({
  name: "local-file, compacting after every append",
  durable: true,
  async fresh() {
    const dir = await mkdtemp(join(tmpdir(), "pd-contract-"));
    return {
      open: () => openLocalFileStore({ dir, compactMinBytes: 0 }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});

async function logFile(dir: string): Promise<string> {
  const logs = (await readdir(dir)).filter((n) => n.endsWith(".log")).sort();
  return join(dir, logs.at(-1)!);
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
    return { code: "OK", message: "" };
  } catch (err) {
    if (err instanceof PdError) return { code: err.code, message: err.message };
    throw err;
  }
}

describe("PD_STATE.json", () => {
  it("accepts the file Go's PD writes", () => {
    expect(parseAllocatorState('{"id_current":5000,"ts_current":7000}', "PD_STATE.json")).toEqual({
      idCurrent: 5000n,
      tsCurrent: 7000n,
    });
  });

  it("reads and writes values above 2^53 digit for digit", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT64 }), fc.bigInt({ min: 0n, max: MAX_UINT64 }), (a, b) => {
        const text = formatAllocatorState({ idCurrent: a, tsCurrent: b });
        expect(text).toBe(`{"id_current":${a},"ts_current":${b}}\n`);
        expect(parseAllocatorState(text, "f")).toEqual({ idCurrent: a, tsCurrent: b });
      }),
    );
    expect(parseAllocatorState('{"id_current":18446744073709551615,"ts_current":9007199254740993}', "f")).toEqual({
      idCurrent: MAX_UINT64,
      tsCurrent: 9007199254740993n,
    });
  });

  it("ignores unknown fields and reads a missing field as 0, like Go", () => {
    expect(parseAllocatorState('{"ts_current":3,"regions":{}}', "f")).toEqual({ idCurrent: 0n, tsCurrent: 3n });
  });

  it.each([
    ["", "not valid JSON"],
    ["{", "not valid JSON"],
    ["[1]", "expected a JSON object"],
    ['{"id_current":-1}', "non-negative integer"],
    ['{"id_current":1.5}', "non-negative integer"],
    ['{"id_current":"7"}', "non-negative integer"],
    ['{"id_current":18446744073709551616}', "exceeds 2^64-1"],
  ])("rejects %j", (text, why) => {
    expect(() => parseAllocatorState(text, "/w/PD_STATE.json")).toThrow(why);
    expect(() => parseAllocatorState(text, "/w/PD_STATE.json")).toThrow("/w/PD_STATE.json");
  });

  it("fails to open on an unparsable file and leaves it as it was", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "PD_STATE.json"), '{"id_current":12,');
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain("PD_STATE.json");
    expect(await readFile(join(dir, "PD_STATE.json"), "utf8")).toBe('{"id_current":12,');
    // The failed open released the lock: a corrected file opens.
    await writeFile(join(dir, "PD_STATE.json"), '{"id_current":12,"ts_current":13}');
    const s = await openLocalFileStore({ dir });
    expect((await s.load()).allocator).toEqual({ idCurrent: 12n, tsCurrent: 13n });
    await s.close();
  });

  it("is replaced atomically: no temp file is left and the content is whole", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.saveAllocatorState({ idCurrent: BigInt(i), tsCurrent: BigInt(i) })));
    await s.close();
    expect(await readFile(join(dir, "PD_STATE.json"), "utf8")).toBe('{"id_current":19,"ts_current":19}\n');
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("record framing", () => {
  const magic = Buffer.from("TESTMAG1");
  const file = (...payloads: string[]) => Buffer.concat([magic, ...payloads.map((p) => frameRecord(Buffer.from(p)))]);

  it("reads back every record", () => {
    const r = scanRecords(file("a", "bb", ""), magic);
    expect(r.kind).toBe("ok");
    if (r.kind === "ok") expect(r.payloads.map(String)).toEqual(["a", "bb", ""]);
  });

  it("calls a record cut short at the end torn, at any cut point", () => {
    const whole = file("first", "second record");
    const firstEnd = file("first").length;
    for (let cut = firstEnd + 1; cut < whole.length; cut++) {
      const r = scanRecords(whole.subarray(0, cut), magic);
      expect(r.kind, `cut at ${cut}`).toBe("torn");
      if (r.kind === "torn") expect(r.goodBytes).toBe(firstEnd);
    }
  });

  it("calls zero-filled space after the last record torn", () => {
    const r = scanRecords(Buffer.concat([file("a"), Buffer.alloc(100)]), magic);
    expect(r.kind).toBe("torn");
  });

  it("calls a damaged record with more data after it corrupt, naming its offset", () => {
    const f = file("first", "second", "third");
    const secondAt = file("first").length;
    const flipped = Buffer.from(f);
    flipped[secondAt + 12 + 2]! ^= 0xff; // payload byte of the second record
    expect(scanRecords(flipped, magic)).toMatchObject({ kind: "corrupt", offset: secondAt });
    const badLen = Buffer.from(f);
    badLen[secondAt]! ^= 0x01; // its length
    expect(scanRecords(badLen, magic)).toMatchObject({ kind: "corrupt", offset: secondAt });
  });
});

describe("local-file store", () => {
  it("drops a torn last record on open, truncates the log and keeps every earlier one", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "m", "") }]);
    await s.close();
    const log = await logFile(dir);
    const size = (await stat(log)).size;
    await truncate(log, size - 5); // crash mid-append of the second record
    const again = await openLocalFileStore({ dir });
    expect(again.recovery.truncated?.file).toBe(log);
    expect((await again.load()).regions.map((r) => r.id)).toEqual([1n]);
    // Appends continue on the repaired log.
    await again.appendRegionEdits([{ kind: "put", region: testRegion(3n, "m", "") }]);
    await again.close();
    const third = await openLocalFileStore({ dir });
    expect(third.recovery.truncated).toBeUndefined();
    expect((await third.load()).regions.map((r) => r.id).sort()).toEqual([1n, 3n]);
    await third.close();
  });

  it("refuses to open with a damaged record in the middle, naming file and offset, and changes nothing", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    for (let i = 1n; i <= 3n; i++) await s.appendRegionEdits([{ kind: "put", region: testRegion(i, `k${i}`, `k${i}~`) }]);
    await s.close();
    const log = await logFile(dir);
    const bytes = await readFile(log);
    const damaged = Buffer.from(bytes);
    damaged[8 + 12 + 3]! ^= 0x55; // inside the first record's payload
    await writeFile(log, damaged);
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain(log);
    expect(got.message).toContain("offset 8");
    expect(Buffer.compare(await readFile(log), damaged)).toBe(0);
  });

  it("shares one fdatasync among appends that arrive together (group commit)", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => s.appendRegionEdits([{ kind: "put", region: testRegion(BigInt(i + 1), `k${i}`, `k${i}~`) }])),
    );
    const st = s.stats();
    expect(st.appends).toBe(100);
    expect(st.logSyncs).toBeLessThan(10);
    await s.close();
  });

  it("compacts into a snapshot, deletes old logs and reloads the same catalog", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir, compactMinBytes: 1 << 30 });
    for (let i = 1; i <= 50; i++) await s.appendRegionEdits([{ kind: "put", region: testRegion(BigInt(i), `k${i}`, `k${i}~`) }]);
    for (let i = 1; i <= 50; i += 2) await s.appendRegionEdits([{ kind: "delete", regionId: BigInt(i) }]);
    await s.compact();
    await s.appendRegionEdits([{ kind: "put", region: testRegion(500n, "z", "") }]);
    expect(s.stats().compactions).toBe(1);
    await s.close();
    const files = (await readdir(dir)).sort();
    expect(files.filter((n) => n.endsWith(".log"))).toHaveLength(1);
    expect(files).toContain("regions.snap");
    const again = await openLocalFileStore({ dir });
    const ids = (await again.load()).regions.map((r) => r.id).sort((a, b) => (a < b ? -1 : 1));
    expect(ids).toEqual([...Array.from({ length: 25 }, (_, i) => BigInt(2 * i + 2)), 500n]);
    await again.close();
  });

  it("loads correctly when a crash left the old log beside a new snapshot", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir, compactMinBytes: 1 << 30 });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.appendRegionEdits([{ kind: "delete", regionId: 1n }, { kind: "put", region: testRegion(2n, "", "") }]);
    const oldLog = await logFile(dir);
    const oldBytes = await readFile(oldLog);
    await s.compact();
    await s.close();
    // Put the already-compacted log back, as if the crash came before its deletion.
    await writeFile(oldLog, oldBytes);
    const again = await openLocalFileStore({ dir });
    expect((await again.load()).regions.map((r) => r.id)).toEqual([2n]);
    await again.close();
    expect(await readdir(dir)).not.toContain(oldLog.split("/").at(-1));
  });

  it("refuses a damaged snapshot", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "") }]);
    await s.compact();
    await s.close();
    await appendFile(join(dir, "regions.snap"), Buffer.from("junk that is not a record"));
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain("regions.snap");
  });

  it("compacts by itself once the log outgrows the threshold, and stays loadable", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir, compactMinBytes: 2000 });
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => s.appendRegionEdits([{ kind: "put", region: testRegion(BigInt(i + 1), `k${i}`, `k${i}~`, BigInt(round + 1)) }])),
      );
    }
    await s.close();
    expect(s.stats().compactions).toBeGreaterThan(0);
    const again = await openLocalFileStore({ dir });
    const regions = (await again.load()).regions;
    expect(regions).toHaveLength(30);
    expect(regions.every((r) => r.epoch.version === 5n)).toBe(true);
    await again.close();
  });

  it("keeps a second PD out of a workdir in use, and takes over a dead owner's lock", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    expect((await codeOf(openLocalFileStore({ dir }))).code).toBe("STORAGE");
    await s.close();
    await writeFile(join(dir, "LOCK"), "999999999\n"); // a pid that does not exist
    const t = await openLocalFileStore({ dir });
    await t.close();
    // A lock from another host is never taken over: its pid cannot be checked here.
    await writeFile(join(dir, "LOCK"), "999999999 some-other-host\n");
    const foreign = await codeOf(openLocalFileStore({ dir }));
    expect(foreign.code).toBe("STORAGE");
    expect(foreign.message).toContain("some-other-host");
  });

  it("rejects a workdir that is a file", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "file"), "x");
    const got = await codeOf(openLocalFileStore({ dir: join(dir, "file") }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain(join(dir, "file"));
  });
});
