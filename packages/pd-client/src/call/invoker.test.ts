/**
 * The invoker's promises about one call: abort listeners are removed when a
 * call settles (every method, health included), and close() and aborts are
 * reported the same way by every method.
 */
import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPdClient, type PdClient, type PdClientOptions } from "../client.js";
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

describe("abort listeners", () => {
  it("leaves none on a shared signal after 200 calls of each method, checkHealth included", async () => {
    const c = client();
    const ac = new AbortController();
    const signal = ac.signal;
    const opts = { signal };
    for (let i = 0; i < 200; i++) {
      expect(await c.checkHealth(opts)).toBe("SERVING");
      await c.allocId(1n, opts);
      await c.getTimestamp(opts);
      await c.getMembers(opts);
      await c.getRegionByKey(new Uint8Array([i % 256]), opts);
    }
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });
});

describe("checkHealth", () => {
  it("answers the health service of the endpoint", async () => {
    const c = client();
    expect(await c.checkHealth()).toBe("SERVING");
    pd.healthStatus = 2;
    expect(await c.checkHealth({ endpoint: pd.addr })).toBe("NOT_SERVING");
  });

  it("reports CLOSED, not CANCELLED, for a check in flight at close() and for one after it", async () => {
    const c = client({ timeoutMs: 30_000 });
    releases.push(pd.hold("health"));
    const p = c.checkHealth();
    await waitUntil("the check to reach PD", () => pd.healthCalls === 1, 5000);
    c.close();
    const inFlight = await rejection(p);
    expect(inFlight).toMatchObject({ code: "CLOSED", method: "HealthCheck", retryable: false });
    expect((await rejection(c.checkHealth())).code).toBe("CLOSED");
  });

  it("reports CANCELLED with the signal's reason as cause when aborted", async () => {
    const c = client({ timeoutMs: 30_000 });
    releases.push(pd.hold("health"));
    const ac = new AbortController();
    const p = c.checkHealth({ signal: ac.signal });
    await waitUntil("the check to reach PD", () => pd.healthCalls === 1, 5000);
    const reason = new Error("shutting down the gateway");
    ac.abort(reason);
    const err = await rejection(p);
    expect(err).toMatchObject({ code: "CANCELLED", method: "HealthCheck" });
    expect(err.cause).toBe(reason);
  });
});
