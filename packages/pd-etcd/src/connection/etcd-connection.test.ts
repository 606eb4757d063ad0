import { GRPCUnavailableError } from "etcd3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createHostPolicy, HOST_FAILURES_TO_SKIP, HOST_SKIP_MS } from "./etcd-connection.js";
import { waitUntil } from "@nokv/testkit";

/** The policy's `execute`, as the etcd client calls it for one endpoint. */
type Execute = <T>(fn: () => T | Promise<T>) => Promise<T>;
const executor = (policy: ReturnType<typeof createHostPolicy>): Execute =>
  (policy as unknown as { execute: Execute }).execute.bind(policy);

const down = () => Promise.reject(new GRPCUnavailableError("etcd member down"));
const up = () => Promise.resolve("ok");

async function trip(execute: Execute): Promise<void> {
  for (let i = 0; i < HOST_FAILURES_TO_SKIP; i++) await expect(execute(down)).rejects.toThrow(/member down/);
}

describe("the per-endpoint fault policy", () => {
  afterEach(() => vi.restoreAllMocks());

  it("skips an endpoint for 1 s of its clock after 3 recoverable failures in a row", async () => {
    let now = 5_000;
    const execute = executor(createHostPolicy(3, () => now));
    await trip(execute);
    await expect(execute(up)).rejects.toThrow(/skipped for 1000 ms/);
    now += HOST_SKIP_MS - 1;
    await expect(execute(up)).rejects.toThrow(/skipped/);
    now += 1;
    await expect(execute(up)).resolves.toBe("ok");
  });

  it("never skips the only endpoint, and does not count errors etcd would not retry", async () => {
    const now = 0;
    const single = executor(createHostPolicy(1, () => now));
    await trip(single);
    await expect(single(up)).resolves.toBe("ok");
    const several = executor(createHostPolicy(2, () => now));
    for (let i = 0; i < 5; i++) await expect(several(() => Promise.reject(new Error("request too large")))).rejects.toThrow();
    await expect(several(up)).resolves.toBe("ok");
  });

  it("measures the skip on the monotonic clock by default: a wall clock stepped back does not extend it", async () => {
    const execute = executor(createHostPolicy(2));
    await trip(execute);
    await expect(execute(up)).rejects.toThrow(/skipped/);
    // The wall clock jumps 10 minutes back during the outage; the endpoint
    // must come back after the 1 s skip all the same (with Date.now() it
    // would stay skipped for the 10 minutes).
    const wall = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(wall - 600_000);
    await waitUntil("the endpoint to be tried again", () => execute(up).then(() => true, () => false), {
      timeoutMs: HOST_SKIP_MS + 2000,
      intervalMs: 50,
    });
  });
});
