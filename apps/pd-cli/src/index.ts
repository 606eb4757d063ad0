/**
 * `@nokv/pd-cli`: the `pd-cli` command. Composes pd-server, pd-storage,
 * pd-etcd, pd-client and nokv-config; holds no logic of its own beyond
 * flags and the one `PdConfig` they resolve to.
 */
export { main } from "./cli.js";
export type { CliIo } from "./cli.js";
export { DEFAULT_PD_ADDR, resolvePdConfig, resolvePdSettings, runPd, startPd } from "./commands/pd.js";
export type { PdCommandOptions, PdConfig, ResolvedPdSettings, StorageConfig } from "./commands/pd.js";
