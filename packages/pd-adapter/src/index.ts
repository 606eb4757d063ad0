/**
 * `@nokv/pd-adapter`: the store-side scheduler sink of NoKV's PD. It forwards
 * store heartbeats (with the store's capabilities) and region heartbeats
 * (with what the region's leader reports) through `@nokv/pd-client`, delivers
 * every operation PD answers with — leader transfers, and to stores that
 * list them add-peer, add-learner, promote-learner and remove-peer — typed,
 * validated and de-duplicated, and runs the heartbeat loop. It depends on
 * `@nokv/pd-client` only (never on the server packages).
 *
 * @packageDocumentation
 */

export {
  createPdAdapter,
  warnOnError,
  DEFAULT_ADAPTER_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED_OPERATIONS,
  DEFAULT_MAX_REMEMBERED_OPERATIONS,
} from "./adapter.js";
export type { PdAdapter, PdAdapterCallOptions, PdAdapterOptions } from "./adapter.js";

export { startHeartbeatLoop } from "./heartbeat-loop.js";
export type { HeartbeatLoop, HeartbeatLoopOptions } from "./heartbeat-loop.js";

export type {
  AddLearner,
  AddPeer,
  LeaderTransfer,
  MembershipChange,
  MembershipChangeFields,
  Operation,
  PdAdapterCall,
  PdAdapterStats,
  PromoteLearner,
  RemovePeer,
} from "./types.js";

/**
 * Re-exported from `@nokv/pd-client` so a store needs only this package:
 * the input types of the adapter and the error its `onError` receives.
 */
export { EXECUTABLE_OPERATION_KINDS, PdClientError } from "@nokv/pd-client";
export type {
  DownPeer,
  ExecutableOperationKind,
  PdErrorCode,
  Region,
  RegionEpoch,
  RegionHeartbeatExtras,
  RegionPeer,
  StoreStats,
} from "@nokv/pd-client";
