/**
 * `@nokv/nokv-config`: the `raft_config.json` model shared by NoKV's stores,
 * gateways, PD and shell scripts, its validation, the scope-aware resolvers,
 * and the `nokv-config` command line.
 *
 * @packageDocumentation
 */

export { ConfigError } from "./config-error.js";
export type { ConfigErrorCode } from "./config-error.js";

export type {
  PdConfig,
  PeerConfig,
  RaftConfig,
  RegionConfig,
  RegionEpoch,
  StoreConfig,
} from "./raft-config/model.js";
export { loadConfig } from "./raft-config/load-config.js";
export type { LoadConfigOptions } from "./raft-config/load-config.js";
export { parseConfig } from "./raft-config/parse-config.js";
export { validateConfig } from "./raft-config/validate-config.js";
export type { ConfigSection, ConfigWarning, ValidateConfigOptions } from "./raft-config/validate-config.js";
export { stringifyConfig } from "./raft-config/stringify-config.js";

export type { Scope } from "./scope/scope.js";
export { parseScope } from "./scope/scope.js";
export {
  resolvePdAddr,
  resolvePdAddrs,
  resolvePdWorkDir,
  resolveStoreWorkDir,
} from "./scope/resolve.js";

export type { CliIo } from "./cli/run-cli.js";
export { DEFAULT_CONFIG_FILE, runCli } from "./cli/run-cli.js";
