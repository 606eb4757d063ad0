import type { PdExit, PdLaunch } from "@nokv/e2e/harness";
import { PdClientError } from "@nokv/pd-client";
import { expect } from "vitest";

/**
 * Asserts that start-up was refused the way an operator can act on: a
 * non-zero exit code (not a crash by signal), exactly one line on stderr,
 * `pd-cli: …`, naming `file`, and no "listening" line.
 */
export function expectRefusal(launch: PdLaunch, file: string, what: string): asserts launch is { listening: false } & PdExit {
  const output = `${what}:\n${launch.stdout.join("\n")}\n${launch.stderr.join("\n")}`;
  expect(launch.listening, `${what}: expected start-up to be refused\n${output}`).toBe(false);
  if (launch.listening) return;
  expect(typeof launch.exit, output).toBe("number");
  expect(launch.exit, output).not.toBe(0);
  expect(launch.stderr, output).toHaveLength(1);
  expect(launch.stderr[0], output).toMatch(/^pd-cli: /);
  expect(launch.stderr[0], output).toContain(file);
}

/** The `PD-lite recovery: …` lines PD printed at start-up. */
export function recoveryLines(stdout: readonly string[]): string[] {
  return stdout.filter((l) => l.startsWith("PD-lite recovery: "));
}

/** The status address from `PD-lite status (metrics, /pd/api/v1, /dashboard/) on http://HOST:PORT`. */
export function statusAddr(stdout: readonly string[]): string {
  const line = stdout.find((l) => l.startsWith("PD-lite status "));
  const m = line === undefined ? null : /on https?:\/\/(\S+)$/.exec(line);
  if (m === null) throw new Error(`no status line in pd-cli output:\n${stdout.join("\n")}`);
  return m[1]!;
}

/** The value of a Prometheus counter or gauge without labels, scraped from `/metrics`. */
export async function scrapeMetric(addr: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${addr}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`metric ${name} not found at ${addr}`);
  return Number(line.slice(name.length + 1));
}

/** Awaits a call that must fail with a {@link PdClientError}, and returns it. */
export async function rejectionOf(p: Promise<unknown>): Promise<PdClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PdClientError);
    return err as PdClientError;
  }
  throw new Error("expected the call to fail");
}
