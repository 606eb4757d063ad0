import { afterEach, describe, expect, it } from "vitest";
import { startHeartbeatLoop, type HeartbeatLoop } from "./heartbeat-loop.js";
import { waitUntil } from "@nokv/testkit";

const loops: HeartbeatLoop[] = [];
afterEach(async () => {
  await Promise.all(loops.splice(0).map((l) => l.stop()));
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("startHeartbeatLoop", () => {
  it("ticks repeatedly, the first one at once", async () => {
    let ticks = 0;
    const loop = startHeartbeatLoop({ intervalMs: 60_000, tick: () => void (ticks += 1) });
    loops.push(loop);
    await waitUntil("the first tick", () => ticks === 1, 5000);
    const fast = startHeartbeatLoop({ intervalMs: 2, jitter: 0.5, tick: () => void (ticks += 1) });
    loops.push(fast);
    await waitUntil("five more ticks", () => ticks >= 6, 5000);
  });

  it("never overlaps ticks, even when a tick outlasts the interval", async () => {
    let running = 0;
    let maxRunning = 0;
    let ticks = 0;
    const loop = startHeartbeatLoop({
      intervalMs: 1,
      jitter: 0,
      tick: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        ticks += 1;
      },
    });
    loops.push(loop);
    await waitUntil("five ticks", () => ticks >= 5, 5000);
    await loop.stop();
    expect(maxRunning).toBe(1);
  });

  it("stop() waits for the tick in flight, aborts its signal, and no tick starts afterwards", async () => {
    const gate = deferred();
    let started = 0;
    let finished = 0;
    let sawAbort = false;
    const loop = startHeartbeatLoop({
      intervalMs: 1,
      jitter: 0,
      tick: async (signal) => {
        started += 1;
        await gate.promise;
        sawAbort = signal.aborted;
        finished += 1;
      },
    });
    await waitUntil("the first tick", () => started === 1, 5000);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    // Let every queued callback run: stop() must still be waiting on the tick.
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect([started, finished, sawAbort]).toEqual([1, 1, true]);
    await loop.stop();
    expect(started).toBe(1);
  });

  it("reports a failing tick to onError and keeps going", async () => {
    const errors: unknown[] = [];
    let ticks = 0;
    const loop = startHeartbeatLoop({
      intervalMs: 1,
      tick: () => {
        ticks += 1;
        if (ticks === 1) throw new Error("pd down");
      },
      onError: (err) => errors.push(err),
    });
    loops.push(loop);
    await waitUntil("three ticks", () => ticks >= 3, 5000);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("pd down");
  });

  it("waits one interval first when runImmediately is false", async () => {
    let ticks = 0;
    const loop = startHeartbeatLoop({ intervalMs: 60_000, runImmediately: false, tick: () => void (ticks += 1) });
    await new Promise((r) => setImmediate(r));
    await loop.stop();
    expect(ticks).toBe(0);
  });

  it("rejects a bad interval or jitter", () => {
    const tick = (): void => {};
    expect(() => startHeartbeatLoop({ intervalMs: 0, tick })).toThrow(RangeError);
    expect(() => startHeartbeatLoop({ intervalMs: Number.NaN, tick })).toThrow(RangeError);
    expect(() => startHeartbeatLoop({ intervalMs: 10, jitter: 1, tick })).toThrow(RangeError);
    expect(() => startHeartbeatLoop({ intervalMs: 10, jitter: -0.1, tick })).toThrow(RangeError);
  });
});
