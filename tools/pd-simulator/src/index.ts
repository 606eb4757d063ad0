/**
 * `@nokv/pd-simulator`: a cluster simulator for NoKV's PD (`pd-sim`).
 * Simulated stores send heartbeats through `@nokv/pd-client` (and the
 * generated client for what pd-client cannot send yet), carry out PD's
 * operations after realistic delays, split regions under writes, die and
 * come back on cue, while invariants are checked at every step.
 *
 * @packageDocumentation
 */
export { main } from "./cli.js";
export type { SimIo } from "./cli.js";
export { CASES, findCase } from "./cases/index.js";
export { runCase, maxMinRatio } from "./runner.js";
export type { CaseEvent, CaseParams, CasePlan, FinishedRun, PdState, Sample, SimCase } from "./runner.js";
export { SimCluster } from "./cluster/sim-cluster.js";
export type { PdView, SimClusterOptions, SimStore, Violation } from "./cluster/sim-cluster.js";
export { buildReport, formatDuration, formatReport } from "./report/report.js";
export type { RunReport } from "./report/report.js";
export { regionCountChart } from "./report/svg-chart.js";
export { OperationDedup, operationKey, toStoreOperation } from "./store/store-operations.js";
export type { ConfChangeOperation, StoreOperation, TransferLeaderOperation } from "./store/store-operations.js";
export { createPdLink } from "./pd/pd-link.js";
export type { PdLink } from "./pd/pd-link.js";
