import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { key, startPdProcess } from "@nokv/e2e/harness";
import { createPdClient, type Region } from "@nokv/pd-client";
import { expect } from "vitest";
import { Ledger } from "./ledger.js";
import { type RecordLayout, recordLayout } from "./record-file.js";
import { waitUntil } from "@nokv/testkit";

/**
 * A stopped PD's workdir with a snapshot and a short edit log after it, and
 * what was acknowledged to build it. Every acknowledged region write is one
 * record (writes are sent one at a time), so the catalog after the snapshot
 * and the first `k` records of the log is `states[snapshotWrites + k]`.
 */
export interface CatalogFixture {
  readonly dir: string;
  /** Catalog after each acknowledged write: `states[0]` is empty, `states.at(-1)` the final one. */
  readonly states: ReadonlyArray<ReadonlyMap<bigint, Region>>;
  /** Writes covered by the snapshot. */
  readonly snapshotWrites: number;
  /** The one log file (name) and its layout. */
  readonly logName: string;
  readonly log: Buffer;
  readonly logLayout: RecordLayout;
  /** Ids and timestamps acknowledged while building it. */
  readonly ledger: Ledger;
}

/** Between eight and ten of the fixture's region records: the log is compacted after its eighth to tenth write. */
const COMPACT_MIN_BYTES = 750;

function region(id: bigint, n: number, version: bigint): Region {
  const start = `d/${String(n).padStart(2, "0")}`;
  return { id, startKey: key(start), endKey: key(`${start}~`), epoch: { version, confVersion: 1n }, peers: [{ storeId: 1n + BigInt(n % 3), peerId: id + 1n }] };
}

/**
 * Builds a {@link CatalogFixture} in `dir` with a real pd-cli: ten region
 * writes (compacted into `regions.snap`), then four more left in the log,
 * the last a removal; then ids and timestamps beyond every id in the
 * catalog, so that a checkpoint read too low would hand some out again.
 */
export async function buildCatalogFixture(dir: string): Promise<CatalogFixture> {
  const pd = await startPdProcess(["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn", "--compact-min-bytes", String(COMPACT_MIN_BYTES)]);
  const client = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false });
  try {
    const ledger = new Ledger();
    const states: Array<Map<bigint, Region>> = [new Map()];
    const put = async (r: Region) => {
      expect(await client.regionHeartbeat(r)).toBe(true);
      states.push(new Map(states.at(-1)!).set(r.id, r));
    };
    const ids: bigint[] = [];
    for (let n = 0; n < 9; n++) ids.push((await ledger.takeIds(client, 2n, "fixture")).firstId);
    // Eight regions and two epoch bumps: the log passes the threshold and is compacted.
    for (let n = 0; n < 8; n++) await put(region(ids[n]!, n, 1n));
    await put(region(ids[0]!, 0, 2n));
    await put(region(ids[1]!, 1, 2n));
    const compacted = async () => {
      const names = await readdir(dir);
      return names.includes("regions.snap") && names.filter((n) => n.endsWith(".log")).length === 1 && !names.some((n) => n.endsWith(".tmp"));
    };
    await waitUntil("the fixture's log to be compacted", compacted, 10_000);
    // Four writes stay in the log: a new region, two bumps, and a removal last.
    await put(region(ids[8]!, 8, 1n));
    await put(region(ids[2]!, 2, 2n));
    await put(region(ids[8]!, 8, 2n));
    expect(await client.removeRegion(ids[3]!)).toBe(true);
    const removed = new Map(states.at(-1)!);
    removed.delete(ids[3]!);
    states.push(removed);
    await ledger.takeIds(client, 40n, "fixture");
    await ledger.takeTimestamps(client, 20n, "fixture");
    client.close();
    expect(await pd.stop("SIGTERM")).toBe(0);

    const logs = (await readdir(dir)).filter((n) => n.endsWith(".log"));
    expect(logs).toHaveLength(1);
    const logName = logs[0]!;
    const log = await readFile(join(dir, logName));
    const logLayout = recordLayout(log);
    // Every write is one record: those not in the log are in the snapshot.
    expect(logLayout.records, "records in the log after the snapshot").toBeGreaterThanOrEqual(4);
    const snapshotWrites = states.length - 1 - logLayout.records;
    return { dir, states, snapshotWrites, logName, log, logLayout, ledger };
  } finally {
    client.close();
    await pd.stop("SIGKILL");
  }
}
