import { readFileSync } from "node:fs";

/**
 * The environment variable of the test-only clock hook. Not a feature: the
 * e2e nemeses use it to step one PD's wall clock.
 */
export const TEST_CLOCK_ENV = "NOKV_PD_TEST_CLOCK_FILE";

/**
 * TEST ONLY. When `NOKV_PD_TEST_CLOCK_FILE` names a file, `pd-cli pd`
 * offsets `Date.now()` for its whole process by the number of milliseconds
 * in that file (may be negative), read at start and again on every SIGUSR2 —
 * a wall-clock step without touching the machine's clock. Every timer PD
 * measures elapsed time with runs on the monotonic clock and must not
 * notice; the timestamp oracle must keep its values increasing. Returns a
 * description for the log, or undefined when the variable is not set.
 *
 * @throws Error when the file cannot be read or holds no integer.
 */
export function installTestClock(env: NodeJS.ProcessEnv, announce: (line: string) => void): string | undefined {
  const file = env[TEST_CLOCK_ENV];
  if (file === undefined || file === "") return undefined;
  const realNow = Date.now.bind(Date);
  let offsetMs = 0;
  const read = (): void => {
    const text = readFileSync(file, "utf8").trim();
    if (!/^-?\d+$/.test(text)) throw new Error(`${TEST_CLOCK_ENV}: ${file} must hold an integer offset in ms, got ${JSON.stringify(text)}`);
    offsetMs = Number.parseInt(text, 10);
    announce(`PD-lite test clock offset ${offsetMs} ms`);
  };
  read();
  Date.now = () => realNow() + offsetMs;
  process.on("SIGUSR2", () => {
    try {
      read();
    } catch (err) {
      announce(`PD-lite test clock: ${(err as Error).message}`);
    }
  });
  return `${TEST_CLOCK_ENV}=${file}`;
}
