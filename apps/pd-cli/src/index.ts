/**
 * `@nokv/pd-cli`: the `pd-cli` command. Composes pd-server, pd-storage and
 * nokv-config; holds no logic of its own beyond flags.
 */
export { main } from "./cli.js";
export type { CliIo } from "./cli.js";
export { DEFAULT_PD_ADDR, resolvePdSettings, startPd } from "./commands/pd.js";
export type { PdCommandOptions, ResolvedPdSettings } from "./commands/pd.js";
