import type { StoreLiveness } from "@nokv/pd-model";

/**
 * Liveness of a store, derived from the time since its last heartbeat (as in
 * TiKV's PD):
 *
 * - `up`: heartbeats arrive;
 * - `disconnected`: none for {@link LivenessThresholds.disconnectedAfterMs};
 *   the store is probably restarting or cut off, and the scheduler leaves it alone;
 * - `down`: none for {@link LivenessThresholds.downAfterMs}; an operator
 *   should look at it.
 *
 * A store that heartbeats again is `up` at once.
 */
export type KnownLiveness = Exclude<StoreLiveness, "unknown">;

/** When a silent store stops counting as up, in milliseconds since its last heartbeat. */
export interface LivenessThresholds {
  /** Silence after which a store is `disconnected`. TiKV's default: 20 s. */
  readonly disconnectedAfterMs: number;
  /** Silence after which a store is `down`. TiKV's default (`max-store-down-time`): 30 min. */
  readonly downAfterMs: number;
}

/** TiKV PD's thresholds: disconnected after 20 s, down after 30 min. */
export const DEFAULT_LIVENESS_THRESHOLDS: LivenessThresholds = Object.freeze({
  disconnectedAfterMs: 20_000,
  downAfterMs: 30 * 60_000,
});

/**
 * Checks a pair of thresholds: both positive finite numbers, `down` after
 * `disconnected`.
 *
 * @throws RangeError naming the bad value.
 */
export function checkLivenessThresholds(t: LivenessThresholds): LivenessThresholds {
  if (!(Number.isFinite(t.disconnectedAfterMs) && t.disconnectedAfterMs > 0)) {
    throw new RangeError(`store liveness: disconnectedAfterMs must be a positive number, got ${t.disconnectedAfterMs}`);
  }
  if (!(Number.isFinite(t.downAfterMs) && t.downAfterMs >= t.disconnectedAfterMs)) {
    throw new RangeError(
      `store liveness: downAfterMs must be a number >= disconnectedAfterMs (${t.disconnectedAfterMs}), got ${t.downAfterMs}`,
    );
  }
  return t;
}

/**
 * The liveness of a store whose last heartbeat arrived at `lastHeartbeatMs`,
 * seen at `nowMs` (both read from one monotonic clock). Pure. A time "in the future"
 * heartbeat "in the future") counts as up.
 */
export function storeLiveness(
  lastHeartbeatMs: number,
  nowMs: number,
  thresholds: LivenessThresholds = DEFAULT_LIVENESS_THRESHOLDS,
): KnownLiveness {
  const silentMs = nowMs - lastHeartbeatMs;
  if (silentMs >= thresholds.downAfterMs) return "down";
  if (silentMs >= thresholds.disconnectedAfterMs) return "disconnected";
  return "up";
}
