/**
 * `@nokv/pd-storage/testing`: the executable half of the `Store` contract.
 * Every backend — memory and local-file here, etcd in `@nokv/pd-etcd`, or one
 * of your own — runs the same suite from its own tests:
 *
 * ```ts
 * import { storeContract } from "@nokv/pd-storage/testing";
 * storeContract({ name: "mine", durable: true, fresh: async () => ({ open, cleanup }) });
 * ```
 *
 * It imports vitest (an optional peer dependency); the main entry point never
 * loads this module.
 */
export { storeContract, testRegion } from "./store-contract.js";
export type { ContractHarness } from "./store-contract.js";
