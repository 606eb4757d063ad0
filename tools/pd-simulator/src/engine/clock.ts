import { setTimeout as sleep } from "node:timers/promises";

/**
 * The simulation's time. Virtual: PD's injected clocks read it and the
 * simulator moves it, so thirty simulated minutes take as long as the work
 * in them. Wall: real time (a PD in another process keeps its own clock);
 * waiting for the next event is the simulation's pace, not a synchronisation.
 */
export interface SimClock {
  readonly virtual: boolean;
  /** Milliseconds since the simulation started. */
  elapsedMs(): number;
  /** Unix time in ms, for PD's wall clock. */
  wallMs(): number;
  /** Moves (virtual) or waits (wall) until `elapsedMs() >= t`. */
  advanceTo(t: number): Promise<void>;
}

/** Virtual time starting at `epochMs` (a fixed date, so runs are reproducible). */
export function virtualClock(epochMs = Date.UTC(2026, 0, 1)): SimClock {
  let t = 0;
  return {
    virtual: true,
    elapsedMs: () => t,
    wallMs: () => epochMs + t,
    async advanceTo(next) {
      if (next > t) t = next;
    },
  };
}

/** Real time, from now. */
export function wallClock(): SimClock {
  const start = performance.now();
  return {
    virtual: false,
    elapsedMs: () => performance.now() - start,
    wallMs: () => Date.now(),
    async advanceTo(next) {
      const wait = next - (performance.now() - start);
      if (wait > 0) await sleep(wait);
    },
  };
}
