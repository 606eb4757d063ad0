import { expect } from "vitest";
import type { RunReport } from "../report/report.js";

/**
 * What every case must show: its predicate held within its time limit, no
 * invariant broke (no region without a live majority, no peer added on a
 * store that is not up, never two operators on one region, every operator
 * ended in time), something was scheduled, and nothing is left in flight.
 */
export function expectHealthyRun(r: RunReport): void {
  expect(r.violations).toEqual([]);
  expect(r.predicateHeld, `${r.case} did not converge in ${r.simulatedMs} ms`).toBe(true);
  expect(r.ok).toBe(true);
  expect(Object.values(r.operators).some((e) => (e.create ?? 0) > 0)).toBe(true);
}
