import { performance } from "node:perf_hooks";
import { GRPCDeadlineExceededError, GRPCUnavailableError } from "etcd3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { waitUntil } from "@nokv/testkit";
import { EndpointHealth, HOST_FAILURES_TO_SKIP, HOST_SKIP_MS, HUNG_SKIP_MAX_MS, HUNG_SKIP_MS } from "./endpoint-health.js";
import { createEtcdClient, etcdRequest } from "./etcd-connection.js";

/** The policy's `execute`, as the etcd client calls it for one endpoint. */
type Execute = <T>(fn: () => T | Promise<T>) => Promise<T>;
const executor = (health: EndpointHealth, endpoint: string): Execute => {
  const policy = health.policy(endpoint) as unknown as { execute: Execute };
  return policy.execute.bind(policy);
};

const A = "http://127.0.0.1:1";
const B = "http://127.0.0.1:2";
const down = () => Promise.reject(new GRPCUnavailableError("etcd member down"));
const hang = () => Promise.reject(new GRPCDeadlineExceededError("deadline exceeded"));
const up = () => Promise.resolve("ok");

async function trip(execute: Execute): Promise<void> {
  for (let i = 0; i < HOST_FAILURES_TO_SKIP; i++) await expect(execute(down)).rejects.toThrow(/member down/);
}

describe("endpoint health", () => {
  afterEach(() => vi.restoreAllMocks());

  it("skips an endpoint for 1 s of its clock after 3 recoverable failures in a row", async () => {
    let now = 5_000;
    const health = new EndpointHealth([A, B], () => now);
    const a = executor(health, A);
    await trip(a);
    await expect(a(up)).rejects.toThrow(/skipped/);
    now += HOST_SKIP_MS - 1;
    await expect(a(up)).rejects.toThrow(/skipped/);
    now += 1;
    await expect(a(up)).resolves.toBe("ok");
  });

  it("never skips the only endpoint, nor every endpoint; errors etcd would not retry do not count", async () => {
    const now = 0;
    const single = new EndpointHealth([A], () => now);
    await trip(executor(single, A));
    await expect(executor(single, A)(up)).resolves.toBe("ok");
    const both = new EndpointHealth([A, B], () => now);
    await trip(executor(both, A));
    await expect(executor(both, A)(up)).rejects.toThrow(/skipped/);
    await trip(executor(both, B));
    // Both failing: trying beats waiting.
    await expect(executor(both, A)(up)).resolves.toBe("ok");
    const several = new EndpointHealth([A, B], () => now);
    for (let i = 0; i < 5; i++) await expect(executor(several, A)(() => Promise.reject(new Error("request too large")))).rejects.toThrow();
    await expect(executor(several, A)(up)).resolves.toBe("ok");
  });

  it("skips a member that hangs at once, longer while it keeps hanging, and forgets it once it answers", async () => {
    let now = 0;
    const health = new EndpointHealth([A, B], () => now);
    const a = executor(health, A);
    await expect(a(hang)).rejects.toThrow(/deadline/);
    expect(health.isSkipped("127.0.0.1:1")).toBe(true);
    now += HUNG_SKIP_MS;
    expect(health.isSkipped("127.0.0.1:1")).toBe(false);
    await expect(a(hang)).rejects.toThrow(/deadline/);
    now += HUNG_SKIP_MS;
    expect(health.isSkipped("127.0.0.1:1")).toBe(true); // doubled
    now += HUNG_SKIP_MS;
    expect(health.isSkipped("127.0.0.1:1")).toBe(false);
    for (let i = 0; i < 10; i++) health.hung("127.0.0.1:1");
    now += HUNG_SKIP_MAX_MS - 1;
    expect(health.isSkipped("127.0.0.1:1")).toBe(true);
    now += 1;
    await expect(a(up)).resolves.toBe("ok");
    await expect(a(hang)).rejects.toThrow();
    now += HUNG_SKIP_MS; // back to the first step after an answer
    expect(health.isSkipped("127.0.0.1:1")).toBe(false);
  });

  it("tags what a member handed out (a stream) with that member", async () => {
    const health = new EndpointHealth([A, B]);
    const stream = { on: () => undefined, cancel: () => undefined };
    expect(await executor(health, B)(() => stream)).toBe(stream);
    expect(EndpointHealth.hostOf(stream)).toBe("127.0.0.1:2");
    expect(EndpointHealth.hostOf({})).toBeUndefined();
  });

  it("measures skips on the monotonic clock by default: a wall clock stepped back does not extend them", async () => {
    const health = new EndpointHealth([A, B]);
    const a = executor(health, A);
    await trip(a);
    await expect(a(up)).rejects.toThrow(/skipped/);
    // The wall clock jumps 10 minutes back during the outage; the endpoint
    // must come back after the 1 s skip all the same.
    const wall = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(wall - 600_000);
    await waitUntil("the endpoint to be tried again", () => a(up).then(() => true, () => false), {
      timeoutMs: HOST_SKIP_MS + 2000,
      intervalMs: 50,
    });
  });
});

describe("etcdRequest", () => {
  it("gives each attempt its own deadline and tries again until the budget is spent", async () => {
    const client = createEtcdClient([A], { attemptTimeoutMs: 40 });
    try {
      const deadlines: number[] = [];
      let calls = 0;
      const value = await etcdRequest(client, 1000, async (options) => {
        deadlines.push((options.deadline as Date).getTime() - Date.now());
        if (++calls < 3) throw new GRPCDeadlineExceededError("deadline exceeded");
        return "third time";
      });
      expect(value).toBe("third time");
      expect(deadlines.every((d) => d <= 40 && d > 0)).toBe(true);

      const t0 = performance.now();
      let tries = 0;
      await expect(etcdRequest(client, 300, () => {
        tries++;
        return Promise.reject(new GRPCUnavailableError("down"));
      })).rejects.toThrow(/down/);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(tries).toBeGreaterThan(2);
      // Not worth retrying: thrown at once.
      let once = 0;
      await expect(etcdRequest(client, 1000, () => {
        once++;
        return Promise.reject(new Error("etcdserver: request is too large"));
      })).rejects.toThrow(/too large/);
      expect(once).toBe(1);
    } finally {
      client.close();
    }
  });
});
