/**
 * `@nokv/pd-adapter`: the store-side scheduler sink of NoKV's PD. It forwards
 * store and region heartbeats through `@nokv/pd-client`, queues the leader
 * transfers PD answers with, and runs the heartbeat loop. It depends on
 * `@nokv/pd-client` only (never on the server packages).
 *
 * @packageDocumentation
 */

export {
  createPdAdapter,
  warnOnError,
  DEFAULT_ADAPTER_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED_OPERATIONS,
} from "./adapter.js";
export type { PdAdapter, PdAdapterCallOptions, PdAdapterOptions } from "./adapter.js";

export { startHeartbeatLoop } from "./heartbeat-loop.js";
export type { HeartbeatLoop, HeartbeatLoopOptions } from "./heartbeat-loop.js";

export type { LeaderTransfer, Operation, PdAdapterCall, PdAdapterStats } from "./types.js";

/**
 * Re-exported from `@nokv/pd-client` so a store needs only this package:
 * the input types of the adapter and the error its `onError` receives.
 */
export { PdClientError } from "@nokv/pd-client";
export type { PdErrorCode, Region, RegionEpoch, RegionPeer, StoreStats } from "@nokv/pd-client";
