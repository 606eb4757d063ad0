import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createPdAdapter, type PdAdapterCall } from "@nokv/pd-adapter";
import { createPdClient, GrpcStatus, PdClientError, type PdClient, type Region } from "@nokv/pd-client";
import { describe, expect, it } from "vitest";
import { type PdProcess, startPdProcess } from "./harness/pd-process.js";
import { runPdCli } from "./harness/run-command.js";
import { key, show } from "./harness/regions.js";
import { useTestScope } from "./harness/test-scope.js";
import { waitUntil } from "@nokv/testkit";

const scope = useTestScope();
const { cleanup, workdir } = scope;

function startPd(dir: string, extra: readonly string[] = []): Promise<PdProcess> {
  return scope.startPd(["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn", ...extra]);
}

function newClient(pd: PdProcess): PdClient {
  // No route cache: every lookup must be answered by the restarted process.
  const client = createPdClient({ addr: pd.addr, timeoutMs: 3000, routeCache: false });
  cleanup.add(() => client.close());
  return client;
}

/** The `id=… ts=…` pd-cli printed at start-up. */
function allocatorStarts(pd: PdProcess): { id: bigint; ts: bigint } {
  const line = pd.stdout.find((l) => l.startsWith("PD-lite restored "));
  const m = line === undefined ? null : /allocator starts: id=(\d+) ts=(\d+)$/.exec(line);
  if (m === null) throw new Error(`no allocator line in pd-cli output:\n${pd.stdout.join("\n")}`);
  return { id: BigInt(m[1]!), ts: BigInt(m[2]!) };
}

function restoredRegions(pd: PdProcess): number {
  const m = /^PD-lite restored (\d+) region\(s\)/.exec(pd.stdout.find((l) => l.startsWith("PD-lite restored ")) ?? "");
  if (m === null) throw new Error(`no restored line in pd-cli output:\n${pd.stdout.join("\n")}`);
  return Number(m[1]);
}

/** Everything PD acknowledged across all incarnations of one workdir. */
interface Ledger {
  readonly ids: Set<bigint>;
  readonly timestamps: Set<bigint>;
  maxId: bigint;
  maxTs: bigint;
  readonly acked: Map<bigint, Region>;
  /** Region heartbeats sent, answered or not (an unanswered one may still be in the catalog). */
  attempted: number;
}

/** Every acknowledged region routes to exactly what was acknowledged. */
async function expectAllRoute(client: PdClient, ledger: Ledger): Promise<void> {
  const regions = [...ledger.acked.values()];
  const found = await Promise.all(regions.map((r) => client.getRegionByKey(r.startKey)));
  expect(found.map(show)).toEqual(regions.map(show));
}

/**
 * One incarnation: traffic from eight concurrent loops (id runs of
 * various sizes, single and multi timestamps, new regions with allocated
 * ids) until enough has been acknowledged, then `signal` while calls are in
 * flight. Only values whose responses arrived go into the ledger.
 */
async function trafficThenKill(pd: PdProcess, client: PdClient, ledger: Ledger, round: number, signal: "SIGTERM" | "SIGKILL") {
  const WORKERS = 8;
  const ids: bigint[] = [];
  const timestamps: bigint[] = [];
  const acked: Region[] = [];
  const unexpected: unknown[] = [];
  let stopping = false;
  let inFlight = 0;
  let failedAfterKill = 0;

  const track = async <T>(call: Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await call;
    } finally {
      inFlight--;
    }
  };

  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stopping; i++) {
      try {
        switch (i % 4) {
          case 0: {
            const count = BigInt(1 + ((i * 7 + w) % 40));
            const run = await track(client.allocId(count));
            expect(run.count).toBe(count);
            for (let k = 0n; k < run.count; k++) ids.push(run.firstId + k);
            break;
          }
          case 1:
            timestamps.push(await track(client.getTimestamp()));
            break;
          case 2: {
            const run = await track(client.getTimestamps(BigInt(1 + (i % 9))));
            for (let k = 0n; k < run.count; k++) timestamps.push(run.first + k);
            break;
          }
          default: {
            const run = await track(client.allocId(2n));
            ids.push(run.firstId, run.firstId + 1n);
            const start = `r${round}/w${w}/${String(i).padStart(6, "0")}`;
            const region: Region = {
              id: run.firstId,
              startKey: key(start),
              endKey: key(`${start}\u0000`),
              epoch: { version: 1n, confVersion: 1n },
              peers: [{ storeId: 1n + BigInt(w % 3), peerId: run.firstId + 1n }],
            };
            ledger.attempted++;
            if (await track(client.regionHeartbeat(region))) acked.push(region);
          }
        }
      } catch (err) {
        if (stopping) {
          failedAfterKill++;
          return;
        }
        unexpected.push(err);
        return;
      }
    }
  };

  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  await waitUntil(
    "traffic to be acknowledged",
    () => unexpected.length > 0 || (ids.length >= 200 && timestamps.length >= 200 && acked.length >= 15),
    10_000,
  );
  expect(unexpected).toEqual([]);
  expect(inFlight).toBeGreaterThan(0);
  stopping = true;
  const exit = await pd.stop(signal);
  if (signal === "SIGTERM") {
    expect(exit).toBe(0);
    expect(pd.stdout).toContain("PD-lite stopped");
  } else {
    expect(exit).toBe("SIGKILL");
  }
  client.close(); // calls still waiting on the dead process reject with CLOSED
  await Promise.all(workers);
  expect(unexpected).toEqual([]);

  // Nothing received in this incarnation was received before.
  for (const id of ids) {
    if (ledger.ids.has(id)) throw new Error(`round ${round}: id ${id} handed out twice`);
    ledger.ids.add(id);
  }
  for (const ts of timestamps) {
    if (ledger.timestamps.has(ts)) throw new Error(`round ${round}: timestamp ${ts} handed out twice`);
    ledger.timestamps.add(ts);
  }
  const minId = ids.reduce((a, b) => (b < a ? b : a));
  const minTs = timestamps.reduce((a, b) => (b < a ? b : a));
  expect(minId).toBeGreaterThan(ledger.maxId);
  expect(minTs).toBeGreaterThan(ledger.maxTs);
  ledger.maxId = ids.reduce((a, b) => (b > a ? b : a));
  ledger.maxTs = timestamps.reduce((a, b) => (b > a ? b : a));
  for (const r of acked) ledger.acked.set(r.id, r);
  return { failedAfterKill };
}

describe("pd-cli restart safety on a real workdir", () => {
  it("never hands out an id or timestamp twice across SIGTERM and SIGKILL, and keeps every acknowledged region", async () => {
    const dir = await workdir();
    const ledger: Ledger = { ids: new Set(), timestamps: new Set(), maxId: 0n, maxTs: 0n, acked: new Map(), attempted: 0 };
    const signals = ["SIGKILL", "SIGTERM", "SIGKILL", "SIGTERM", "SIGKILL"] as const;
    let killedMidCall = 0;
    for (const [round, signal] of signals.entries()) {
      const pd = await startPd(dir);
      const restored = restoredRegions(pd);
      expect(restored).toBeGreaterThanOrEqual(ledger.acked.size);
      expect(restored).toBeLessThanOrEqual(ledger.attempted);
      const starts = allocatorStarts(pd);
      expect(starts.id).toBeGreaterThan(ledger.maxId);
      expect(starts.ts).toBeGreaterThan(ledger.maxTs);
      const client = newClient(pd);
      await expectAllRoute(client, ledger);
      const { failedAfterKill } = await trafficThenKill(pd, client, ledger, round, signal);
      if (signal === "SIGKILL") killedMidCall += failedAfterKill;
    }
    // SIGKILL really hit calls in flight (their values were not counted).
    expect(killedMidCall).toBeGreaterThan(0);

    const pd = await startPd(dir);
    const client = newClient(pd);
    expect(ledger.acked.size).toBeGreaterThanOrEqual(signals.length * 15);
    await expectAllRoute(client, ledger);
    const ids = await client.allocId(10n);
    expect(ids.firstId).toBeGreaterThan(ledger.maxId);
    const ts = await client.getTimestamps(10n);
    expect(ts.first).toBeGreaterThan(ledger.maxTs);
    expect(await pd.stop("SIGTERM")).toBe(0);
  }, 60_000);

  it("round-trips uint64 values above 2^53 exactly, through the wire and the workdir", async () => {
    const dir = await workdir();
    const ID_START = 9007199254740993n; // 2^53 + 1: not representable as a JS number
    const TS_START = 2n ** 60n + 12345n;
    expect(BigInt(Number(ID_START))).not.toBe(ID_START);
    const args = ["--id-start", ID_START.toString(), "--ts-start", TS_START.toString()];
    let pd = await startPd(dir, args);
    expect(pd.stdout).toContain(`PD-lite restored 0 region(s); allocator starts: id=${ID_START} ts=${TS_START}`);
    let client = newClient(pd);
    expect(await client.allocId()).toEqual({ firstId: ID_START, count: 1n });
    expect(await client.allocId(3n)).toEqual({ firstId: ID_START + 1n, count: 3n });
    expect(await client.getTimestamp()).toBe(TS_START);
    expect(await client.getTimestamps(5n)).toEqual({ first: TS_START + 1n, count: 5n });

    // Region and peer ids come from the id allocator, which PD moves past any
    // id a heartbeat reports; epochs and store ids may take any uint64.
    const huge: Region = {
      id: 2n ** 63n + 5n,
      startKey: key("big"),
      endKey: key("big~"),
      epoch: { version: 2n ** 53n + 1n, confVersion: 2n ** 64n - 1n },
      peers: [
        { storeId: 2n ** 64n - 1n, peerId: 2n ** 63n + 3n },
        { storeId: 9007199254740995n, peerId: 2n ** 60n + 1n },
      ],
    };
    expect(await client.regionHeartbeat(huge)).toBe(true);
    expect(show(await client.getRegionByKey(key("big!")))).toEqual(show(huge));
    expect((await client.allocId()).firstId).toBe(2n ** 63n + 6n);

    expect(await pd.stop("SIGKILL")).toBe("SIGKILL");
    const state = await readFile(join(dir, "PD_STATE.json"), "utf8");
    const idCurrent = /"id_current"\s*:\s*(\d+)/.exec(state)?.[1];
    const tsCurrent = /"ts_current"\s*:\s*(\d+)/.exec(state)?.[1];
    expect(idCurrent, state).toBeDefined();
    expect(BigInt(idCurrent!)).toBeGreaterThanOrEqual(ID_START + 3n);
    expect(BigInt(tsCurrent!)).toBeGreaterThanOrEqual(TS_START + 5n);

    pd = await startPd(dir, args);
    client = newClient(pd);
    expect(show(await client.getRegionByKey(key("big")))).toEqual(show(huge));
    expect((await client.allocId()).firstId).toBeGreaterThan(2n ** 63n + 6n);
    expect(await client.getTimestamp()).toBeGreaterThan(TS_START + 5n);
  });

  it("lets one client and one adapter ride through a kill -9 and restart on the same address", async () => {
    const dir = await workdir();
    let pd = await startPd(dir);
    const addr = pd.addr;
    const client = createPdClient({ addr, timeoutMs: 3000 });
    cleanup.add(() => client.close());
    const errors: Array<{ call: PdAdapterCall; err: unknown }> = [];
    const adapter = createPdAdapter({ client, timeoutMs: 1000, onError: (call, err) => errors.push({ call, err }) });
    cleanup.add(() => adapter.close());

    const a = { id: 10n, startKey: key("a"), endKey: key("b"), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: 11n }] };
    expect(await adapter.submitRegionHeartbeat(a)).toBe(true);
    expect((await client.getRegionByKey(key("a")))?.id).toBe(10n); // now cached
    const tsBefore = await client.getTimestamp();
    expect(await pd.stop("SIGKILL")).toBe("SIGKILL");

    // PD is down: the adapter reports a retryable failure within its deadline and resolves.
    const startedMs = performance.now();
    expect(await adapter.submitStoreHeartbeat({ storeId: 1n, regionNum: 1n, leaderNum: 1n })).toBe(0);
    expect(performance.now() - startedMs).toBeLessThan(3000);
    expect(errors.map((e) => e.call)).toEqual(["StoreHeartbeat"]);
    expect(errors[0]!.err).toSatisfy((err) => err instanceof PdClientError && err.retryable);
    // The route cache keeps answering while PD is away.
    expect((await client.getRegionByKey(key("a")))?.id).toBe(10n);

    // A call made while PD is down completes once PD is back on the same address.
    const pending = client.getTimestamp({ timeoutMs: 15_000 });
    pd = await startPdProcess(["--addr", addr, "--workdir", dir, "--log-level", "warn"]);
    const restarted = pd;
    cleanup.add(() => restarted.stop("SIGKILL"));
    expect(await pending).toBeGreaterThan(tsBefore);
    const b = { ...a, id: 20n, startKey: key("b"), endKey: key("c"), peers: [{ storeId: 1n, peerId: 21n }] };
    expect(await adapter.submitRegionHeartbeat(b)).toBe(true);
    expect((await client.getRegionByKey(key("a"), { bypassCache: true }))?.id).toBe(10n);
    expect((await client.getRegionByKey(key("b")))?.id).toBe(20n);
    expect(errors).toHaveLength(1);
  });

  it("stays exhausted, and serving, at the end of the id space across a restart", async () => {
    const dir = await workdir();
    const MAX = 2n ** 64n - 1n;
    let pd = await startPd(dir, ["--id-start", MAX.toString()]);
    let client = newClient(pd);
    expect(await client.allocId()).toEqual({ firstId: MAX, count: 1n });
    const exhausted = (err: unknown) =>
      err instanceof PdClientError && err.code === "ALLOCATOR_EXHAUSTED" && err.status === GrpcStatus.OUT_OF_RANGE && !err.retryable;
    await expect(client.allocId()).rejects.toSatisfy(exhausted);
    const r = { id: 5n, startKey: key(""), endKey: key(""), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: 6n }] };
    expect(await client.regionHeartbeat(r)).toBe(true);
    expect(await pd.stop("SIGKILL")).toBe("SIGKILL");

    pd = await startPd(dir, ["--id-start", MAX.toString()]);
    client = newClient(pd);
    await expect(client.allocId()).rejects.toSatisfy(exhausted); // 2^64-1 is never handed out again
    expect((await client.getRegionByKey(key("any")))?.id).toBe(5n);
    expect(await client.getTimestamp()).toBeGreaterThan(0n);
  });

  it("stays exhausted, and serving, at the end of the timestamp space across a restart", async () => {
    const dir = await workdir();
    const MAX = 2n ** 64n - 1n;
    let pd = await startPd(dir, ["--ts-start", (MAX - 1n).toString()]);
    let client = newClient(pd);
    expect(await client.getTimestamps(2n)).toEqual({ first: MAX - 1n, count: 2n });
    const exhausted = (err: unknown) =>
      err instanceof PdClientError && err.code === "ALLOCATOR_EXHAUSTED" && err.status === GrpcStatus.OUT_OF_RANGE && !err.retryable;
    await expect(client.getTimestamp()).rejects.toSatisfy(exhausted);
    const r = { id: 5n, startKey: key(""), endKey: key(""), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: 6n }] };
    expect(await client.regionHeartbeat(r)).toBe(true);
    expect(await pd.stop("SIGKILL")).toBe("SIGKILL");

    // Routing and ids must not go down with the timestamp space: PD starts and
    // answers Tso with ALLOCATOR_EXHAUSTED, as it does for ids.
    pd = await startPd(dir);
    client = newClient(pd);
    await expect(client.getTimestamp()).rejects.toSatisfy(exhausted); // 2^64-1 is never handed out again
    expect((await client.getRegionByKey(key("any")))?.id).toBe(5n);
    expect((await client.allocId()).firstId).toBeGreaterThan(0n);
  });

  it("accepts a PD_STATE.json written by NoKV's Go PD", async () => {
    const dir = await workdir();
    await writeFile(join(dir, "PD_STATE.json"), '{"id_current":5000,"ts_current":7000}');
    const pd = await startPd(dir);
    const client = newClient(pd);
    expect((await client.allocId()).firstId).toBeGreaterThanOrEqual(5001n);
    expect(await client.getTimestamp()).toBeGreaterThanOrEqual(7001n);
    expect(allocatorStarts(pd).id).toBeGreaterThanOrEqual(5001n);
  });

  it("continues exactly after a Go PD_STATE.json whose values are above 2^53 and ahead of the clock", async () => {
    const dir = await workdir();
    const idCurrent = 2n ** 60n + 1n;
    const tsCurrent = 2n ** 61n; // far beyond now << 18: the oracle must continue from it
    await writeFile(join(dir, "PD_STATE.json"), `{\n  "id_current": ${idCurrent},\n  "ts_current": ${tsCurrent}\n}\n`);
    const pd = await startPd(dir);
    const client = newClient(pd);
    expect((await client.allocId()).firstId).toBe(idCurrent + 1n);
    expect(await client.getTimestamp()).toBe(tsCurrent + 1n);
  });

  it("takes over a Go PD's nested workdir: ids and timestamps above its checkpoints, its regions routed, a file both Go versions read", async () => {
    const dir = await workdir();
    const idCurrent = 2n ** 60n + 5000n; // above 2^53
    const goState =
      '{"regions":{"7":{"id":7,"start_key":"YQ==","epoch":{"version":1,"conf_version":1},"peers":[{"store_id":1,"peer_id":70}],"state":0}},' +
      `"allocator":{"id_current":${idCurrent},"ts_current":7000}}`;
    await writeFile(join(dir, "PD_STATE.json"), goState);
    let pd = await startPd(dir);
    expect(pd.stdout.some((l) => l.startsWith("PD-lite recovery: took over the Go PD's region catalog") && l.includes("1 region(s) imported"))).toBe(true);
    let client = newClient(pd);
    expect((await client.getRegionByKey(key("apple")))?.id).toBe(7n);
    expect((await client.allocId()).firstId).toBe(idCurrent + 1n);
    expect(await client.getTimestamp()).toBeGreaterThanOrEqual(7001n);
    expect(await pd.stop("SIGTERM")).toBe(0);

    // Going back: the flat and the nested reading of what PD wrote both cover what it handed out.
    const written = await readFile(join(dir, "PD_STATE.json"), "utf8");
    const flat = /^\{"id_current":(\d+),"ts_current":(\d+),/.exec(written);
    const nested = /"allocator":\{"id_current":(\d+),"ts_current":(\d+)\}/.exec(written);
    for (const m of [flat, nested]) {
      expect(m, written).not.toBeNull();
      expect(BigInt(m![1]!)).toBeGreaterThanOrEqual(idCurrent + 1n);
      expect(BigInt(m![2]!)).toBeGreaterThan(7000n);
    }
    expect((await readdir(dir)).some((n) => n.startsWith("PD_STATE.json.go-"))).toBe(true);

    // The region now lives in PD's own catalog.
    pd = await startPd(dir);
    expect(pd.stdout.some((l) => l.includes("took over"))).toBe(false);
    client = newClient(pd);
    expect((await client.getRegionByKey(key("apple")))?.id).toBe(7n);
  });

  it("refuses a missing PD_STATE.json beside a catalog, and starts above the catalog with --recover-missing-state", async () => {
    const dir = await workdir();
    let pd = await startPd(dir);
    let client = newClient(pd);
    const ids = await client.allocId(50n);
    const r = { id: ids.firstId + 49n, startKey: key("a"), endKey: key("b"), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: ids.firstId + 48n }] };
    expect(await client.regionHeartbeat(r)).toBe(true);
    expect(await pd.stop("SIGTERM")).toBe(0);
    await rm(join(dir, "PD_STATE.json"));
    const before = (await readdir(dir)).sort();
    const refused = await runPdCli(["pd", "--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn"], { timeoutMs: 15_000 });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toHaveLength(1);
    expect(refused.stderr[0]).toContain(`${join(dir, "PD_STATE.json")} is missing`);
    expect((await readdir(dir)).sort()).toEqual(before);
    pd = await startPd(dir, ["--recover-missing-state"]);
    expect(pd.stdout.some((l) => l.includes("PD_STATE.json was missing: rebuilt"))).toBe(true);
    client = newClient(pd);
    expect((await client.allocId()).firstId).toBeGreaterThan(r.id);
  });

  it("refuses to start on an unparsable PD_STATE.json, naming it in one line and leaving it as it was", async () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["truncated JSON", '{"id_current":5000,"ts_cur'],
      ["not JSON", "id_current=5000\n"],
      ["a negative id", '{"id_current":-1,"ts_current":7000}'],
      ["a quoted number", '{"id_current":"5000","ts_current":7000}'],
      ["a fraction", '{"id_current":5000.5,"ts_current":7000}'],
      ["a value above 2^64-1", '{"id_current":18446744073709551616,"ts_current":7000}'],
      ["an array", "[5000,7000]"],
      ["a bare number", "3000"],
      ["an empty object", "{}"],
      ["a misspelt key", '{"id_durrent":3000,"ts_current":7000}'],
    ];
    // Independent processes: side by side, all finished before anything is asserted.
    const dirs = await Promise.all(cases.map(() => workdir()));
    await Promise.all(cases.map(([, text], i) => writeFile(join(dirs[i]!, "PD_STATE.json"), text)));
    const results = await Promise.all(
      dirs.map((dir) => runPdCli(["pd", "--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn"], { timeoutMs: 15_000 })),
    );
    for (const [i, [what, text]] of cases.entries()) {
      const res = results[i]!;
      const file = join(dirs[i]!, "PD_STATE.json");
      const output = `${what}:\n${[...res.stdout, ...res.stderr].join("\n")}`;
      expect(res.code, output).not.toBe(0);
      expect(res.code, output).not.toBeNull();
      expect(res.stderr, output).toHaveLength(1);
      expect(res.stderr[0], output).toContain(file);
      expect(res.stdout.some((l) => l.startsWith("PD-lite service listening")), output).toBe(false);
      expect(res.durationMs, output).toBeLessThan(8000);
      expect(await readFile(file, "utf8"), what).toBe(text);
      expect(await readdir(dirs[i]!), what).toEqual(["PD_STATE.json"]);
    }
  });
});
