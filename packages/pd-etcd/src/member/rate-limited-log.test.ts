import { afterEach, describe, expect, it, vi } from "vitest";
import { RateLimitedLog } from "./rate-limited-log.js";

describe("RateLimitedLog", () => {
  afterEach(() => vi.useRealTimers());

  it("logs a repeated warning once, then one line per window with the count, until the repeats stop", () => {
    vi.useFakeTimers();
    let now = 0;
    const lines: Array<[string, object, string]> = [];
    const inner = {
      info: (f: object, m: string) => lines.push(["info", f, m]),
      warn: (f: object, m: string) => lines.push(["warn", f, m]),
      error: (f: object, m: string) => lines.push(["error", f, m]),
    };
    const log = new RateLimitedLog(inner, { windowMs: 1000, nowMs: () => now });
    for (let i = 0; i < 500; i++) log.warn({ err: `etcd down ${i}` }, "leader election: background failure (retrying)");
    log.error({ err: "x" }, "other");
    log.info({}, "became leader");
    log.info({}, "became leader");
    expect(lines.map((l) => l[0])).toEqual(["warn", "error", "info", "info"]);
    expect(lines[0]![1]).toEqual({ err: "etcd down 0" });

    now = 1000;
    vi.advanceTimersByTime(1000);
    // One line for the 499 repeats, with the last one's fields; "other" had none.
    expect(lines).toHaveLength(5);
    expect(lines[4]).toEqual(["warn", { err: "etcd down 499", repeated: 499, windowMs: 1000 }, "leader election: background failure (retrying)"]);
    log.warn({ err: "again" }, "leader election: background failure (retrying)");
    now = 2000;
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(6);
    expect(lines[5]![1]).toMatchObject({ repeated: 1 });
    // A quiet window ends the streak: the next failure is logged at once.
    now = 3000;
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(6);
    log.warn({ err: "back" }, "leader election: background failure (retrying)");
    expect(lines).toHaveLength(7);
    expect(lines[6]![1]).toEqual({ err: "back" });
  });
});
