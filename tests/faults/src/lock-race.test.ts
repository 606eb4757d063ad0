import { join } from "node:path";
import { key, type PdLaunch, type PdLaunchOptions, type PdProcess, useTestScope } from "@nokv/e2e/harness";
import { createPdClient, type PdClient } from "@nokv/pd-client";
import { describe, expect, it } from "vitest";
import { isLockedByKernel } from "./support/kernel-locks.js";
import { expectCatalog, Ledger } from "./support/ledger.js";
import { expectRefusal } from "./support/pd-outcome.js";
import { delaySyscallsOn, probeStrace } from "./support/strace.js";
import { bySize } from "./support/sweep.js";
import { waitUntil } from "@nokv/testkit";

// Two `pd-cli pd` started on one workdir at once, many times over: exactly
// one may serve. Some races run one PD under strace, its LOCK handling
// delayed: either before it locks (the other should win), or after it holds
// the lock but before it has written its details (the other must still be
// told who holds the workdir).

const scope = useTestScope();
const strace = probeStrace();
if (!strace.ok) console.warn(`lock race: the strace-delayed races are skipped: ${strace.reason}`);

type RaceKind = "together" | "holder-delayed" | "opener-delayed";
const ROUNDS = bySize(20, 200);
const DELAY_MS = 250;

function raceKinds(rounds: number): RaceKind[] {
  // Three in twenty of each delayed kind, spread over the run.
  return Array.from({ length: rounds }, (_, i) =>
    !strace.ok ? "together" : [3, 9, 15].includes(i % 20) ? "holder-delayed" : [6, 12, 18].includes(i % 20) ? "opener-delayed" : "together",
  );
}

describe("two pd-cli pd starts racing for one workdir", () => {
  it(`lets exactly one serve, refuses the other with one line naming the owner, and never hands out a value twice (${ROUNDS} races)`, async () => {
    const dir = await scope.workdir();
    const scratch = await scope.workdir();
    const lock = join(dir, "LOCK");
    const args = ["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn"];
    const ledger = new Ledger();
    const kinds = raceKinds(ROUNDS);
    const clients: PdClient[] = [];
    scope.cleanup.add(() => clients.forEach((c) => c.close()));
    const connect = (pd: PdProcess) => {
      const c = createPdClient({ addr: pd.addr, timeoutMs: 5000, routeCache: false });
      clients.push(c);
      return c;
    };

    const msByKind = new Map<RaceKind, number>();
    for (const [round, kind] of kinds.entries()) {
      const startedMs = performance.now();
      const where = `race ${round} (${kind})`;
      const delayed = (syscalls: readonly string[]): PdLaunchOptions => ({
        wrapper: delaySyscallsOn(lock, syscalls, DELAY_MS, join(scratch, `strace-${round}.txt`)),
      });
      let launches: PdLaunch[];
      if (kind === "holder-delayed") {
        // The first PD takes the kernel lock, then stalls before writing its details into LOCK.
        const first = scope.launchPd(args, delayed(["ftruncate", "pwrite64"]));
        await waitUntil(`${where}: the first PD to hold LOCK`, () => isLockedByKernel(lock), 15_000);
        launches = await Promise.all([first, scope.launchPd(args)]);
      } else if (kind === "opener-delayed") {
        // One PD's attempt to lock is held back: the other should win, and the late one be refused cleanly.
        launches = await Promise.all([scope.launchPd(args, delayed(["fcntl"])), scope.launchPd(args)]);
      } else {
        launches = await Promise.all([scope.launchPd(args), scope.launchPd(args)]);
      }

      // Every PD that listens is asked for ids first: two serving PDs show up as an id handed out twice.
      const serving = launches.filter((l): l is PdLaunch & { listening: true } => l.listening);
      for (const pd of serving) await ledger.expectFreshValues(connect(pd), `${where}: pid ${pd.pid}`);
      expect(serving, `${where}: PDs serving`).toHaveLength(1);
      const winner = serving[0]!;
      const loser = launches.find((l) => !l.listening)!;
      expectRefusal(loser, dir, where);
      expect(loser.stderr[0], where).toContain("in use by another PD");
      expect(loser.stderr[0], where).toContain(`(pid ${winner.pid} on host `);
      if (kind === "holder-delayed") expect(launches[0]!.listening, `${where}: the PD that locked first serves`).toBe(true);

      const client = clients.at(-1)!;
      const ids = await ledger.takeIds(client, 2n, where);
      const region = {
        id: ids.firstId,
        startKey: key(`race/${String(round).padStart(4, "0")}`),
        endKey: key(`race/${String(round).padStart(4, "0")}~`),
        epoch: { version: 1n, confVersion: 1n },
        peers: [{ storeId: 1n, peerId: ids.firstId + 1n }],
      };
      expect(await client.regionHeartbeat(region)).toBe(true);
      ledger.regions.set(region.id, region);
      await expectCatalog(client, ledger.regions.values(), where);
      await ledger.takeTimestamps(client, 5n, where);
      client.close();
      // Alternate: a kill -9 leaves LOCK with a dead owner's details, a clean stop removes it.
      if (round % 2 === 0) expect(await winner.stop("SIGKILL")).toBe("SIGKILL");
      else expect(await winner.stop("SIGTERM")).toBe(0);
      msByKind.set(kind, (msByKind.get(kind) ?? 0) + performance.now() - startedMs);
    }

    const last = await scope.startPd(args);
    const client = connect(last);
    await expectCatalog(client, ledger.regions.values(), "after the races");
    await ledger.expectFreshValues(client, "after the races");
    const counts = kinds.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<RaceKind, number>());
    console.log(`lock race: ${ROUNDS} races (${[...counts].map(([k, n]) => `${n} ${k}, ${Math.round(msByKind.get(k)! / n)} ms each`).join("; ")}), ${ledger.ids.size} ids and ${ledger.timestamps.size} timestamps acknowledged, none twice`);
  }, bySize(120_000, 1_800_000));
});
