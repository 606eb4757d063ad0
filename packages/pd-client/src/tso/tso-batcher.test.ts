import { describe, expect, it } from "vitest";
import { TsoBatcher, type TsoBatchTransport } from "./tso-batcher.js";

/** A transport that grants runs from a counter and records every batch. */
function counterTransport(start = 100n) {
  let next = start;
  const batches: bigint[] = [];
  const transport: TsoBatchTransport = async (count) => {
    batches.push(count);
    const first = next;
    next += count;
    return { first, count };
  };
  return { transport, batches };
}

const noAbort = (): Error => new Error("aborted");

describe("TsoBatcher", () => {
  it("coalesces one turn's requests into one batch and splits the run in call order", async () => {
    const { transport, batches } = counterTransport();
    const b = new TsoBatcher(transport);
    const got = await Promise.all([
      b.request(1, 1000, undefined, noAbort),
      b.request(3, 1000, undefined, noAbort),
      b.request(1, 1000, undefined, noAbort),
    ]);
    expect(batches).toEqual([5n]);
    expect(got).toEqual([100n, 101n, 104n]);
  });

  it("cuts batches at maxBatchSize", async () => {
    const { transport, batches } = counterTransport(1n);
    const b = new TsoBatcher(transport, 4);
    const got = await Promise.all(Array.from({ length: 10 }, () => b.request(1, 1000, undefined, noAbort)));
    expect(batches).toEqual([4n, 4n, 2n]);
    expect(new Set(got).size).toBe(10);
  });

  it("keeps separate batches per timeout so no caller waits past its own deadline", async () => {
    const deadlines: number[] = [];
    const b = new TsoBatcher(async (count, deadline) => {
      deadlines.push(deadline.timeoutMs);
      return { first: 1n, count };
    });
    await Promise.all([b.request(1, 100, undefined, noAbort), b.request(1, 5000, undefined, noAbort)]);
    expect(deadlines.sort((x, y) => x - y)).toEqual([100, 5000]);
  });

  it("rejects every waiter of a failed batch", async () => {
    const b = new TsoBatcher(async () => {
      throw new Error("pd down");
    });
    const results = await Promise.allSettled([
      b.request(1, 1000, undefined, noAbort),
      b.request(1, 1000, undefined, noAbort),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("rejects only the aborted waiter; the others still get their values", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new TsoBatcher(async (count) => {
      await gate;
      return { first: 10n, count };
    });
    const ac = new AbortController();
    const a = b.request(1, 1000, ac.signal, () => new Error("mine aborted"));
    const other = b.request(1, 1000, undefined, noAbort);
    ac.abort();
    await expect(a).rejects.toThrow("mine aborted");
    release();
    expect(await other).toBe(11n);
  });

  it("rejects batches not yet sent on rejectPending", async () => {
    const { transport, batches } = counterTransport();
    const b = new TsoBatcher(transport);
    const p = b.request(1, 1000, undefined, noAbort);
    b.rejectPending(new Error("closed"));
    await expect(p).rejects.toThrow("closed");
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([]);
  });
});
