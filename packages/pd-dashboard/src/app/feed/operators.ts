import type { TikvOperatorJson } from "@nokv/pd-model";
import type { DashboardOperatorsJson } from "../../api-types.js";
import { getJson } from "./api.js";
import { type OperatorView, operatorViews } from "./operator-view.js";

export type { OperatorView } from "./operator-view.js";

/** Operators in flight shown at most (the oldest first); the summary says how many there are. */
export const IN_FLIGHT_SHOWN = 50;
/** Recently ended operators read (the newest first). */
export const RECENT_READ = 8;

/** What the operators panel shows. */
export interface OperatorsState {
  readonly inFlight: readonly OperatorView[];
  /** Operators in flight in all (the list holds at most {@link IN_FLIGHT_SHOWN}). */
  readonly inFlightTotal: number;
  readonly recent: readonly OperatorView[];
  /** Operators since this member leads, by event. */
  readonly counters: Readonly<Record<string, number>>;
  /** Entries the page could not read (a newer PD); shown, never hidden. */
  readonly unreadable: number;
}

/**
 * Reads the scheduler's operators from TiKV's paths in their object form —
 * `/operators?object=1` (in flight, oldest first) and
 * `/operators/records?object=1` (ended, newest first), both with a `limit` —
 * decoded by pd-model's codec, the one the server encodes with. The counts
 * come with the summary.
 */
export async function readOperators(summary: DashboardOperatorsJson): Promise<OperatorsState> {
  const [inFlight, recent] = await Promise.all([
    getJson<TikvOperatorJson[]>(`operators?object=1&limit=${IN_FLIGHT_SHOWN}`),
    getJson<TikvOperatorJson[]>(`operators/records?object=1&limit=${RECENT_READ}`),
  ]);
  const a = operatorViews(inFlight);
  const b = operatorViews(recent);
  return {
    inFlight: a.views,
    inFlightTotal: Math.max(summary.in_flight, a.views.length),
    recent: b.views,
    counters: summary.counters,
    unreadable: a.unreadable + b.unreadable,
  };
}
