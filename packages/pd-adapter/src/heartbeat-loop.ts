/** Options of {@link startHeartbeatLoop}. */
export interface HeartbeatLoopOptions {
  /** Target time between the starts of two ticks, in ms. */
  readonly intervalMs: number;
  /**
   * Spread as a fraction in `[0, 1)`: each interval is scaled by a uniform
   * factor in `[1 - jitter, 1 + jitter]`, so that stores started together do
   * not heartbeat in lockstep. Default 0.1.
   */
  readonly jitter?: number;
  /**
   * One heartbeat round. The signal aborts when the loop is stopped, so a
   * long tick can end early.
   */
  readonly tick: (signal: AbortSignal) => Promise<void> | void;
  /** Receives what a tick throws. Default: one `console.warn` line. */
  readonly onError?: (err: unknown) => void;
  /** Run the first tick at once (default) rather than after one interval. */
  readonly runImmediately?: boolean;
}

/** A running heartbeat loop. */
export interface HeartbeatLoop {
  /**
   * Stops the loop: no tick starts afterwards, the in-flight tick (if any)
   * sees its signal abort, and the promise resolves once that tick has
   * finished. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Runs `tick` every `intervalMs` (jittered) until stopped. Ticks never
 * overlap: the next one is scheduled only when the previous one has
 * finished — `intervalMs` after the previous start, or at once if the tick
 * took longer. A tick that throws is reported to `onError` and the loop goes
 * on.
 *
 * @throws RangeError when `intervalMs` is not positive or `jitter` is outside `[0, 1)`.
 */
export function startHeartbeatLoop(options: HeartbeatLoopOptions): HeartbeatLoop {
  const { intervalMs, tick } = options;
  const jitter = options.jitter ?? 0.1;
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
    throw new RangeError(`heartbeat loop: intervalMs must be a positive number, got ${intervalMs}`);
  }
  if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`heartbeat loop: jitter must be in [0, 1), got ${jitter}`);
  const onError =
    options.onError ??
    ((err: unknown) =>
      console.warn(`pd heartbeat loop: tick failed: ${(err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ")}`));

  const stopController = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;

  const nextDelayMs = (): number => intervalMs * (1 + jitter * (2 * Math.random() - 1));

  const schedule = (delayMs: number): void => {
    if (stopController.signal.aborted) return;
    timer = setTimeout(run, Math.max(0, delayMs));
  };

  const run = (): void => {
    timer = undefined;
    // Elapsed time on the monotonic clock: a wall-clock step must not stretch or skip an interval.
    const startedAt = performance.now();
    inFlight = (async () => {
      try {
        await tick(stopController.signal);
      } catch (err) {
        // What a tick throws because it was stopped is not worth a warning.
        if (!stopController.signal.aborted) {
          try {
            onError(err);
          } catch {
            // A failing error handler must not kill the loop.
          }
        }
      }
    })().finally(() => {
      inFlight = undefined;
      schedule(nextDelayMs() - (performance.now() - startedAt));
    });
  };

  schedule(options.runImmediately === false ? nextDelayMs() : 0);

  return {
    async stop(): Promise<void> {
      if (!stopController.signal.aborted) {
        stopController.abort();
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
      }
      await inFlight;
    },
  };
}
