import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PdError } from "../errors.js";
import { MAX_UINT64 } from "@nokv/pd-model";
import { type AllocatorState, Checkpointer, type CheckpointStore } from "./checkpoint.js";
import { IdAllocator, type Run } from "./id-allocator.js";
import { TsoAllocator } from "./tso-allocator.js";
import { decodeTimestamp, TSO_LOGICAL_BITS as LOGICAL_BITS } from "@nokv/pd-model";
const physicalMs = (ts: bigint) => decodeTimestamp(ts).physicalMs;

class TestStore implements CheckpointStore {
  saved: AllocatorState[] = [];
  failNext = 0;
  async saveAllocatorState(state: AllocatorState): Promise<void> {
    await Promise.resolve();
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("disk full");
    }
    this.saved.push(state);
  }
  get last(): AllocatorState {
    return this.saved.at(-1) ?? { idCurrent: 0n, tsCurrent: 0n };
  }
}

const ZERO: AllocatorState = { idCurrent: 0n, tsCurrent: 0n };

async function code(f: () => unknown): Promise<string> {
  try {
    await f();
    return "OK";
  } catch (err) {
    if (err instanceof PdError) return err.code;
    throw err;
  }
}

describe("IdAllocator", () => {
  it("starts at --id-start, hands out consecutive runs and treats count 0 as 1", async () => {
    const ids = new IdAllocator({ checkpoint: new Checkpointer(new TestStore(), ZERO), start: 100n });
    expect(await ids.alloc(0n)).toEqual({ first: 100n, count: 1n });
    expect(await ids.alloc(5n)).toEqual({ first: 101n, count: 5n });
    expect(await ids.alloc(1n)).toEqual({ first: 106n, count: 1n });
  });

  it("starts above a restored checkpoint: max(start, checkpoint + 1)", async () => {
    const restored = { idCurrent: 5000n, tsCurrent: 7000n };
    expect(new IdAllocator({ checkpoint: new Checkpointer(new TestStore(), restored), start: 1n }).next).toBe(5001n);
    expect(new IdAllocator({ checkpoint: new Checkpointer(new TestStore(), restored), start: 9000n }).next).toBe(9000n);
  });

  it("persists a ceiling before handing out values above it, one write per window", async () => {
    const store = new TestStore();
    const ids = new IdAllocator({ checkpoint: new Checkpointer(store, ZERO), window: 1000n });
    const first = await ids.alloc(1n);
    expect(store.last.idCurrent).toBeGreaterThanOrEqual(first.first);
    for (let i = 0; i < 10_000; i++) {
      const run = await ids.alloc(1n);
      expect(store.last.idCurrent).toBeGreaterThanOrEqual(run.first + run.count - 1n);
    }
    // 10k ids at a 1000-id window: about ten writes, never one per call.
    expect(store.saved.length).toBeGreaterThanOrEqual(10);
    expect(store.saved.length).toBeLessThanOrEqual(25);
  });

  it("rejects counts above the cap with INVALID_ARGUMENT and changes nothing", async () => {
    const ids = new IdAllocator({ checkpoint: new Checkpointer(new TestStore(), ZERO), maxCount: 10n });
    expect(await code(() => ids.alloc(11n))).toBe("INVALID_ARGUMENT");
    expect(await code(() => ids.alloc(-1n))).toBe("INVALID_ARGUMENT");
    expect(ids.next).toBe(1n);
  });

  it("refuses to pass 2^64-1 instead of wrapping", async () => {
    const ids = new IdAllocator({ checkpoint: new Checkpointer(new TestStore(), ZERO), start: MAX_UINT64 - 1n });
    expect(await ids.alloc(2n)).toEqual({ first: MAX_UINT64 - 1n, count: 2n });
    expect(await code(() => ids.alloc(1n))).toBe("ALLOCATOR_EXHAUSTED");
  });

  it("reports STORAGE when the ceiling cannot be written, and never reissues after a failure", async () => {
    const store = new TestStore();
    const ids = new IdAllocator({ checkpoint: new Checkpointer(store, ZERO), window: 10n });
    store.failNext = 1;
    expect(await code(() => ids.alloc(1n))).toBe("STORAGE");
    const run = await ids.alloc(1n);
    expect(run.first).toBe(2n);
    expect(store.last.idCurrent).toBeGreaterThanOrEqual(2n);
  });

  it("never hands out overlapping runs and never lowers the ceiling, across restarts (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 3000n }), fc.constant(-1n)), { minLength: 1, maxLength: 60 }),
        fc.bigInt({ min: 0n, max: MAX_UINT64 - 10_000_000n }),
        async (counts, start) => {
          const store = new TestStore();
          let ckpt = new Checkpointer(store, ZERO);
          let ids = new IdAllocator({ checkpoint: ckpt, start, window: 100n });
          const runs: Run[] = [];
          let lastCeiling = 0n;
          for (const c of counts) {
            if (c === -1n) {
              // Crash and restart from what is durable.
              ckpt = new Checkpointer(store, store.last);
              ids = new IdAllocator({ checkpoint: ckpt, start, window: 100n });
              continue;
            }
            runs.push(await ids.alloc(c));
            expect(store.last.idCurrent).toBeGreaterThanOrEqual(lastCeiling);
            lastCeiling = store.last.idCurrent;
          }
          runs.sort((a, b) => (a.first < b.first ? -1 : 1));
          for (let i = 1; i < runs.length; i++) {
            expect(runs[i]!.first).toBeGreaterThanOrEqual(runs[i - 1]!.first + runs[i - 1]!.count);
          }
          for (const r of runs) expect(r.first).toBeGreaterThanOrEqual(start);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("TsoAllocator", () => {
  it("issues hybrid timestamps at or above now << 18 that map back to wall time", async () => {
    let now = 1_700_000_000_000;
    const tso = new TsoAllocator({ checkpoint: new Checkpointer(new TestStore(), ZERO), nowMs: () => now });
    const a = await tso.alloc(1n);
    expect(a.first).toBe(BigInt(now) << LOGICAL_BITS);
    expect(physicalMs(a.first)).toBe(BigInt(now));
    const b = await tso.alloc(3n);
    expect(b).toEqual({ first: a.first + 1n, count: 3n });
    now += 5;
    const c = await tso.alloc(1n);
    expect(c.first).toBe(BigInt(now) << LOGICAL_BITS);
  });

  it("keeps going up when the wall clock steps back", async () => {
    let now = 1_700_000_000_000;
    const tso = new TsoAllocator({ checkpoint: new Checkpointer(new TestStore(), ZERO), nowMs: () => now });
    const a = await tso.alloc(10n);
    now -= 60_000;
    const b = await tso.alloc(1n);
    expect(b.first).toBe(a.first + 10n);
  });

  it("starts above the restored ceiling even when the clock is far behind it", async () => {
    const restored = { idCurrent: 0n, tsCurrent: (2_000_000_000_000n << LOGICAL_BITS) + 5n };
    const tso = new TsoAllocator({ checkpoint: new Checkpointer(new TestStore(), restored), nowMs: () => 1 });
    expect((await tso.alloc(1n)).first).toBe(restored.tsCurrent + 1n);
  });

  it("accepts Go PD's small checkpoint: next timestamp at least 7001", async () => {
    const tso = new TsoAllocator({
      checkpoint: new Checkpointer(new TestStore(), { idCurrent: 5000n, tsCurrent: 7000n }),
      nowMs: () => 0,
    });
    expect((await tso.alloc(1n)).first).toBe(7001n);
  });

  it("keeps the durable ceiling about a window ahead and writes once per window", async () => {
    let now = 1_700_000_000_000;
    const store = new TestStore();
    const tso = new TsoAllocator({ checkpoint: new Checkpointer(store, ZERO), nowMs: () => now, windowMs: 3000 });
    for (let i = 0; i < 3000; i++) {
      const r = await tso.alloc(1n);
      expect(store.last.tsCurrent).toBeGreaterThanOrEqual(r.first);
      now += 10; // 30 s of traffic
    }
    // ~30 s at a 3 s window with a one-third refill margin: a handful of writes, never one per call.
    expect(store.saved.length).toBeGreaterThanOrEqual(10);
    expect(store.saved.length).toBeLessThanOrEqual(20);
  });

  it("caps count at 2^18 and refuses to pass 2^64-1", async () => {
    const tso = new TsoAllocator({ checkpoint: new Checkpointer(new TestStore(), ZERO), start: MAX_UINT64, nowMs: () => 0 });
    expect(await code(() => tso.alloc((1n << 18n) + 1n))).toBe("INVALID_ARGUMENT");
    expect((await tso.alloc(1n)).first).toBe(MAX_UINT64);
    expect(await code(() => tso.alloc(1n))).toBe("ALLOCATOR_EXHAUSTED");
  });

  it("still starts when the restored ceiling is the last timestamp, and answers ALLOCATOR_EXHAUSTED", async () => {
    const restored = { idCurrent: 0n, tsCurrent: MAX_UINT64 };
    const tso = new TsoAllocator({ checkpoint: new Checkpointer(new TestStore(), restored), nowMs: () => 0 });
    expect(await code(() => tso.alloc(1n))).toBe("ALLOCATOR_EXHAUSTED");
    expect(tso.last).toBe(MAX_UINT64);
  });

  it("hands out unique increasing values to concurrent callers across crashes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ count: fc.bigInt({ min: 0n, max: 300n }), crash: fc.boolean(), clockStep: fc.integer({ min: -50, max: 50 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        async (steps) => {
          const store = new TestStore();
          let now = 1_000_000;
          let tso = new TsoAllocator({ checkpoint: new Checkpointer(store, ZERO), nowMs: () => now, windowMs: 10 });
          const seen: Run[] = [];
          for (const s of steps) {
            now += s.clockStep;
            if (s.crash) tso = new TsoAllocator({ checkpoint: new Checkpointer(store, store.last), nowMs: () => now, windowMs: 10 });
            const pending = [tso.alloc(s.count), tso.alloc(s.count)];
            const runs = await Promise.all(pending);
            expect(runs[1]!.first).toBeGreaterThan(runs[0]!.first);
            seen.push(...runs);
          }
          for (let i = 1; i < seen.length; i++) {
            // Issue order equals value order, also across restarts.
            expect(seen[i]!.first).toBeGreaterThanOrEqual(seen[i - 1]!.first + seen[i - 1]!.count);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("Checkpointer", () => {
  it("merges raises that arrive during a write into one more write", async () => {
    const store = new TestStore();
    const ckpt = new Checkpointer(store, ZERO);
    await Promise.all([ckpt.raise("id", 10n), ckpt.raise("id", 20n), ckpt.raise("ts", 5n), ckpt.raise("id", 15n)]);
    expect(store.saved.length).toBeLessThanOrEqual(2);
    expect(store.last).toEqual({ idCurrent: 20n, tsCurrent: 5n });
    expect(ckpt.durable).toEqual({ idCurrent: 20n, tsCurrent: 5n });
  });

  it("resolves a raise covered by the write in flight without another write", async () => {
    const store = new TestStore();
    const ckpt = new Checkpointer(store, ZERO);
    const inFlight = ckpt.raise("id", 100n);
    const covered = ckpt.raise("id", 50n); // arrives while 100 is being written
    await Promise.all([inFlight, covered]);
    expect(store.saved).toEqual([{ idCurrent: 100n, tsCurrent: 0n }]);
    expect(ckpt.writes).toBe(1);
    // A raise beyond the write in flight still gets its own write.
    const first = ckpt.raise("ts", 10n);
    const beyond = ckpt.raise("ts", 20n);
    await Promise.all([first, beyond]);
    expect(store.last).toEqual({ idCurrent: 100n, tsCurrent: 20n });
    expect(ckpt.durable.tsCurrent).toBe(20n);
  });

  it("does not write when the target is already durable", async () => {
    const store = new TestStore();
    const ckpt = new Checkpointer(store, { idCurrent: 50n, tsCurrent: 50n });
    await ckpt.raise("id", 40n);
    expect(store.saved).toHaveLength(0);
  });
});
