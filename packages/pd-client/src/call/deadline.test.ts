/**
 * `timeoutMs` at its edges: Node's timers hold at most 2^31 - 1 ms and grpc-js
 * refuses deadlines near 2^53, so the client refuses what it cannot honour,
 * before any RPC, instead of firing after 1 ms or crashing the process.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPdClient, type PdClient, type PdClientOptions } from "../client.js";
import { PdClientError } from "../errors.js";
import { waitUntil, type FakePd } from "@nokv/testkit";
import { rejection } from "../testing/rejection.js";
import { useFakePd } from "../testing/fake-pd-fixture.js";

const fixture = useFakePd();
const client = (options: Partial<PdClientOptions> = {}): PdClient => fixture.client(options);
const releases = fixture.releases;
let pd: FakePd;
beforeEach(() => {
  pd = fixture.pd;
});

const MAX = 2 ** 31 - 1;

describe("timeoutMs bounds", () => {
  it("refuses a client timeout of 2^31 ms or more, NaN or Infinity with INVALID_ARGUMENT", () => {
    for (const timeoutMs of [MAX + 1, 1e12, 2 ** 53, Number.MAX_VALUE, Infinity, Number.NaN, 0, -1]) {
      let caught: unknown;
      try {
        createPdClient({ addr: pd.addr, timeoutMs });
      } catch (err) {
        caught = err;
      }
      expect(caught, String(timeoutMs)).toBeInstanceOf(PdClientError);
      expect((caught as PdClientError).code).toBe("INVALID_ARGUMENT");
      expect((caught as PdClientError).message).toMatch(/timeoutMs/);
    }
  });

  it("refuses a call timeout above the bound before any RPC, on every method", async () => {
    const c = client();
    for (const timeoutMs of [MAX + 1, 2 ** 53 - 1, 2 ** 53]) {
      for (const call of [
        () => c.getTimestamp({ timeoutMs }),
        () => c.getTimestamps(3n, { timeoutMs }),
        () => c.allocId(1n, { timeoutMs }),
        () => c.getRegionByKey(new Uint8Array([1]), { timeoutMs }),
        () => c.checkHealth({ timeoutMs }),
        () => c.connect({ timeoutMs }),
      ]) {
        const err = await rejection(call());
        expect(err.code, String(timeoutMs)).toBe("INVALID_ARGUMENT");
      }
    }
    expect(pd.calls.tso + pd.calls.allocId + pd.calls.getRegionByKey + pd.healthCalls).toBe(0);
  });

  it("honours the largest timeout: a call at 2^31 - 1 ms waits for a late answer", async () => {
    const c = client({ timeoutMs: MAX });
    const release = pd.hold("tso");
    releases.push(release);
    const calls = Array.from({ length: 50 }, () => c.getTimestamp());
    const ids = c.allocId(1n, { timeoutMs: MAX });
    await waitUntil("the batch to reach PD", () => pd.calls.tso >= 1, 5000);
    // A timer that overflowed would have fired after 1 ms: give it many turns to.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    release();
    const got = await Promise.all(calls);
    expect(new Set(got).size).toBe(50);
    expect((await ids).count).toBe(1n);
  });
});
