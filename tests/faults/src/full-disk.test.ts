import { readdir, readFile, truncate } from "node:fs/promises";
import { basename, join } from "node:path";
import { key, type PdProcess, useTestScope } from "@nokv/e2e/harness";
import { createPdClient, GrpcStatus, PdClientError, type PdClient, type Region } from "@nokv/pd-client";
import { describe, expect, it } from "vitest";
import { expectCatalog, Ledger } from "./support/ledger.js";
import { expectRefusal, scrapeMetric, statusAddr } from "./support/pd-outcome.js";
import { fillDisk, freeBytes, mountTmpfs, probeTmpfs } from "./support/tmpfs.js";
import { expectSameFiles, readWorkdir } from "./support/workdir-files.js";
import { waitUntil } from "@nokv/testkit";

// PD's workdir on a 2 MiB tmpfs that the test fills up (twice) while PD
// runs. A write that cannot be made durable must fail cleanly with STORAGE
// and change nothing; PD must keep serving, recover by itself once space
// is freed, and a log switch or compaction that failed on the full disk
// must not stand in the way of a later start.

const scope = useTestScope();
const tmpfs = probeTmpfs();
if (!tmpfs.ok) console.warn(`full disk: ${tmpfs.required ? "must run as root, but " : "skipped: "}${tmpfs.reason}`);

const TMPFS_BYTES = 2 * 1024 * 1024;
const REGIONS = 8;

function expectStorageError(err: unknown, what: string): void {
  expect(err, what).toBeInstanceOf(PdClientError);
  const e = err as PdClientError;
  expect({ code: e.code, status: GrpcStatus[e.status] }, `${what}: ${e.message}`).toEqual({ code: "STORAGE", status: "INTERNAL" });
}

describe.skipIf(!tmpfs.ok && !tmpfs.required)(`a full disk under pd-cli pd --workdir${tmpfs.ok ? "" : ` (${tmpfs.reason})`}`, () => {
  it("fails writes with STORAGE and no crash, recovers without a restart, keeps every acknowledged write, and starts again after failed compactions", async () => {
    expect(tmpfs.reason, "a tmpfs can be mounted").toBe("");
    const mnt = await mountTmpfs(TMPFS_BYTES, scope.cleanup);
    const dir = join(mnt, "pd");
    // A small compaction threshold and a catalog of a few regions bumped over and over:
    // the log passes the threshold every couple of dozen writes, so switches are frequent.
    const args = ["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "error", "--compact-min-bytes", "2048", "--status-addr", "127.0.0.1:0"];
    const ledger = new Ledger();
    const counts = { acked: 0, storageErrors: 0, idStorageErrors: 0, tsoStorageErrors: 0 };
    let pd: PdProcess;
    let client: PdClient;
    let status: string;
    const start = async () => {
      pd = await scope.startPd(args);
      client = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false, retry: false });
      scope.cleanup.add(() => client.close());
      status = statusAddr(pd.stdout);
    };
    await start();

    const base = await ledger.takeIds(client!, BigInt(2 * REGIONS), "set-up");
    const versions = Array.from({ length: REGIONS }, () => 0n);
    /** The next version of region `i`: true when acknowledged, false when refused with STORAGE. */
    const bump = async (i: number, what: string): Promise<boolean> => {
      const version = ++versions[i]!;
      const id = base.firstId + BigInt(2 * i);
      const k = `full/${i}`;
      const r: Region = { id, startKey: key(k), endKey: key(`${k}~`), epoch: { version, confVersion: 1n }, peers: [{ storeId: 1n, peerId: id + 1n }] };
      try {
        expect(await client.regionHeartbeat(r)).toBe(true);
      } catch (err) {
        expectStorageError(err, `${what}: region ${id} version ${version}`);
        counts.storageErrors++;
        return false;
      }
      ledger.regions.set(id, r);
      counts.acked++;
      return true;
    };
    /** Writes until one is refused for want of space (each refusal checked to be STORAGE). */
    const writeUntilFull = async (what: string) => {
      for (let n = 0; ; n++) {
        if (!(await bump(n % REGIONS, what))) break;
        expect(n, `${what}: writes still acknowledged on a full disk`).toBeLessThan(500);
      }
      // Ids: a run past the allocator's durable ceiling needs a write.
      for (let n = 0; ; n++) {
        try {
          await ledger.takeIds(client, 1000n, what);
        } catch (err) {
          expectStorageError(err, `${what}: AllocID`);
          counts.idStorageErrors++;
          break;
        }
        expect(n, `${what}: ids still handed out on a full disk`).toBeLessThan(20);
      }
      // Timestamps come from a ceiling kept seconds ahead: they may well still be served.
      for (let n = 0; n < 5; n++) {
        await ledger.takeTimestamps(client, 1000n, what).catch((err: unknown) => {
          expectStorageError(err, `${what}: Tso`);
          counts.tsoStorageErrors++;
        });
      }
      // Still serving: reads need no disk, and the process is alive.
      expect(await client.checkHealth()).toBe("SERVING");
      expect((await client.getRegionByKey(key("full/0")))?.id).toBe(base.firstId);
      expect(pd.child.exitCode, "pd-cli exited on a full disk").toBeNull();
    };
    const compactions = () => scrapeMetric(status, "pd_storage_compactions_total");
    const compactionFailures = () => scrapeMetric(status, "pd_storage_compaction_failures_total");
    /** Writes until a compaction succeeds (automatic compaction runs after writes, with back-off after a failure). */
    const writeUntilCompacted = async (what: string) => {
      const before = await compactions();
      let n = 0;
      await waitUntil(`${what}: a compaction to succeed`, async () => (await bump(n++ % REGIONS, what)) && (await compactions()) > before, 20_000);
    };

    // 1. Healthy: acknowledged writes, compactions.
    await writeUntilCompacted("healthy");
    await ledger.takeTimestamps(client!, 10n, "healthy");

    // 2. Full: writes fail cleanly, and so does the log switch the next compaction needs.
    const filler = await fillDisk(mnt);
    expect(await freeBytes(mnt)).toBe(0n);
    await writeUntilFull("full disk");
    expect(await compactionFailures(), "a compaction failed on the full disk").toBeGreaterThanOrEqual(1);
    await expectCatalog(client!, ledger.regions.values(), "full disk, before freeing space");

    // 3. Space freed: PD recovers by itself, compaction included.
    await filler.free();
    expect(await bump(0, "space freed")).toBe(true);
    await ledger.takeIds(client!, 1000n, "space freed");
    await ledger.takeTimestamps(client!, 10n, "space freed");
    await writeUntilCompacted("space freed");
    await expectCatalog(client!, ledger.regions.values(), "after recovering without a restart");

    // 4. Full again, then kill -9: no clean shutdown on a full disk.
    const again = await fillDisk(mnt, "filler-2");
    await writeUntilFull("full again");
    expect(await pd!.stop("SIGKILL")).toBe("SIGKILL");
    client!.close();

    // 5. Starting on the still-full disk: refused in one line with nothing changed, or started with everything.
    const before = await readWorkdir(dir);
    const onFull = await scope.launchPd(args);
    let fullStart: string;
    if (onFull.listening) {
      const c = createPdClient({ addr: onFull.addr, timeoutMs: 5000, routeCache: false });
      await expectCatalog(c, ledger.regions.values(), "started on a full disk");
      c.close();
      await onFull.stop("SIGKILL");
      fullStart = "started";
    } else {
      expectRefusal(onFull, dir, "start on a full disk");
      // LOCK may go (it is removed on the way out); nothing else changes.
      expectSameFiles(await readWorkdir(dir), before, "start on a full disk", { ignoreLock: true });
      fullStart = `refused: ${onFull.stderr[0]}`;
    }

    // 6. Space freed: PD starts with every acknowledged write, hands out nothing twice, and compacts again.
    await again.free();
    await start();
    await expectCatalog(client!, ledger.regions.values(), "restart after the full disk");
    await ledger.expectFreshValues(client!, "restart after the full disk");
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp")), "temp files left behind").toEqual([]);
    await writeUntilCompacted("restart after the full disk");
    await expectCatalog(client!, ledger.regions.values(), "after compacting again");
    console.log(
      `full disk: ${counts.acked} region writes acknowledged, ${counts.storageErrors} refused with STORAGE; ` +
        `AllocID refused ${counts.idStorageErrors}×, Tso ${counts.tsoStorageErrors}×; start on the full disk ${fullStart}`,
    );
  }, 60_000);

  it("refuses to start on a full disk without leaving anything behind (no LOCK yet, or a torn tail to keep), and starts with the acknowledged prefix once space is freed", async () => {
    expect(tmpfs.reason, "a tmpfs can be mounted").toBe("");
    const mnt = await mountTmpfs(TMPFS_BYTES, scope.cleanup);
    const dir = join(mnt, "pd");
    const args = ["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "error"];
    const ledger = new Ledger();
    const outcomes: string[] = [];
    const serve = async (what: string, work: (client: PdClient) => Promise<void>, signal: "SIGTERM" | "SIGKILL") => {
      const pd = await scope.startPd(args);
      const client = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false });
      await expectCatalog(client, ledger.regions.values(), what);
      await ledger.expectFreshValues(client, what);
      await work(client);
      client.close();
      expect(await pd.stop(signal)).toBe(signal === "SIGTERM" ? 0 : "SIGKILL");
    };
    const put = async (client: PdClient, n: number, version: bigint) => {
      const ids = await ledger.takeIds(client, 2n, "put");
      const r: Region = { id: ids.firstId, startKey: key(`r/${n}`), endKey: key(`r/${n}~`), epoch: { version, confVersion: 1n }, peers: [{ storeId: 1n, peerId: ids.firstId + 1n }] };
      expect(await client.regionHeartbeat(r)).toBe(true);
      ledger.regions.set(r.id, r);
    };
    /** Starts on the full disk: refused in one line with nothing changed, or started with everything acknowledged. */
    const startOnFullDisk = async (what: string, ignoreLock: boolean) => {
      const filler = await fillDisk(mnt);
      const before = await readWorkdir(dir);
      const launch = await scope.launchPd(args);
      if (launch.listening) {
        const c = createPdClient({ addr: launch.addr, timeoutMs: 5000, routeCache: false });
        await expectCatalog(c, ledger.regions.values(), what);
        c.close();
        await launch.stop("SIGKILL");
        outcomes.push(`${what}: started`);
      } else {
        expectRefusal(launch, dir, what);
        expectSameFiles(await readWorkdir(dir), before, what, { ignoreLock });
        outcomes.push(`${what}: refused (${launch.stderr[0]})`);
      }
      await filler.free();
    };

    // A clean stop removes LOCK: a start on the full disk cannot even write it.
    await serve("first start", async (c) => put(c, 0, 1n), "SIGTERM");
    await startOnFullDisk("no LOCK", false);

    // A kill -9 right after a write whose end did not reach the disk: a torn tail to keep aside.
    let tornAt = 0;
    await serve(
      "second start",
      async (c) => {
        await put(c, 1, 1n);
        const log = join(dir, (await readdir(dir)).find((n) => n.endsWith(".log"))!);
        tornAt = (await readFile(log)).length;
        await put(c, 2, 1n);
      },
      "SIGKILL",
    );
    const log = join(dir, (await readdir(dir)).find((n) => n.endsWith(".log"))!);
    const written = await readFile(log);
    await truncate(log, written.length - 7);
    // The cut write was acknowledged, but it is gone from the disk: what PD must come back with is the rest.
    const lost = [...ledger.regions.keys()].at(-1)!;
    ledger.regions.delete(lost);
    await startOnFullDisk("torn tail", true);

    await serve("space freed", async () => undefined, "SIGTERM");
    const names = await readdir(dir);
    expect(names.filter((n) => n.includes(".tail-")), "exactly one copy of the cut bytes").toEqual([`${basename(log)}.tail-${tornAt}`]);
    expect((await readFile(`${log}.tail-${tornAt}`)).equals(written.subarray(tornAt, written.length - 7))).toBe(true);
    console.log(`full disk at start-up: ${outcomes.join("; ")}`);
  }, 60_000);
});
