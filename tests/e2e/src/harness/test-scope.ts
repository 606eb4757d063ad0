import { afterEach } from "vitest";
import { type Cleanup, createCleanup } from "./cleanup.js";
import { launchPdProcess, type PdLaunch, type PdLaunchOptions, type PdProcess, startPdProcess, tempWorkdir } from "./pd-process.js";
import { killRunningCommands } from "./run-command.js";

/** Per-test resources of an e2e file, all torn down after each test. */
export interface TestScope {
  readonly cleanup: Cleanup;
  /** A fresh temp workdir, removed after the test. */
  workdir(): Promise<string>;
  /** Starts `pd-cli pd …args`; SIGKILLed after the test if still running. */
  startPd(args: readonly string[], opts?: PdLaunchOptions): Promise<PdProcess>;
  /** Launches `pd-cli pd …args` that may be refused (see `launchPdProcess`); SIGKILLed after the test if still running. */
  launchPd(args: readonly string[], opts?: PdLaunchOptions): Promise<PdLaunch>;
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
    async startPd(args, opts) {
      const pd = await startPdProcess(args, opts);
      cleanup.add(() => pd.stop("SIGKILL"));
      return pd;
    },
    async launchPd(args, opts) {
      const launched = await launchPdProcess(args, opts);
      if (launched.listening) cleanup.add(() => launched.stop("SIGKILL"));
      return launched;
    },
  };
}
