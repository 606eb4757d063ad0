import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { PdError } from "@nokv/pd-core";
import { afterEach, describe, expect, it } from "vitest";
import { openLocalFileStore } from "./local-file-store.js";
import { acquireWorkdirLock, ownerState, parseLockOwner, processStartTicks, selfOwner } from "./workdir-lock.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "pd-lock-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function refusal(fn: () => unknown): PdError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PdError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

/** A separate process holding the workdir's kernel lock until it is killed. */
async function lockInChild(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const fsx = createRequire(import.meta.url).resolve("fs-native-extensions");
  const code = `
    const fsx = require(${JSON.stringify(fsx)});
    const fd = require("node:fs").openSync(${JSON.stringify(join(dir, "LOCK"))}, "a+");
    process.stdout.write(fsx.tryLock(fd) ? "locked\\n" : "busy\\n");
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) => child.stdout.once("data", (b: Buffer) => resolve(b.toString().trim())));
  expect(line).toBe("locked");
  return {
    pid: child.pid!,
    kill: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

describe("workdir lock", () => {
  it("keeps a second owner out, even in the same process, and names the owner", async () => {
    const dir = await tempDir();
    const release = acquireWorkdirLock(dir);
    const err = refusal(() => acquireWorkdirLock(dir));
    expect(err.code).toBe("STORAGE");
    expect(err.message).toContain(`pid ${process.pid} on host ${hostname()}`);
    expect(err.message).toContain("stop that PD first");
    await release();
    const again = acquireWorkdirLock(dir);
    await again();
  });

  it("is held by a process until it dies, kill -9 included, with nothing to clean up", async () => {
    const dir = await tempDir();
    const child = await lockInChild(dir);
    const err = await openLocalFileStore({ dir }).then(
      () => undefined,
      (e: unknown) => e as PdError,
    );
    expect(err?.code).toBe("STORAGE");
    expect(err?.message).toContain("in use by another PD");
    await child.kill();
    const s = await openLocalFileStore({ dir });
    await s.close();
  });

  it("records pid, host, boot and process start time, and tells a reused pid from a live owner", async () => {
    const dir = await tempDir();
    const release = acquireWorkdirLock(dir);
    const owner = parseLockOwner(await readFile(join(dir, "LOCK"), "utf8"))!;
    expect(owner.pid).toBe(process.pid);
    expect(owner.host).toBe(hostname());
    expect(owner.startTicks).toBe(processStartTicks(process.pid));
    expect(ownerState(owner)).toBe("alive");
    // The same pid with another start time is another process: the owner is gone.
    expect(ownerState({ ...owner, startTicks: `${BigInt(owner.startTicks!) + 1n}` })).toBe("dead");
    expect(ownerState({ ...owner, bootId: "another-boot" })).toBe("dead");
    expect(ownerState({ ...owner, host: "another-host" })).toBe("unknown");
    await release();
  });

  it("takes over a lock record naming a live but unrelated process (pid reuse after a crash)", async () => {
    const dir = await tempDir();
    // pid 1 is alive, but it never took the kernel lock: the record is stale.
    await writeFile(join(dir, "LOCK"), `${JSON.stringify({ ...selfOwner(), pid: 1, startTicks: "1" })}\n`);
    const release = acquireWorkdirLock(dir);
    expect(parseLockOwner(await readFile(join(dir, "LOCK"), "utf8"))!.pid).toBe(process.pid);
    await release();
  });

  it("honours an older PD's `pid host` lock while that pid lives, and takes it over once it is dead", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "LOCK"), `1 ${hostname()}\n`);
    const live = refusal(() => acquireWorkdirLock(dir));
    expect(live.message).toContain("older PD");
    expect(live.message).toContain("pid 1");
    expect(await readFile(join(dir, "LOCK"), "utf8")).toBe(`1 ${hostname()}\n`);
    await writeFile(join(dir, "LOCK"), "999999999 some-other-host\n");
    expect(refusal(() => acquireWorkdirLock(dir)).message).toContain("some-other-host");
    await writeFile(join(dir, "LOCK"), `999999999 ${hostname()}\n`);
    const release = acquireWorkdirLock(dir);
    await release();
  });

  it("lets exactly one of many simultaneous opens win", async () => {
    const dir = await tempDir();
    for (let round = 0; round < 20; round++) {
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => openLocalFileStore({ dir })));
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect((r.reason as PdError).message).toContain("in use by another PD");
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof openLocalFileStore>>>).value.close();
    }
  });
});
