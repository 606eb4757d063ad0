import { show } from "@nokv/e2e/harness";
import type { IdRange, PdClient, Region, TimestampRange } from "@nokv/pd-client";
import { expect } from "vitest";

/**
 * What PD acknowledged, as seen by its clients, across every incarnation of
 * one workdir. Only values whose answers arrived go in. Adding an id or a
 * timestamp that is already there fails: it was handed out twice.
 */
export class Ledger {
  readonly ids = new Set<bigint>();
  readonly timestamps = new Set<bigint>();
  maxId = 0n;
  maxTs = 0n;
  /** Region id → the region as last acknowledged (removed ones are gone). */
  readonly regions = new Map<bigint, Region>();

  /**
   * A copy to check one of several PDs started on copies of the same
   * workdir: each may hand out the same next values, but none of the old ones.
   */
  fork(): Ledger {
    const copy = new Ledger();
    for (const id of this.ids) copy.ids.add(id);
    for (const ts of this.timestamps) copy.timestamps.add(ts);
    copy.maxId = this.maxId;
    copy.maxTs = this.maxTs;
    for (const [id, r] of this.regions) copy.regions.set(id, r);
    return copy;
  }

  /** Records an acknowledged run of ids. */
  addIds(run: IdRange, where: string): void {
    for (let id = run.firstId; id < run.firstId + run.count; id++) {
      if (this.ids.has(id)) throw new Error(`${where}: id ${id} handed out twice`);
      this.ids.add(id);
      if (id > this.maxId) this.maxId = id;
    }
  }

  /** Records an acknowledged run of timestamps. */
  addTimestamps(run: TimestampRange, where: string): void {
    for (let ts = run.first; ts < run.first + run.count; ts++) {
      if (this.timestamps.has(ts)) throw new Error(`${where}: timestamp ${ts} handed out twice`);
      this.timestamps.add(ts);
      if (ts > this.maxTs) this.maxTs = ts;
    }
  }

  /** Allocates `count` ids through `client` and records them. */
  async takeIds(client: PdClient, count: bigint, where: string): Promise<IdRange> {
    const run = await client.allocId(count);
    expect(run.count).toBe(count);
    this.addIds(run, where);
    return run;
  }

  /** Takes `count` timestamps through `client` and records them. */
  async takeTimestamps(client: PdClient, count: bigint, where: string): Promise<TimestampRange> {
    const run = await client.getTimestamps(count);
    this.addTimestamps(run, where);
    return run;
  }

  /**
   * Checks that a PD just started on this workdir hands out only new values:
   * its next id and timestamp are above everything acknowledged before.
   */
  async expectFreshValues(client: PdClient, where: string): Promise<void> {
    const { maxId, maxTs } = this;
    const ids = await this.takeIds(client, 3n, where);
    expect(ids.firstId, `${where}: first id after start`).toBeGreaterThan(maxId);
    const ts = await this.takeTimestamps(client, 3n, where);
    expect(ts.first, `${where}: first timestamp after start`).toBeGreaterThan(maxTs);
  }
}

/** Every region PD holds, in key order (all pages). */
export async function listAllRegions(client: PdClient): Promise<Region[]> {
  const out: Region[] = [];
  let startKey: Uint8Array | undefined;
  for (;;) {
    const page = await client.listRegions({ limit: 1000n, ...(startKey !== undefined && { startKey }) });
    out.push(...page.regions);
    if (page.nextStartKey === undefined) return out;
    startKey = page.nextStartKey;
  }
}

/** Asserts that PD's catalog is exactly `expected` (no region more, none less, each as given). */
export async function expectCatalog(client: PdClient, expected: Iterable<Region>, where: string): Promise<void> {
  const byId = (a: Region, b: Region) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const got = (await listAllRegions(client)).sort(byId).map(show);
  expect(got, where).toEqual([...expected].sort(byId).map(show));
}
