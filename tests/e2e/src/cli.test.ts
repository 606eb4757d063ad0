import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { createPdClient, type PdClient } from "@nokv/pd-client";
import { describe, expect, it } from "vitest";
import { type PdProcess, REPO_ROOT } from "./harness/pd-process.js";
import { type CommandResult, runCommand, runPdCli } from "./harness/run-command.js";
import { key, region, show } from "./harness/regions.js";
import { useTestScope } from "./harness/test-scope.js";
import { waitUntil } from "@nokv/testkit";

const EXAMPLE_CONFIG = join(REPO_ROOT, "raft_config.example.json");

const { cleanup, workdir, startPd } = useTestScope();

function newClient(pd: PdProcess): PdClient {
  const client = createPdClient({ addr: pd.addr, timeoutMs: 3000, routeCache: false });
  cleanup.add(() => client.close());
  return client;
}

/** A TCP listener on a free 127.0.0.1 port, closed after the test. */
async function occupyPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A failed start as an operator sees it: non-zero, one line on stderr, no stack, promptly. */
function expectOneLineFailure(what: string, res: CommandResult, reason: RegExp): void {
  const output = `${what}:\n${[...res.stdout, ...res.stderr].join("\n")}`;
  expect(res.signal, output).toBeNull();
  expect(res.code, output).not.toBe(0);
  expect(res.stderr, output).toHaveLength(1);
  expect(res.stderr[0], output).toMatch(/^pd-cli: \S/);
  expect(res.stderr[0], output).toMatch(reason);
  expect(output, output).not.toMatch(/^\s+at /m);
  expect(res.stdout.some((l) => l.startsWith("PD-lite service listening")), output).toBe(false);
  expect(res.durationMs, output).toBeLessThan(15_000); // "within a few seconds", with slack for a loaded machine
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("nokv-config through pnpm", () => {
  it("`pnpm exec nokv-config pd --field addr --scope docker` prints nokv-pd:2379", async () => {
    const res = await runCommand("pnpm", ["exec", "nokv-config", "pd", "--field", "addr", "--scope", "docker"], {
      cwd: REPO_ROOT,
      timeoutMs: 20_000,
    });
    expect(res.code, res.stderr.join("\n")).toBe(0);
    expect(res.stdout).toEqual(["nokv-pd:2379"]);

    const host = await runCommand("pnpm", ["exec", "nokv-config", "pd", "--field", "addr", "--scope", "host"], { cwd: REPO_ROOT });
    expect(host.stdout).toEqual(["127.0.0.1:2379"]);
  });
});

describe("pd-cli pd: flags and raft_config", () => {
  it("lets --addr (and --workdir) win over the config's docker scope", async () => {
    const dir = await workdir();
    // The docker address nokv-pd:2379 cannot be bound here: listening proves the flag won.
    const pd = await startPd(["--config", EXAMPLE_CONFIG, "--scope", "docker", "--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn"]);
    expect(pd.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(pd.addr).not.toBe("127.0.0.1:0");
    expect(pd.stdout).toContain(`PD-lite storage: local-file ${dir}`);
    const client = newClient(pd);
    expect((await client.allocId()).count).toBe(1n);
  });

  it("uses the config's pd address and work dir when no flag is given; the state survives a restart", async () => {
    const dir = await workdir();
    const stateDir = join(dir, "pd-state");
    const configFile = join(dir, "raft_config.json");
    await writeFile(
      configFile,
      JSON.stringify({
        pd: { addr: "127.0.0.1:0", docker_addr: "nokv-pd:2379", work_dir: stateDir, docker_work_dir: "/var/lib/nokv-pd" },
      }),
    );
    const args = ["--config", configFile, "--log-level", "warn"];
    let pd = await startPd(args);
    expect(pd.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(pd.stdout).toContain(`PD-lite storage: local-file ${stateDir}`);
    let client = newClient(pd);
    const r = region({ id: 7n, start: "a", end: "k", version: 3n, peers: [{ storeId: 1n, peerId: 71n }] });
    expect(await client.regionHeartbeat(r)).toBe(true);
    const before = await client.allocId(5n);
    expect(await pd.stop("SIGTERM")).toBe(0);
    client.close();

    pd = await startPd(args);
    expect(pd.stdout.find((l) => l.startsWith("PD-lite restored "))).toMatch(/^PD-lite restored 1 region\(s\)/);
    client = newClient(pd);
    expect(show(await client.getRegionByKey(key("b")))).toEqual(show(r));
    expect((await client.allocId()).firstId).toBeGreaterThan(before.firstId + 4n);
  });

  it("starts with a config that Go's nokv-config accepts, printing what only PD-lite would check as a warning on stderr", async () => {
    const dir = await workdir();
    const configFile = join(dir, "raft_config.json");
    await writeFile(
      configFile,
      JSON.stringify({
        pd: { addr: "127.0.0.1:0" },
        stores: [{ store_id: 1, addr: "127.0.0.1:20170" }],
        regions: [{ id: 2, start_key: "m", end_key: "a", epoch: { version: 1, conf_version: 1 }, peers: [{ store_id: 1, peer_id: 21 }] }],
      }),
    );
    const pd = await startPd(["--config", configFile, "--log-level", "warn"]);
    expect(pd.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(pd.stderr).toContain('pd-cli: warning: config: region 2: start_key "m" must be < end_key "a"');
    expect((await newClient(pd).allocId()).count).toBe(1n);
  });
});

describe("pd-cli pd: start-up failures", () => {
  it("exits non-zero with exactly one line on stderr, no stack trace, within seconds", async () => {
    const dir = await workdir();
    const busyPort = await occupyPort();
    const aFile = join(dir, "not-a-dir");
    await writeFile(aFile, "x");
    const missing = join(dir, "nope.json");
    const inUse = join(dir, "in-use");
    const live = await startPd(["--addr", "127.0.0.1:0", "--workdir", inUse, "--log-level", "warn"]);
    const client = newClient(live);
    const first = await client.allocId();

    const cases: ReadonlyArray<readonly [string, readonly string[], RegExp]> = [
      ["unknown flag", ["--addr", "127.0.0.1:0", "--bogus"], /unknown option '--bogus'/],
      ["bad scope", ["--addr", "127.0.0.1:0", "--config", EXAMPLE_CONFIG, "--scope", "galaxy"], /scope.*galaxy|galaxy.*scope/],
      ["negative --id-start", ["--addr", "127.0.0.1:0", "--id-start", "-5"], /id-start/],
      ["missing config", ["--addr", "127.0.0.1:0", "--config", missing], new RegExp(escapeRegExp(missing))],
      ["address in use", ["--addr", `127.0.0.1:${busyPort}`, "--workdir", join(dir, "wd")], new RegExp(`127\\.0\\.0\\.1:${busyPort}.*address already in use`)],
      ["workdir is a file", ["--addr", "127.0.0.1:0", "--workdir", aFile], new RegExp(`${escapeRegExp(aFile)}.*not a directory`)],
      ["workdir of a live PD", ["--addr", "127.0.0.1:0", "--workdir", inUse], /in use by another PD/],
    ];
    // Independent processes: side by side, all finished before anything is asserted.
    // (At the default level, info logs would share stderr with the failure line.)
    const results = await Promise.all(cases.map(([, args]) => runPdCli(["pd", "--log-level", "warn", ...args])));
    cases.forEach(([what, , reason], i) => expectOneLineFailure(what, results[i]!, reason));
    // The PD whose workdir was refused to the second process is unharmed.
    expect((await client.allocId()).firstId).toBeGreaterThan(first.firstId);
  });

  it("explains itself when run without a command", async () => {
    const res = await runPdCli([]);
    const text = res.stderr.join("\n");
    expect(res.code).not.toBe(0);
    expect(text).not.toContain("(outputHelp)");
    expect(text).toMatch(/usage/i);
  });
});

describe("pd-cli pd: signals", () => {
  it.each([["stdout"], ["stderr"], ["stdout and stderr"]] as const)(
    "stops on SIGTERM with exit 0 when nobody reads its %s any more (the log collector died)",
    async (gone) => {
      // Default log level: PD logs to stderr while it stops.
      const pd = await startPd(["--addr", "127.0.0.1:0"]);
      let exit: number | NodeJS.Signals | undefined;
      void pd.exited.then((e) => (exit = e));
      if (gone.includes("stdout")) pd.child.stdout!.destroy();
      if (gone.includes("stderr")) pd.child.stderr!.destroy();
      pd.child.kill("SIGTERM");
      await waitUntil(`pd-cli to exit after SIGTERM with no reader on its ${gone}`, () => exit !== undefined, 5000);
      expect(exit, gone === "stdout" ? pd.stderr.join("\n") : undefined).toBe(0);
    },
  );

  it("stops gracefully on SIGINT with exit 0, keeping its state", async () => {
    const dir = await workdir();
    const args = ["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn"];
    let pd = await startPd(args);
    let client = newClient(pd);
    const ids = await client.allocId(3n);
    const ts = await client.getTimestamp();
    expect(await pd.stop("SIGINT")).toBe(0);
    expect(pd.stdout.at(-1)).toBe("PD-lite stopped");
    expect(pd.stderr).toEqual([]);
    client.close();

    pd = await startPd(args);
    client = newClient(pd);
    expect((await client.allocId()).firstId).toBeGreaterThan(ids.firstId + 2n);
    expect(await client.getTimestamp()).toBeGreaterThan(ts);
  });
});
