import { createPdClient, type PdClient, type PdClientOptions } from "@nokv/pd-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCleanup } from "./harness/cleanup.js";
import { type PdProcess, startPdProcess, tempWorkdir } from "./harness/pd-process.js";

const cleanup = createCleanup();
let pd: PdProcess;

beforeAll(async () => {
  // A real workdir: every ceiling the TSO raises is fsynced, as in production.
  const { dir, cleanup: removeWorkdir } = await tempWorkdir();
  cleanup.add(removeWorkdir);
  pd = await startPdProcess(["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn"]);
  cleanup.add(() => pd.stop("SIGKILL"));
});
afterAll(() => cleanup.run());

function newClient(extra: Omit<PdClientOptions, "addr">): PdClient {
  const client = createPdClient({ addr: pd.addr, timeoutMs: 10_000, ...extra });
  cleanup.add(() => client.close());
  return client;
}

/**
 * `callers` concurrent callers, each making `callsPerCaller` sequential
 * calls; every third call asks for a run of 3 (`getTimestamps`). Returns
 * each caller's timestamps in the order received.
 */
async function hammer(client: PdClient, callers: number, callsPerCaller: number): Promise<bigint[][]> {
  return Promise.all(
    Array.from({ length: callers }, async () => {
      const mine: bigint[] = [];
      for (let i = 0; i < callsPerCaller; i++) {
        if (i % 3 === 2) {
          const { first, count } = await client.getTimestamps(3n);
          expect(count).toBe(3n);
          for (let k = 0n; k < count; k++) mine.push(first + k);
        } else {
          mine.push(await client.getTimestamp());
        }
      }
      return mine;
    }),
  );
}

/** Checks uniqueness across callers and strict growth within each; returns [min, max]. */
function checkTimestamps(perCaller: bigint[][]): [bigint, bigint] {
  const all = new Set<bigint>();
  let min = perCaller[0]![0]!;
  let max = min;
  let total = 0;
  for (const mine of perCaller) {
    for (let i = 0; i < mine.length; i++) {
      const ts = mine[i]!;
      if (i > 0 && !(ts > mine[i - 1]!)) throw new Error(`timestamps of one caller went from ${mine[i - 1]} to ${ts}`);
      all.add(ts);
      if (ts < min) min = ts;
      if (ts > max) max = ts;
    }
    total += mine.length;
  }
  expect(all.size).toBe(total);
  return [min, max];
}

describe("timestamp batching against a real pd-cli", () => {
  const CALLERS = 1200;
  const CALLS_PER_CALLER = 6;
  const CALLS = CALLERS * CALLS_PER_CALLER;
  let maxBatched = 0n;

  it(`${CALLERS} concurrent callers × ${CALLS_PER_CALLER} calls share few Tso RPCs`, async () => {
    const client = newClient({});
    const perCaller = await hammer(client, CALLERS, CALLS_PER_CALLER);
    const [, max] = checkTimestamps(perCaller);
    maxBatched = max;
    expect(perCaller.flat().length).toBe(CALLERS * (CALLS_PER_CALLER + 2 * (CALLS_PER_CALLER / 3)));
    const stats = client.stats();
    expect(stats.tsoRequests).toBe(CALLS);
    expect(stats.tsoRpcs).toBeGreaterThan(0);
    expect(stats.tsoRpcs).toBeLessThan(CALLS / 10);
  });

  it("sends one Tso RPC per call with batching disabled (the counter is real)", async () => {
    const callers = 200;
    const calls = callers * 3;
    const client = newClient({ tsoBatching: false });
    const perCaller = await hammer(client, callers, 3);
    const [min] = checkTimestamps(perCaller);
    // Same server, later calls: the oracle only moves forward.
    expect(min).toBeGreaterThan(maxBatched);
    const stats = client.stats();
    expect(stats.retries).toBe(0);
    expect(stats.tsoRequests).toBe(calls);
    expect(stats.tsoRpcs).toBe(calls);
  });
});
