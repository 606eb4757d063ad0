/**
 * `@nokv/pd-simulator`: a cluster simulator for NoKV's PD (`pd-sim`).
 * Each simulated store talks to PD through its own `@nokv/pd-adapter` (over
 * one `@nokv/pd-client`), exactly as a TypeScript store would: heartbeats
 * with its capabilities and region extras, PD's operations typed,
 * validated and de-duplicated. Stores carry the operations out after
 * realistic delays, split regions under writes, die and come back on cue,
 * while invariants are checked at every step.
 *
 * @packageDocumentation
 */
export { main } from "./cli.js";
export type { SimIo } from "./cli.js";
export { CASES, findCase } from "./cases/index.js";
export { runCase, maxMinRatio } from "./runner.js";
export type { CaseEvent, CaseParams, CasePlan, FinishedRun, PdState, Sample, SimCase } from "./runner.js";
export { SimCluster } from "./cluster/sim-cluster.js";
export type { PdView, SimClusterOptions, SimPd, SimRegionHeartbeat, SimStore, Violation } from "./cluster/sim-cluster.js";
export { buildReport, formatDuration, formatReport } from "./report/report.js";
export type { RunReport } from "./report/report.js";
export { regionCountChart } from "./report/svg-chart.js";
