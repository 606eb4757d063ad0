import { watch } from "node:fs";
import { readdir } from "node:fs/promises";
import { key, type PdProcess, useTestScope } from "@nokv/e2e/harness";
import { createPdClient, type PdClient, type Region } from "@nokv/pd-client";
import { describe, expect, it } from "vitest";
import { Ledger, listAllRegions } from "./support/ledger.js";
import { recoveryLines } from "./support/pd-outcome.js";
import { bySize, createRandom } from "./support/sweep.js";

// kill -9 at random moments of a compaction, under concurrent writes, then
// restart: every acknowledged region write must be there, nothing newer
// than what was sent, and no id or timestamp handed out again. The moment
// is chosen by counting the workdir's file events (inotify) from the start
// of a log switch, so kills land all over the switch, the snapshot write,
// the rename and the removal of old logs.

const scope = useTestScope();
const KILLS = bySize(8, 100);
const WORKERS = 4;
const REGIONS_PER_WORKER = 10;
/** Most file events after a switch starts before the kill. */
const MAX_EVENTS = 12;

describe("kill -9 during compaction", () => {
  it(`loses nothing acknowledged and hands out nothing twice (${KILLS} kills)`, async () => {
    const dir = await scope.workdir();
    const rng = createRandom("kill during compaction");
    const args = ["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "error", "--compact-min-bytes", "16384"];
    const ledger = new Ledger();
    /** Region id → highest version sent (acknowledged or not). */
    const attempted = new Map<bigint, bigint>();
    const pad = "x".repeat(100); // larger regions: a larger snapshot, a longer compaction
    const regionAt = (id: bigint, w: number, j: number, version: bigint): Region => {
      const start = `c/${w}/${String(j).padStart(2, "0")}/${pad}`;
      return { id, startKey: key(start), endKey: key(`${start}~`), epoch: { version, confVersion: 1n }, peers: [{ storeId: 1n + BigInt(w % 3), peerId: id + 1n }] };
    };

    let pd: PdProcess = await scope.startPd(args);
    const setup = createPdClient({ addr: pd.addr, timeoutMs: 5000 });
    const base = (await ledger.takeIds(setup, BigInt(2 * WORKERS * REGIONS_PER_WORKER), "set-up")).firstId;
    setup.close();
    const idOf = (w: number, j: number) => base + BigInt(2 * (w * REGIONS_PER_WORKER + j));

    const coverage = { midCompaction: 0, tornTails: 0, inFlightFailures: 0 };
    for (let kill = 0; kill < KILLS; kill++) {
      const where = `kill ${kill}`;
      const client: PdClient = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false, retry: false });
      const unexpected: unknown[] = [];
      let stopping = false;
      const worker = async (w: number) => {
        let writes = kill; // each round starts on another region
        for (let n = 0; !stopping; n++) {
          try {
            if (n % 10 === 9) {
              const ids = await client.allocId(BigInt(1 + (n % 7)));
              ledger.addIds(ids, where);
              continue;
            }
            if (n % 10 === 4) {
              const ts = await client.getTimestamps(BigInt(1 + (n % 5)));
              ledger.addTimestamps(ts, where);
              continue;
            }
            const j = writes++ % REGIONS_PER_WORKER;
            const id = idOf(w, j);
            const version = (attempted.get(id) ?? 0n) + 1n;
            attempted.set(id, version);
            const r = regionAt(id, w, j, version);
            if (await client.regionHeartbeat(r)) ledger.regions.set(id, r);
          } catch (err) {
            if (!stopping) unexpected.push(err);
            else coverage.inFlightFailures++;
            return;
          }
        }
      };
      const target = rng.int(MAX_EVENTS + 1);
      let events = -1; // -1: no switch seen yet
      const killed = new Promise<void>((resolve) => {
        const watcher = watch(dir, (_type, name) => {
          if (events < 0 && name !== null && /\.log\.tmp$/.test(name)) events = 0;
          if (events < 0 || events++ < target) return;
          watcher.close();
          process.kill(pd.pid, "SIGKILL");
          resolve();
        });
      });
      // Answers that arrive after the kill was decided were still acknowledged: they count too.
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
      await Promise.race([killed, Promise.all(workers)]);
      expect(unexpected, where).toEqual([]);
      stopping = true;
      expect(await pd.exited, where).toBe("SIGKILL");
      client.close();
      await Promise.all(workers);
      expect(unexpected, where).toEqual([]);
      const names = await readdir(dir);
      if (names.includes("regions.snap.tmp") || names.some((n) => n.endsWith(".log.tmp")) || names.filter((n) => n.endsWith(".log")).length > 1) {
        coverage.midCompaction++;
      }

      // Restart: a kill -9 never keeps PD from starting.
      pd = await scope.startPd(args);
      if (recoveryLines(pd.stdout).some((l) => l.includes("dropped"))) coverage.tornTails++;
      const check = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false });
      const found = new Map((await listAllRegions(check)).map((r) => [r.id, r]));
      for (const [id, sent] of attempted) {
        const acked = ledger.regions.get(id);
        const got = found.get(id);
        if (acked !== undefined) expect(got, `${where}: region ${id} acknowledged at version ${acked.epoch.version}`).toBeDefined();
        if (got === undefined) continue;
        expect(got.epoch.version, `${where}: region ${id}`).toBeGreaterThanOrEqual(acked?.epoch.version ?? 1n);
        expect(got.epoch.version, `${where}: region ${id}`).toBeLessThanOrEqual(sent);
      }
      expect(found.size, `${where}: regions`).toBeLessThanOrEqual(attempted.size);
      await ledger.expectFreshValues(check, where);
      check.close();
    }
    console.log(
      `kill during compaction: ${KILLS} kills, ${coverage.midCompaction} left a compaction half done (two logs or a temp file), ` +
        `${coverage.tornTails} left a torn tail, ${coverage.inFlightFailures} calls in flight failed; ` +
        `${ledger.regions.size} regions at their acknowledged versions, ${ledger.ids.size} ids and ${ledger.timestamps.size} timestamps, none twice`,
    );
    expect(coverage.midCompaction, "kills that hit a compaction half done").toBeGreaterThanOrEqual(Math.ceil(KILLS / 4));
  }, bySize(60_000, 1_800_000));
});
