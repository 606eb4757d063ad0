import { afterEach } from "vitest";
import { type Cleanup, createCleanup } from "./cleanup.js";
import { type PdProcess, startPdProcess, tempWorkdir } from "./pd-process.js";
import { killRunningCommands } from "./run-command.js";

/** Per-test resources of an e2e file, all torn down after each test. */
export interface TestScope {
  readonly cleanup: Cleanup;
  /** A fresh temp workdir, removed after the test. */
  workdir(): Promise<string>;
  /** Starts `pd-cli pd …args`; SIGKILLed after the test if still running. */
  startPd(args: readonly string[]): Promise<PdProcess>;
}

/** Registers the `afterEach` teardown (commands, processes, dirs) and returns the scope. */
export function useTestScope(): TestScope {
  const cleanup = createCleanup();
  afterEach(async () => {
    killRunningCommands();
    await cleanup.run();
  });
  return {
    cleanup,
    async workdir() {
      const { dir, cleanup: remove } = await tempWorkdir();
      cleanup.add(remove);
      return dir;
    },
    async startPd(args) {
      const pd = await startPdProcess(args);
      cleanup.add(() => pd.stop("SIGKILL"));
      return pd;
    },
  };
}
