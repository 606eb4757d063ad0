import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

// The package directory holds the shipped raft_config.example.json, so
// running there exercises the default --config.
const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(argv: string[], cwd = PACKAGE_DIR): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    cwd,
  });
  return { code, stdout, stderr };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nokv-config-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function configFile(text: string): Promise<string> {
  const path = join(dir, `cfg-${fileCount++}.json`);
  await writeFile(path, text);
  return path;
}

describe("nokv-config pd", () => {
  it.each([
    [[], "127.0.0.1:2379"],
    [["--field", "addr", "--scope", "docker"], "nokv-pd:2379"],
    [["--scope", "host", "--format", "simple"], "127.0.0.1:2379"],
    [["--field", "workdir"], "./artifacts/cluster/pd"],
    [["--field", "workdir", "--scope", "docker"], "/var/lib/nokv-pd"],
    [["--field", "addrs", "--scope", "docker"], "nokv-pd:2379"],
    [["--scope", "DOCKER", "--format", "Simple", "--field", " Addr "], "nokv-pd:2379"],
    [["--scope=docker", "--field=workdir"], "/var/lib/nokv-pd"],
  ])("pd %j prints %s", async (args, expected) => {
    expect(await run(["pd", ...args])).toEqual({ code: 0, stdout: `${expected}\n`, stderr: "" });
  });

  it("prints the pd block as one JSON line, ignoring --field", async () => {
    const out = await run(["pd", "--format", "json", "--field", "workdir", "--scope", "docker"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      '{"addr":"127.0.0.1:2379","docker_addr":"nokv-pd:2379","work_dir":"./artifacts/cluster/pd","docker_work_dir":"/var/lib/nokv-pd"}\n',
    );
  });

  it("prints the comma-separated member list for --field addrs", async () => {
    const path = await configFile('{"pd": {"addr": "a:1", "addrs": ["a:1", "b:1"], "docker_addrs": ["pd-1:1", "pd-2:1"]}}');
    expect((await run(["pd", "--config", path, "--field", "addrs"])).stdout).toBe("a:1,b:1\n");
    expect((await run(["pd", "--config", path, "--field", "addrs", "--scope", "docker"])).stdout).toBe("pd-1:1,pd-2:1\n");
    expect((await run(["pd", "--config", path, "--format", "json"])).stdout).toBe(
      '{"addr":"a:1","addrs":["a:1","b:1"],"docker_addrs":["pd-1:1","pd-2:1"]}\n',
    );
  });

  it("falls back from docker to host values", async () => {
    const path = await configFile('{"pd": {"addr": "127.0.0.1:2379", "work_dir": "./pd"}}');
    expect((await run(["pd", "--config", path, "--scope", "docker"])).stdout).toBe("127.0.0.1:2379\n");
    expect((await run(["pd", "--config", path, "--scope", "docker", "--field", "workdir"])).stdout).toBe("./pd\n");
  });

  it.each<[string, string[], string]>([
    ["an unknown scope", ["--scope", "local"], 'nokv-config pd: unknown scope "local" (expected host|docker)\n'],
    ["an unknown field", ["--field", "port"], 'nokv-config pd: unknown field "port" (expected addr|addrs|workdir)\n'],
    ["an unknown format", ["--format", "yaml"], 'nokv-config pd: unknown format "yaml" (expected simple|json)\n'],
  ])("fails on %s with one line on stderr", async (_name, args, stderr) => {
    expect(await run(["pd", ...args])).toEqual({ code: 1, stdout: "", stderr });
  });

  it("fails when the pd block is missing", async () => {
    const path = await configFile('{"stores": []}');
    expect(await run(["pd", "--config", path])).toEqual({
      code: 1,
      stdout: "",
      stderr: "nokv-config pd: pd block missing from configuration\n",
    });
  });

  it.each<[string[], string]>([
    [["--field", "addr"], 'nokv-config pd: pd address missing for scope "host"\n'],
    [["--field", "addr", "--scope", "docker"], 'nokv-config pd: pd address missing for scope "docker"\n'],
    [["--field", "addrs"], 'nokv-config pd: pd address missing for scope "host"\n'],
    [["--field", "workdir", "--scope", "docker"], 'nokv-config pd: pd workdir missing for scope "docker"\n'],
  ])("fails on an empty value: %j", async (args, stderr) => {
    const path = await configFile('{"pd": {"addr": "", "docker_addr": " "}}');
    expect(await run(["pd", "--config", path, ...args])).toEqual({ code: 1, stdout: "", stderr });
  });

  it("checks the flags before reading the file", async () => {
    const out = await run(["pd", "--scope", "nope", "--config", join(dir, "absent.json")]);
    expect(out.stderr).toBe('nokv-config pd: unknown scope "nope" (expected host|docker)\n');
  });
});

describe("nokv-config stores", () => {
  const EXPECTED_SIMPLE = [
    "1 127.0.0.1:20170 127.0.0.1:20170 0.0.0.0:20160 nokv-node1:20160 ./artifacts/cluster/store-1 /var/lib/nokv/store-1",
    "2 127.0.0.1:20171 127.0.0.1:20171 0.0.0.0:20160 nokv-node2:20160 ./artifacts/cluster/store-2 /var/lib/nokv/store-2",
    "3 127.0.0.1:20172 127.0.0.1:20172 0.0.0.0:20160 nokv-node3:20160 ./artifacts/cluster/store-3 /var/lib/nokv/store-3",
    "",
  ].join("\n");

  it("prints one line per store in the simple format by default", async () => {
    expect(await run(["stores"])).toEqual({ code: 0, stdout: EXPECTED_SIMPLE, stderr: "" });
    expect((await run(["stores", "--format", "simple"])).stdout).toBe(EXPECTED_SIMPLE);
  });

  it("prints the stores array as one JSON line", async () => {
    const out = await run(["stores", "--format", "json"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      "[" +
        [1, 2, 3]
          .map(
            (i) =>
              `{"store_id":${i},"addr":"127.0.0.1:2017${i - 1}","listen_addr":"127.0.0.1:2017${i - 1}",` +
              `"docker_addr":"nokv-node${i}:20160","docker_listen_addr":"0.0.0.0:20160"}`,
          )
          .join(",") +
        "]\n",
    );
  });

  it("applies the Go tool's fallbacks and prints - for what stays empty", async () => {
    const path = await configFile(
      JSON.stringify({
        store_work_dir_template: "./s-{id}",
        stores: [
          { store_id: 1, addr: "h:1" },
          { store_id: 2, addr: "h:2", listen_addr: "0.0.0.0:2", work_dir: "/two" },
          { store_id: 3 },
        ],
      }),
    );
    expect((await run(["stores", "--config", path])).stdout).toBe(
      ["1 h:1 h:1 h:1 h:1 ./s-1 ./s-1", "2 0.0.0.0:2 h:2 0.0.0.0:2 h:2 /two /two", "3 - - - - ./s-3 ./s-3", ""].join("\n"),
    );
    const noTemplate = await configFile('{"stores": [{"store_id": 4, "addr": "h:4"}]}');
    expect((await run(["stores", "--config", noTemplate])).stdout).toBe("4 h:4 h:4 h:4 h:4 - -\n");
  });

  it("prints ids above 2^53 exactly in both formats", async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), async (id) => {
        const path = await configFile(`{"stores": [{"store_id": ${id}, "addr": "h:1"}]}`);
        expect((await run(["stores", "--config", path])).stdout).toBe(`${id} h:1 h:1 h:1 h:1 - -\n`);
        expect((await run(["stores", "--config", path, "--format", "json"])).stdout).toBe(
          `[{"store_id":${id},"addr":"h:1","listen_addr":"","docker_addr":"","docker_listen_addr":""}]\n`,
        );
      }),
      { numRuns: 25 },
    );
  });
});

describe("nokv-config regions", () => {
  it("prints one line per region in the simple format", async () => {
    expect(await run(["regions"])).toEqual({
      code: 0,
      stdout: "1 - m 1 1 1:101,2:102,3:103 1\n2 m - 1 1 1:201,2:202,3:203 1\n",
      stderr: "",
    });
  });

  it("prints the regions array as one JSON line", async () => {
    const out = await run(["regions", "--format", "json"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      '[{"id":1,"start_key":"","end_key":"m","epoch":{"version":1,"conf_version":1},' +
        '"peers":[{"store_id":1,"peer_id":101},{"store_id":2,"peer_id":102},{"store_id":3,"peer_id":103}],"leader_store_id":1},' +
        '{"id":2,"start_key":"m","end_key":"","epoch":{"version":1,"conf_version":1},' +
        '"peers":[{"store_id":1,"peer_id":201},{"store_id":2,"peer_id":202},{"store_id":3,"peer_id":203}],"leader_store_id":1}]\n',
    );
  });

  it("hex-encodes keys that are not printable ASCII and prints - for no peers", async () => {
    const path = await configFile(
      JSON.stringify({
        stores: [{ store_id: 2 }],
        regions: [
          { id: 1, start_key: "\u0000\u0001", end_key: "a b", epoch: { version: 2, conf_version: 3 }, peers: [{ store_id: 2, peer_id: 202 }], leader_store_id: 2 },
          { id: 3, start_key: "é", end_key: "", peers: [] },
        ],
      }),
    );
    expect(await run(["regions", "--config", path])).toEqual({
      code: 0,
      stdout: "1 hex:0001 a b 2 3 2:202 2\n3 hex:c3a9 - 0 0 - 0\n",
      stderr: "",
    });
  });

  it("prints epochs and peer ids above 2^53 exactly", async () => {
    const big = 2n ** 64n - 1n;
    const path = await configFile(
      `{"stores": [{"store_id": ${big}}], "regions": [{"id": ${big - 1n}, "epoch": {"version": ${big}, "conf_version": 9007199254740993},` +
        ` "peers": [{"store_id": ${big}, "peer_id": ${big - 2n}}], "leader_store_id": ${big}}]}`,
    );
    expect((await run(["regions", "--config", path])).stdout).toBe(
      `${big - 1n} - - ${big} 9007199254740993 ${big}:${big - 2n} ${big}\n`,
    );
    expect((await run(["regions", "--config", path, "--format", "json"])).stdout).toBe(
      `[{"id":${big - 1n},"start_key":"","end_key":"","epoch":{"version":${big},"conf_version":9007199254740993},` +
        `"peers":[{"store_id":${big},"peer_id":${big - 2n}}],"leader_store_id":${big}}]\n`,
    );
  });
});

describe("nokv-config with a config Go's tool accepts but PD would not", () => {
  // Region 2 is inverted and region 3 shares a store between two peers: Go's
  // nokv-config validates neither, so no command may fail on them.
  const TEXT = JSON.stringify({
    pd: { addr: "10.0.0.1:2379", work_dir: "/pd" },
    stores: [{ store_id: 1, addr: "h:1" }, { store_id: 2, addr: "h:2" }],
    regions: [
      { id: 1, start_key: "", end_key: "m", epoch: { version: 1, conf_version: 1 }, peers: [{ store_id: 1, peer_id: 11 }], leader_store_id: 1 },
      { id: 2, start_key: "m", end_key: "a", epoch: { version: 1, conf_version: 1 }, peers: [{ store_id: 2, peer_id: 21 }], leader_store_id: 2 },
      { id: 3, start_key: "x", end_key: "", epoch: { version: 1, conf_version: 2 }, peers: [{ store_id: 1, peer_id: 31 }, { store_id: 1, peer_id: 32 }], leader_store_id: 1 },
    ],
  });
  const WARNINGS = [
    'warning: config: region 2: start_key "m" must be < end_key "a"',
    "warning: config: region 3: peer 32: store 1 already hosts a peer of this region",
  ];
  const warned = (command: string) => WARNINGS.map((w) => `nokv-config ${command}: ${w}\n`).join("");

  it.each<[string[], string]>([
    [["pd", "--field", "addr"], "10.0.0.1:2379\n"],
    [["pd", "--field", "workdir"], "/pd\n"],
    [["pd", "--format", "json"], '{"addr":"10.0.0.1:2379","work_dir":"/pd"}\n'],
    [["stores"], "1 h:1 h:1 h:1 h:1 - -\n2 h:2 h:2 h:2 h:2 - -\n"],
    [["regions"], "1 - m 1 1 1:11 1\n2 m a 1 1 2:21 2\n3 x - 1 2 1:31,1:32 1\n"],
  ])("%j prints its usual output and the problems as warnings on stderr", async (args, stdout) => {
    const path = await configFile(TEXT);
    expect(await run([...args, "--config", path])).toEqual({ code: 0, stdout, stderr: warned(args[0]!) });
  });

  it("prints an inverted region in the JSON format too", async () => {
    const path = await configFile(TEXT);
    const out = await run(["regions", "--config", path, "--format", "json"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('{"id":2,"start_key":"m","end_key":"a","epoch":{"version":1,"conf_version":1}');
    expect(out.stderr).toBe(warned("regions"));
  });

  it("fails on a broken PD member list only where the PD address is read", async () => {
    const path = await configFile('{"pd": {"addr": "a:1", "addrs": ["a:1", "a:1"], "work_dir": "/pd"}, "stores": [{"store_id": 1}]}');
    const problem = 'config: pd: duplicate address "a:1" in addrs';
    for (const args of [["pd"], ["pd", "--field", "addrs"], ["pd", "--format", "json"]]) {
      expect(await run([...args, "--config", path])).toEqual({ code: 1, stdout: "", stderr: `nokv-config pd: ${problem}\n` });
    }
    expect(await run(["pd", "--field", "workdir", "--config", path])).toEqual({ code: 0, stdout: "/pd\n", stderr: `nokv-config pd: warning: ${problem}\n` });
    expect(await run(["stores", "--config", path])).toEqual({ code: 0, stdout: "1 - - - - - -\n", stderr: `nokv-config stores: warning: ${problem}\n` });
  });
});

describe("nokv-config errors", () => {
  it("reports a missing default config relative to the working directory", async () => {
    const out = await run(["stores"], dir);
    expect(out).toEqual({
      code: 1,
      stdout: "",
      stderr: `nokv-config stores: config: cannot read ${join(dir, "raft_config.example.json")}: no such file or directory\n`,
    });
  });

  it("resolves a relative --config against the working directory", async () => {
    await writeFile(join(dir, "relative.json"), '{"pd": {"addr": "10.0.0.1:2379"}}');
    expect((await run(["pd", "--config", "relative.json"], dir)).stdout).toBe("10.0.0.1:2379\n");
  });

  it("reports an invalid config in one line, naming the entity", async () => {
    const path = await configFile('{"stores": [{"store_id": 1}], "regions": [{"id": 2, "peers": [{"store_id": 9, "peer_id": 5}]}]}');
    expect(await run(["regions", "--config", path])).toEqual({
      code: 1,
      stdout: "",
      stderr: "nokv-config regions: config: region 2: peer 5 references unknown store 9\n",
    });
  });

  it("reports malformed JSON in one line", async () => {
    const path = await configFile("{\n");
    const out = await run(["stores", "--config", path, "--format", "json"]);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(`nokv-config stores: config: ${path}: invalid JSON at line 2 column 1: expected a string key, got end of input\n`);
  });

  it.each([["stores"], ["regions"]])("%s rejects an unknown format", async (command) => {
    expect(await run([command, "--format", "xml"])).toEqual({
      code: 1,
      stdout: "",
      stderr: `nokv-config ${command}: unknown format "xml" (expected simple|json)\n`,
    });
  });

  it("exits 1 with usage on stderr when no command is given", async () => {
    const out = await run([]);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain("Usage: nokv-config");
  });

  it("exits 1 on an unknown command or option", async () => {
    expect(await run(["catalog"])).toMatchObject({ code: 1, stdout: "", stderr: expect.stringContaining("unknown command 'catalog'") });
    expect(await run(["pd", "--bogus"])).toMatchObject({ code: 1, stderr: expect.stringContaining("unknown option '--bogus'") });
    expect(await run(["pd", "--scope"])).toMatchObject({ code: 1, stderr: expect.stringContaining("argument missing") });
  });

  it("prints help on stdout and exits 0 for --help", async () => {
    const out = await run(["pd", "--help"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("--field <field>");
    expect(out.stderr).toBe("");
  });
});
