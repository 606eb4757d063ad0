import type { Region } from "@nokv/pd-client";

/** Boundary key `index` of a catalog of generated regions: `user` + 10 digits (14 bytes). */
export function boundaryKey(index: number): Uint8Array {
  return Buffer.from(`user${index.toString().padStart(10, "0")}`, "latin1");
}

const EMPTY = new Uint8Array(0);

/** A generated region: boundaries `[a, b)` of `n`, with 3 peers on 100 stores. */
export interface GenRegion {
  readonly id: bigint;
  readonly a: number;
  readonly b: number;
  readonly version: bigint;
}

/** The PD region of `g` in a catalog of `n` boundaries (the first starts at "", the last is unbounded). */
export function toRegion(g: GenRegion, n: number, stores = 100): Region {
  const s = Number(g.id % BigInt(stores));
  return {
    id: g.id,
    startKey: g.a === 0 ? EMPTY : boundaryKey(g.a),
    endKey: g.b >= n ? EMPTY : boundaryKey(g.b),
    epoch: { version: g.version, confVersion: 1n },
    peers: [0, 1, 2].map((k) => ({ storeId: BigInt(((s + k) % stores) + 1), peerId: g.id * 10n + BigInt(k) })),
  };
}

/**
 * The heartbeats that grow one region into `n` by successive splits, round
 * by round: each region of width ≥ 2 splits in the middle; the left half
 * keeps its id, the right half gets the next id, both at version + 1 (left
 * first). Calls `emit` with the heartbeats in chunks of at most `chunk`
 * (awaiting each, so the generator itself never blocks the event loop for
 * long); returns the final regions.
 */
export async function splitToSize(
  n: number,
  emit: (heartbeats: GenRegion[]) => Promise<void>,
  chunk = 512,
): Promise<GenRegion[]> {
  let regions: GenRegion[] = [{ id: 1n, a: 0, b: n, version: 1n }];
  await emit(regions);
  let nextId = 2n;
  while (regions.length < n) {
    const next: GenRegion[] = [];
    let beats: GenRegion[] = [];
    for (const r of regions) {
      if (r.b - r.a < 2) {
        next.push(r);
        continue;
      }
      const m = Math.floor((r.a + r.b) / 2);
      const left = { id: r.id, a: r.a, b: m, version: r.version + 1n };
      const right = { id: nextId++, a: m, b: r.b, version: r.version + 1n };
      next.push(left, right);
      beats.push(left, right);
      if (beats.length >= chunk) {
        await emit(beats);
        beats = [];
      }
    }
    if (beats.length > 0) await emit(beats);
    regions = next;
  }
  return regions;
}

/** A uniformly random key inside the catalog's key space. */
export function randomKey(n: number): Uint8Array {
  const i = Math.floor(Math.random() * n);
  return Buffer.from(`user${i.toString().padStart(10, "0")}x`, "latin1");
}
