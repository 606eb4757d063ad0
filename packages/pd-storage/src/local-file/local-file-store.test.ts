import { spawnSync } from "node:child_process";
import { appendFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PdError } from "@nokv/pd-core";
import { afterEach, describe, expect, it } from "vitest";
import { storeContract, testRegion } from "../testing/store-contract.js";
import { describeRecovery, openLocalFileStore } from "./local-file-store.js";
import { frameRecord, scanRecords } from "./record-file.js";
import { codeOf, useTempDirs } from "@nokv/testkit";

const temp = useTempDirs("pd-storage");
const tempDir = () => temp.make();

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

  it("keeps the scheduling config in SCHEDULING.json, and refuses to open on one it cannot read, changing nothing", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.saveSchedulingConfig({ maxReplicas: 5, defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 15 }, storeLimits: [], pausedSchedulers: [] });
    await s.close();
    const text = await readFile(join(dir, "SCHEDULING.json"), "utf8");
    expect(JSON.parse(text)).toMatchObject({ version: 1, max_replicas: 5 });
    expect(await readdir(dir)).not.toContain("SCHEDULING.json.tmp");
    await writeFile(join(dir, "SCHEDULING.json"), '{"version":1,"max_replicas":');
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain("SCHEDULING.json");
    expect(await readFile(join(dir, "SCHEDULING.json"), "utf8")).toBe('{"version":1,"max_replicas":');
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

  it("rejects a workdir that is a file", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "file"), "x");
    const got = await codeOf(openLocalFileStore({ dir: join(dir, "file") }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain(join(dir, "file"));
  });
});

describe("local-file store under faults", () => {
  const big = (id: bigint, start: string, end: string, keyBytes: number, version = 1n) => ({
    ...testRegion(id, start, end, version),
    startKey: Buffer.concat([Buffer.from(start), Buffer.alloc(start === "" ? 0 : keyBytes, 0x61)]),
    endKey: end === "" ? new Uint8Array() : Buffer.concat([Buffer.from(end), Buffer.alloc(keyBytes, 0x61)]),
  });

  it("refuses an append larger than one record before writing anything", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir, maxRecordBytes: 4096 });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "a", "b") }]);
    const before = await readFile(await logFile(dir));
    const got = await codeOf(s.appendRegionEdits([{ kind: "put", region: big(2n, "c", "d", 3000) }]));
    expect(got.code).toBe("INVALID_ARGUMENT");
    expect(got.message).toContain("record limit");
    expect(Buffer.compare(await readFile(await logFile(dir)), before)).toBe(0);
    await s.close();
  });

  it("cuts snapshot records by bytes, so a snapshot of large regions reads back", async () => {
    const dir = await tempDir();
    const limit = 8192;
    const s = await openLocalFileStore({ dir, maxRecordBytes: limit, compactMinBytes: 1 << 30 });
    // 40 regions of ~2.5 KiB: one record per region fits, 1024 (or even 4) to a record would not.
    for (let i = 0; i < 40; i++) {
      const k = `k${String(i).padStart(3, "0")}`;
      await s.appendRegionEdits([{ kind: "put", region: big(BigInt(i + 1), k, `${k}~`, 1200) }]);
    }
    await s.compact();
    await s.close();
    const scan = scanRecords(await readFile(join(dir, "regions.snap")), Buffer.from("NOKVPDS1"));
    expect(scan.kind).toBe("ok");
    if (scan.kind === "ok") for (const p of scan.payloads) expect(p.length).toBeLessThanOrEqual(limit);
    const again = await openLocalFileStore({ dir });
    expect((await again.load()).regions).toHaveLength(40);
    await again.close();
  });

  it("refuses a missing PD_STATE.json beside a catalog, unless told to recover, and then rebuilds it above the catalog", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(40n, "", "") }]);
    await s.saveAllocatorState({ idCurrent: 3000n, tsCurrent: 99n });
    await s.close();
    await rm(join(dir, "PD_STATE.json"));
    const files = (await readdir(dir)).sort();
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain("PD_STATE.json is missing");
    expect(got.message).toContain("--recover-missing-state");
    expect((await readdir(dir)).sort()).toEqual(files);
    const r = await openLocalFileStore({ dir, recoverMissingState: true });
    expect(r.recovery.rebuiltState).toEqual({ idCurrent: 402n, tsCurrent: 0n });
    expect((await r.load()).allocator).toEqual({ idCurrent: 402n, tsCurrent: 0n });
    await r.close();
    // Rebuilt durably: the next open needs no flag.
    const t = await openLocalFileStore({ dir });
    await t.close();
  });

  it("keeps the bytes of a torn tail in a side file and says why it was cut", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "m", "") }]);
    await s.close();
    const log = await logFile(dir);
    const whole = await readFile(log);
    const firstEnd = 8 + 12 + (whole.readUInt32LE(8) as number);
    await truncate(log, whole.length - 5);
    const again = await openLocalFileStore({ dir });
    const t = again.recovery.truncated!;
    expect(t).toMatchObject({ file: log, offset: firstEnd, reason: "short", savedTo: `${log}.tail-${firstEnd}` });
    expect(Buffer.compare(await readFile(t.savedTo), whole.subarray(firstEnd, whole.length - 5))).toBe(0);
    expect(describeRecovery(again.recovery)[0]).toContain("torn");
    await again.close();
  });

  it("drops a whole last record that fails its checksum, calls it possible corruption, and keeps it", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.appendRegionEdits([{ kind: "delete", regionId: 1n }]);
    await s.close();
    const log = await logFile(dir);
    const bytes = await readFile(log);
    bytes[bytes.length - 1]! ^= 0x01; // inside the acknowledged delete's payload
    await writeFile(log, bytes);
    const again = await openLocalFileStore({ dir });
    const t = again.recovery.truncated!;
    expect(t.reason).toBe("checksum");
    expect(describeRecovery(again.recovery)[0]).toContain("corruption");
    expect((await readFile(t.savedTo)).length).toBe(t.droppedBytes);
    await again.close();
  });

  it("does not count a newest log without records as a newer log after a torn one", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "m", "") }]);
    await s.close();
    const log = await logFile(dir);
    await truncate(log, (await stat(log)).size - 3);
    // What a full disk during a log switch used to leave: an empty next generation.
    await writeFile(join(dir, "regions.00000000000000000002.log"), "");
    const again = await openLocalFileStore({ dir });
    expect(again.recovery.removedEmptyLogs).toEqual([join(dir, "regions.00000000000000000002.log")]);
    expect(again.recovery.truncated?.file).toBe(log);
    expect((await again.load()).regions.map((r) => r.id)).toEqual([1n]);
    await again.close();
  });

  it("keeps and reports a torn first record of the newest log like any torn tail, not as an empty log", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir, compactMinBytes: 1 << 30 });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.compact();
    await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "m", "") }]);
    await s.close();
    const log = await logFile(dir);
    const whole = await readFile(log);
    await truncate(log, whole.length - 4); // a crash mid-append of the new log's first record
    const again = await openLocalFileStore({ dir });
    expect(again.recovery.removedEmptyLogs).toBeUndefined();
    expect(again.recovery.truncated).toMatchObject({ file: log, offset: 8, reason: "short", savedTo: `${log}.tail-8` });
    expect(describeRecovery(again.recovery)[0]).toContain(`dropped ${whole.length - 12} byte(s) at offset 8 of ${log} (torn`);
    expect(Buffer.compare(await readFile(`${log}.tail-8`), whole.subarray(8, whole.length - 4))).toBe(0);
    expect((await again.load()).regions.map((r) => r.id)).toEqual([1n]);
    await again.close();
  });

  it("refuses a gap in the log generations, naming the missing log, and changes nothing", async () => {
    const dir = await tempDir();
    const s = await openLocalFileStore({ dir, compactMinBytes: 1 << 30 });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.compact();
    await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "m", "") }]);
    await s.close();
    // Two more generations by hand: make gen 3 by copying gen 2's shape, then drop gen 2.
    const gen2 = join(dir, "regions.00000000000000000002.log");
    await writeFile(join(dir, "regions.00000000000000000003.log"), await readFile(gen2));
    await rm(gen2);
    const files = (await readdir(dir)).sort();
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain("regions.00000000000000000002.log is missing");
    expect((await readdir(dir)).sort()).toEqual(files);
  });

  it("logs and counts a failed log switch, leaves no half-made log, and succeeds on retry", async () => {
    const dir = await tempDir();
    const warnings: string[] = [];
    const s = await openLocalFileStore({ dir, compactMinBytes: 1 << 30, log: { warn: (_o, msg) => warnings.push(msg) } });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "") }]);
    // Something in the way of the next log's temp file makes the switch fail, as a full disk would.
    const obstacle = join(dir, "regions.00000000000000000002.log.tmp");
    await mkdir(obstacle);
    expect((await codeOf(s.compact())).code).toBe("STORAGE");
    expect(s.stats().compactionFailures).toBe(1);
    expect(warnings.some((w) => w.includes("compaction failed"))).toBe(true);
    expect(await readdir(dir)).not.toContain("regions.00000000000000000002.log");
    await rm(obstacle, { recursive: true });
    await s.compact();
    expect(s.stats().compactions).toBe(1);
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "", 2n) }]);
    await s.close();
    const again = await openLocalFileStore({ dir });
    expect((await again.load()).regions[0]!.epoch.version).toBe(2n);
    await again.close();
  });
});

/** Mounting a tmpfs (to fill it) needs root; CI runs as root. */
const canMount = process.getuid?.() === 0;

describe.skipIf(!canMount)(`local-file store on a full disk (a tmpfs${canMount ? "" : "; skipped: mounting needs root"})`, () => {
  async function fullTmpfs(): Promise<{ mnt: string; fill: () => Promise<void>; free: () => Promise<void> }> {
    // Not a managed temp dir: it is unmounted before it is removed.
    const mnt = await mkdtemp(join(tmpdir(), "pd-tmpfs-"));
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt], { encoding: "utf8" });
    expect(m.status, m.stderr).toBe(0);
    unmounts.push(async () => {
      spawnSync("umount", ["-l", mnt]);
      await rm(mnt, { recursive: true, force: true });
    });
    const filler = join(mnt, "filler");
    return {
      mnt,
      async fill() {
        const fh = await open(filler, "a");
        try {
          for (let chunk = 65536; chunk >= 1; ) {
            try {
              const { bytesWritten } = await fh.write(Buffer.alloc(chunk, 1));
              if (bytesWritten < chunk) chunk >>= 1;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
              chunk >>= 1;
            }
          }
        } finally {
          await fh.close();
        }
      },
      free: () => rm(filler),
    };
  }
  const unmounts: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const u of unmounts.splice(0)) await u();
  });

  it("refuses to open when it cannot write LOCK, and leaves no LOCK behind", async () => {
    const disk = await fullTmpfs();
    const dir = join(disk.mnt, "pd");
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "") }]);
    await s.close();
    const files = (await readdir(dir)).sort();
    expect(files).not.toContain("LOCK");
    await disk.fill();
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain(`cannot write ${join(dir, "LOCK")}`);
    expect((await readdir(dir)).sort()).toEqual(files);
    await disk.free();
    const again = await openLocalFileStore({ dir });
    expect((await again.load()).regions).toHaveLength(1);
    await again.close();
  });

  it("refuses to open when it cannot keep a torn tail aside, naming the side file, and leaves no partial copy of it", async () => {
    const disk = await fullTmpfs();
    const dir = join(disk.mnt, "pd");
    const s = await openLocalFileStore({ dir });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
    await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "m", "") }]);
    await s.close();
    const log = await logFile(dir);
    const whole = await readFile(log);
    const firstEnd = 8 + 12 + whole.readUInt32LE(8);
    await truncate(log, whole.length - 5);
    // LOCK as a kill -9 leaves it: rewriting it in place needs no new space, keeping the tail aside does.
    await writeFile(join(dir, "LOCK"), "{}\n");
    const files = (await readdir(dir)).filter((n) => n !== "LOCK").sort();
    await disk.fill();
    const got = await codeOf(openLocalFileStore({ dir }));
    expect(got.code).toBe("STORAGE");
    expect(got.message).toContain(`cannot keep ${whole.length - 5 - firstEnd} cut byte(s) in ${log}.tail-${firstEnd}`);
    expect((await readdir(dir)).filter((n) => n !== "LOCK").sort()).toEqual(files);
    expect((await stat(log)).size).toBe(whole.length - 5);
    await disk.free();
    const again = await openLocalFileStore({ dir });
    expect(again.recovery.truncated?.savedTo).toBe(`${log}.tail-${firstEnd}`);
    expect((await again.load()).regions.map((r) => r.id)).toEqual([1n]);
    await again.close();
  });
});
