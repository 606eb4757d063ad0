/**
 * The e2e harness: real `pd-cli` processes, commands run to completion,
 * temp workdirs and per-test teardown. Exported as `@nokv/e2e/harness` for
 * other private test packages (`tests/faults`); built to `dist/harness/`.
 *
 * @packageDocumentation
 */

export { createCleanup } from "./cleanup.js";
export type { Cleanup } from "./cleanup.js";

export { launchPdProcess, PD_CLI_BIN, REPO_ROOT, startPdProcess, tempWorkdir } from "./pd-process.js";
export type { PdExit, PdLaunch, PdLaunchOptions, PdProcess } from "./pd-process.js";

export { key, keyText, region, regionFromConfig, show } from "./regions.js";

export { killRunningCommands, runCommand, runPdCli } from "./run-command.js";
export type { CommandResult, RunCommandOptions } from "./run-command.js";

export { useTestScope } from "./test-scope.js";
export type { TestScope } from "./test-scope.js";
