/**
 * Collects teardown steps while a test runs and runs them afterwards, last
 * added first (so clients close before the process they talk to is killed,
 * and a workdir is removed after its process is gone). A step that fails
 * does not stop the others; the first failure is rethrown at the end.
 */
export interface Cleanup {
  /** Registers a teardown step. */
  add(step: () => unknown): void;
  /** Runs every registered step (last first) and forgets them. */
  run(): Promise<void>;
}

/** Creates a {@link Cleanup}; call `run()` from `afterEach`. */
export function createCleanup(): Cleanup {
  let steps: Array<() => unknown> = [];
  return {
    add(step) {
      steps.push(step);
    },
    async run() {
      const todo = steps.reverse();
      steps = [];
      let first: unknown;
      for (const step of todo) {
        try {
          await step();
        } catch (err) {
          first ??= err;
        }
      }
      if (first !== undefined) throw first;
    },
  };
}
