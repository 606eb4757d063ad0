import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { PdError } from "@nokv/pd-core";
import { afterEach, describe, expect, it } from "vitest";
import { openLocalFileStore } from "./local-file-store.js";
import { acquireWorkdirLock, ownerState, parseLockOwner, processStartTicks, selfOwner } from "./workdir-lock.js";
import { useTempDirs } from "@nokv/testkit";

const temp = useTempDirs("pd-lock");
const tempDir = () => temp.make();

async function refusal(p: Promise<unknown>): Promise<PdError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PdError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

/**
 * A separate process holding the workdir's kernel lock until it is killed.
 * Like a PD, it writes its details into LOCK after locking, but only when
 * told to (`writeDetails`), so that tests can look into that gap.
 */
async function lockInChild(dir: string): Promise<{ pid: number; writeDetails: () => void; kill: () => Promise<void> }> {
  const fsx = createRequire(import.meta.url).resolve("fs-native-extensions");
  const code = `
    const fs = require("node:fs");
    const fsx = require(${JSON.stringify(fsx)});
    const fd = fs.openSync(${JSON.stringify(join(dir, "LOCK"))}, "a+");
    process.stdout.write(fsx.tryLock(fd) ? "locked\\n" : "busy\\n");
    process.stdin.on("data", () => {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: require("node:os").hostname() }) + "\\n", 0);
      process.stdout.write("written\\n");
    });`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) => child.stdout.once("data", (b: Buffer) => resolve(b.toString().trim())));
  expect(line).toBe("locked");
  return {
    pid: child.pid!,
    writeDetails: () => void child.stdin.write("write\n"),
    kill: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

/** What a PD that was killed long ago left in LOCK: the details of a process that is not running. */
const deadOwner = () => `${JSON.stringify({ ...selfOwner(), pid: 999_999_999, since: "2020-01-01T00:00:00.000Z" })}\n`;

describe("workdir lock", () => {
  it("keeps a second owner out, even in the same process, and names the owner", async () => {
    const dir = await tempDir();
    const release = await acquireWorkdirLock(dir);
    const err = await refusal(acquireWorkdirLock(dir));
    expect(err.code).toBe("STORAGE");
    expect(err.message).toContain(`pid ${process.pid} on host ${hostname()}`);
    expect(err.message).toContain("stop that PD first");
    await release();
    const again = await acquireWorkdirLock(dir);
    await again();
  });

  it("is held by a process until it dies, kill -9 included, with nothing to clean up", async () => {
    const dir = await tempDir();
    const child = await lockInChild(dir);
    child.writeDetails();
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
    const release = await acquireWorkdirLock(dir);
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
    const release = await acquireWorkdirLock(dir);
    expect(parseLockOwner(await readFile(join(dir, "LOCK"), "utf8"))!.pid).toBe(process.pid);
    await release();
  });

  it("honours an older PD's `pid host` lock while that pid lives, and takes it over once it is dead", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "LOCK"), `1 ${hostname()}\n`);
    const live = await refusal(acquireWorkdirLock(dir));
    expect(live.message).toContain("older PD");
    expect(live.message).toContain("pid 1");
    expect(await readFile(join(dir, "LOCK"), "utf8")).toBe(`1 ${hostname()}\n`);
    await writeFile(join(dir, "LOCK"), "999999999 some-other-host\n");
    expect((await refusal(acquireWorkdirLock(dir))).message).toContain("some-other-host");
    await writeFile(join(dir, "LOCK"), `999999999 ${hostname()}\n`);
    const release = await acquireWorkdirLock(dir);
    await release();
  });

  it("names the holder, not the dead owner whose details are still in LOCK, when the holder has not written its own yet", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "LOCK"), deadOwner());
    const child = await lockInChild(dir);
    // The refused side reads LOCK in the gap between the holder's lock and its write.
    const refused = refusal(acquireWorkdirLock(dir));
    child.writeDetails();
    const err = await refused;
    await child.kill();
    expect(err.message).toContain(`in use by another PD (pid ${child.pid} on host ${hostname()})`);
    expect(err.message).not.toContain("999999999");
  });

  it("never names a process that is not running as the owner, when the holder writes no details", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "LOCK"), deadOwner());
    const child = await lockInChild(dir);
    const err = await refusal(acquireWorkdirLock(dir, { ownerWaitMs: 100 }));
    await child.kill();
    expect(err.code).toBe("STORAGE");
    expect(err.message).toContain("in use by another PD (a process that has not written its details yet");
    expect(err.message).toContain("still names pid 999999999");
    expect(err.message).toContain("which is no longer running");
    expect(err.message).not.toContain("in use by another PD (pid 999999999");
  });

  it("takes the workdir when its holder dies while the details are awaited", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "LOCK"), deadOwner());
    const child = await lockInChild(dir);
    const taking = acquireWorkdirLock(dir, { ownerWaitMs: 10_000 });
    await child.kill();
    const release = await taking;
    expect(parseLockOwner(await readFile(join(dir, "LOCK"), "utf8"))!.pid).toBe(process.pid);
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
