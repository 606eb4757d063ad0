import { performance } from "node:perf_hooks";
import type { MemberLog } from "./term-loop.js";

/** How long repeats of one warning or error are counted instead of logged, in ms. */
export const REPEAT_WINDOW_MS = 10_000;

interface Streak {
  repeats: number;
  last: object;
  since: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A {@link MemberLog} that says a repeated warning or error once: the first
 * occurrence of a message goes through at once; repeats within
 * {@link REPEAT_WINDOW_MS} are counted, and when the window closes one line
 * says how many there were (`repeated: N`, with the last one's fields) and
 * the next window starts; a window without repeats ends the streak.
 * While etcd is away the background loops fail several times a second; the
 * log gets a line every ten seconds per kind of failure, not a flood.
 * `info` passes through. Windows are measured on the monotonic clock.
 */
export class RateLimitedLog implements MemberLog {
  readonly #inner: MemberLog;
  readonly #windowMs: number;
  readonly #nowMs: () => number;
  readonly #streaks = new Map<string, Streak>();

  constructor(inner: MemberLog, options: { windowMs?: number; nowMs?: () => number } = {}) {
    this.#inner = inner;
    this.#windowMs = options.windowMs ?? REPEAT_WINDOW_MS;
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  info(fields: object, msg: string): void {
    this.#inner.info(fields, msg);
  }

  warn(fields: object, msg: string): void {
    this.#limited("warn", fields, msg);
  }

  error(fields: object, msg: string): void {
    this.#limited("error", fields, msg);
  }

  #limited(level: "warn" | "error", fields: object, msg: string): void {
    const key = `${level}\u0000${msg}`;
    const streak = this.#streaks.get(key);
    if (streak !== undefined) {
      streak.repeats++;
      streak.last = fields;
      return;
    }
    this.#inner[level](fields, msg);
    this.#open(level, key, msg, fields);
  }

  #open(level: "warn" | "error", key: string, msg: string, fields: object): void {
    const streak = { repeats: 0, last: fields, since: this.#nowMs(), timer: undefined as NodeJS.Timeout | undefined };
    streak.timer = setTimeout(() => this.#close(level, key, msg), this.#windowMs);
    streak.timer.unref();
    this.#streaks.set(key, streak);
  }

  /** The window is over: one line for its repeats, and while they go on, another window. */
  #close(level: "warn" | "error", key: string, msg: string): void {
    const streak = this.#streaks.get(key);
    if (streak === undefined) return;
    this.#streaks.delete(key);
    if (streak.repeats === 0) return;
    const windowMs = Math.round(this.#nowMs() - streak.since);
    this.#inner[level]({ ...streak.last, repeated: streak.repeats, windowMs }, msg);
    this.#open(level, key, msg, streak.last);
  }
}
