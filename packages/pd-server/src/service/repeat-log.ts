import { performance } from "node:perf_hooks";
import type { Logger } from "pino";

/** How long repeats of one failure are counted instead of logged, in ms. */
export const REPEAT_WINDOW_MS = 10_000;

interface Streak {
  repeats: number;
  last: object;
  since: number;
}

const streaksByLog = new WeakMap<Logger, Map<string, Streak>>();

/**
 * Logs a failure that may repeat many times a second while storage is
 * unavailable (every failed `Tso` while etcd is away, every background
 * ceiling refill): the first occurrence of `key` at once, then one line per
 * {@link REPEAT_WINDOW_MS} saying how many more there were (`repeated: N`,
 * with the last one's fields) for as long as they go on. Pass the error's
 * message, not the error: expected unavailability needs no stack trace.
 * Windows are measured on the monotonic clock.
 */
export function logRepeated(log: Logger, level: "warn" | "error", key: string, fields: object, msg: string): void {
  let streaks = streaksByLog.get(log);
  if (streaks === undefined) {
    streaks = new Map();
    streaksByLog.set(log, streaks);
  }
  const known = streaks.get(key);
  if (known !== undefined) {
    known.repeats++;
    known.last = fields;
    return;
  }
  log[level](fields, msg);
  const map = streaks;
  const open = (last: object) => {
    const streak: Streak = { repeats: 0, last, since: performance.now() };
    map.set(key, streak);
    setTimeout(() => {
      map.delete(key);
      if (streak.repeats === 0) return;
      log[level]({ ...streak.last, repeated: streak.repeats, windowMs: Math.round(performance.now() - streak.since) }, msg);
      open(streak.last);
    }, REPEAT_WINDOW_MS).unref();
  };
  open(fields);
}
