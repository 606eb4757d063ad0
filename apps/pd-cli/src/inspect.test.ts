import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPdClient, decodeTimestamp, type PdClient, type Region } from "@nokv/pd-client";
import { createPdServer, type PdServer } from "@nokv/pd-server";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "./cli.js";
import { serverTlsFromFlags } from "./config/tls-files.js";

const silent = pino({ level: "silent" });
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pd-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: PdServer[] = [];
const clients: PdClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

const key = (s: string) => Buffer.from(s);
const region = (id: bigint, start: string | Buffer, end: string | Buffer): Region => ({
  id,
  startKey: typeof start === "string" ? key(start) : start,
  endKey: typeof end === "string" ? key(end) : end,
  epoch: { version: 1n, confVersion: 1n },
  peers: [1n, 2n, 3n].map((s) => ({ storeId: s, peerId: id * 100n + s })),
});

/** A real PD on 127.0.0.1:0 with three stores and three regions. */
async function seeded(opts: Parameters<typeof createPdServer>[0] = {}, clientTls?: Parameters<typeof createPdClient>[0]["tls"]) {
  const server = await createPdServer({ addr: "127.0.0.1:0", logger: silent, ...opts });
  servers.push(server);
  const pd = createPdClient({ addr: server.address, ...(clientTls !== undefined && { tls: clientTls }) });
  clients.push(pd);
  await pd.regionHeartbeat(region(1n, "", "g"));
  await pd.regionHeartbeat(region(2n, "g", Buffer.from([0x70, 0xff])));
  await pd.regionHeartbeat(region(3n, Buffer.from([0x70, 0xff]), ""));
  for (const [storeId, leaderNum] of [[1n, 3n], [2n, 0n], [3n, 0n]] as const) {
    await pd.storeHeartbeat({ storeId, leaderNum, regionNum: 3n, capacity: 1000n, available: 400n });
  }
  return server;
}

describe("pd-cli inspection verbs", () => {
  it("stores: a table by default and TiKV-shaped JSON with --format json", async () => {
    const server = await seeded();
    const t = await run("stores", "--pd", server.address);
    expect(t.code).toBe(0);
    expect(t.out[0]).toMatch(/^ID\s+STATE\s+LEADERS\s+REGIONS\s+CAPACITY\s+AVAILABLE\s+LAST_HEARTBEAT$/);
    expect(t.out.slice(1).map((l) => l.split(/\s+/).slice(0, 6))).toEqual([
      ["1", "Up", "3", "3", "1000", "400"],
      ["2", "Up", "0", "3", "1000", "400"],
      ["3", "Up", "0", "3", "1000", "400"],
    ]);
    const j = await run("stores", "--pd", server.address, "--format", "json");
    const body = JSON.parse(j.out[0]!);
    expect(body.count).toBe(3);
    expect(body.stores[0]).toMatchObject({ store: { id: "1", state_name: "Up" }, status: { leader_count: "3", capacity: "1000" } });
  });

  it("regions: pages with --limit and --start-key, escaping keys in the table and hex in JSON", async () => {
    const server = await seeded();
    const all = await run("regions", "--pd", server.address);
    expect(all.out).toEqual([
      "ID  START_KEY  END_KEY  VERSION  CONF_VER  PEERS(store:peer)",
      "1   -inf       g        1        1         1:101,2:102,3:103",
      "2   g          p\\xff    1        1         1:201,2:202,3:203",
      "3   p\\xff      +inf     1        1         1:301,2:302,3:303",
    ]);
    const page = await run("regions", "--pd", server.address, "--limit", "2");
    expect(page.out).toHaveLength(4);
    expect(page.out[3]).toBe("(more regions follow: --start-key 70FF --hex)");
    const next = await run("regions", "--pd", server.address, "--start-key", "70FF", "--hex", "--format", "json");
    expect(JSON.parse(next.out[0]!)).toMatchObject({ count: 1, has_more: false, regions: [{ id: "3", start_key: "70FF", end_key: "" }] });
    const fromText = await run("regions", "--pd", server.address, "--start-key", "h", "--limit", "1", "--format", "json");
    expect(JSON.parse(fromText.out[0]!)).toMatchObject({ regions: [{ id: "2" }], has_more: true, next_start_key: "70FF" });
    const tooMany = await run("regions", "--pd", server.address, "--limit", "10001");
    expect(tooMany.code).toBe(1);
    expect(tooMany.err).toHaveLength(1);
    expect(tooMany.err[0]).toMatch(/INVALID_ARGUMENT.*exceeds 10000/);
  });

  it("region key / region id: one region, or exit 1 with one line when PD has none", async () => {
    const server = await seeded();
    expect((await run("region", "key", "apple", "--pd", server.address)).out[1]).toMatch(/^1\s+-inf\s+g\s/);
    expect((await run("region", "key", "70ff", "--hex", "--pd", server.address)).out[1]).toMatch(/^3\s/);
    const byId = await run("region", "id", "2", "--pd", server.address, "--format", "json");
    expect(JSON.parse(byId.out[0]!)).toEqual({
      id: "2",
      start_key: "67",
      end_key: "70FF",
      epoch: { conf_ver: "1", version: "1" },
      peers: [
        { id: "201", store_id: "1" },
        { id: "202", store_id: "2" },
        { id: "203", store_id: "3" },
      ],
    });
    const missing = await run("region", "id", "9", "--pd", server.address);
    expect(missing).toMatchObject({ code: 1, out: [], err: ["pd-cli: region 9 not found"] });
    expect((await run("region", "id", "0", "--pd", server.address)).err[0]).toMatch(/invalid region id "0"/);
    expect((await run("region", "key", "zz", "--hex", "--pd", server.address)).err[0]).toMatch(/invalid hex key/);
  });

  it("tso prints a timestamp and the physical time it carries; alloc-id reserves --count ids", async () => {
    const server = await seeded();
    const before = Date.now();
    const t = await run("tso", "--pd", server.address, "--format", "json");
    const body = JSON.parse(t.out[0]!) as { timestamp: string; physical_ms: string; physical: string; logical: string };
    const ts = BigInt(body.timestamp);
    expect(decodeTimestamp(ts)).toEqual({ physicalMs: BigInt(body.physical_ms), logical: BigInt(body.logical) });
    expect(Date.parse(body.physical)).toBe(Number(body.physical_ms));
    expect(Number(body.physical_ms)).toBeGreaterThanOrEqual(before - 1000);
    const table = await run("tso", "--pd", server.address);
    expect(table.out[0]).toMatch(/^TIMESTAMP\s+PHYSICAL\s+LOGICAL$/);
    expect(BigInt(table.out[1]!.split(/\s+/)[0]!)).toBeGreaterThan(ts);
    const ids = await run("alloc-id", "--count", "5", "--pd", server.address, "--format", "json");
    const first = JSON.parse(ids.out[0]!) as { first_id: string; last_id: string; count: string };
    expect(BigInt(first.last_id) - BigInt(first.first_id)).toBe(4n);
    const again = await run("alloc-id", "--pd", server.address);
    expect(again.out[1]!.split(/\s+/)).toEqual([String(BigInt(first.last_id) + 1n), String(BigInt(first.last_id) + 1n), "1"]);
  });

  it("health lists the members with their gRPC health", async () => {
    const server = await seeded({ name: "pd-1" });
    const h = await run("health", "--pd", server.address);
    expect(h.code).toBe(0);
    expect(h.out).toEqual(["NAME  ADDRESS" + " ".repeat(server.address.length - 7) + "  LEADER  HEALTH", `pd-1  ${server.address}  yes     SERVING`]);
    const j = await run("health", "--pd", server.address, "--format", "json");
    expect(JSON.parse(j.out[0]!)).toEqual([{ name: "pd-1", client_urls: [server.address], is_leader: true, health: true, status: "SERVING" }]);
  });

  it("fails within its deadline with one line when PD is unreachable", async () => {
    for (const verb of [["stores"], ["regions"], ["region", "id", "1"], ["tso"], ["alloc-id"], ["health"]]) {
      const t0 = performance.now();
      const r = await run(...verb, "--pd", "127.0.0.1:1", "--timeout", "800");
      expect(performance.now() - t0).toBeLessThan(10_000); // bounded by --timeout, not hanging; generous for a loaded machine
      expect(r.code).toBe(1);
      expect(r.out).toEqual([]);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^pd-cli: .*(could not connect|deadline)/);
      expect(r.err[0]).not.toContain("\n    at ");
    }
  });

  it("takes the PD address from --config (and --scope), and refuses bad flags with one line", async () => {
    const server = await seeded();
    const cfg = join(dir, "raft_config.json");
    writeFileSync(cfg, JSON.stringify({ pd: { addr: "127.0.0.1:1", docker_addr: server.address }, stores: [], regions: [] }));
    expect((await run("stores", "--config", cfg, "--scope", "docker")).code).toBe(0);
    expect((await run("stores", "--config", cfg, "--timeout", "500")).code).toBe(1);
    expect((await run("stores", "--config", join(dir, "missing.json"))).err[0]).toMatch(/^pd-cli: .*missing\.json/);
    // Go's nokv-config accepts an inverted region: it is a warning here too, while a broken PD member list, which the verbs read, is an error.
    const inverted = join(dir, "inverted.json");
    writeFileSync(inverted, JSON.stringify({ pd: { addr: server.address }, stores: [{ store_id: 1 }], regions: [{ id: 2, start_key: "m", end_key: "a" }] }));
    const warned = await run("stores", "--config", inverted);
    expect(warned.code).toBe(0);
    expect(warned.err).toEqual(['pd-cli: warning: config: region 2: start_key "m" must be < end_key "a"']);
    const dupAddrs = join(dir, "dup-addrs.json");
    writeFileSync(dupAddrs, JSON.stringify({ pd: { addrs: [server.address, server.address] } }));
    expect((await run("stores", "--config", dupAddrs)).err).toEqual([`pd-cli: config: pd: duplicate address ${JSON.stringify(server.address)} in addrs`]);
    const bad = await run("stores", "--pd", server.address, "--format", "xml");
    expect(bad.code).not.toBe(0);
    expect(bad.err).toHaveLength(1);
    expect((await run("stores", "--pd", server.address, "--cert", join(dir, "nope.pem"))).err[0]).toMatch(/--cert and --key go together/);
  });
});

describe("pd-cli over TLS", () => {
  let certs: Record<string, string>;
  beforeAll(() => {
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ca");
    const leaf = (name: string, ext?: string) => {
      ssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      const extArgs = ext === undefined ? [] : ["-extfile", `${name}.ext`];
      if (ext !== undefined) writeFileSync(join(dir, `${name}.ext`), ext);
      ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", ...extArgs);
    };
    leaf("server", "subjectAltName=IP:127.0.0.1\n");
    leaf("operator");
    certs = Object.fromEntries(["ca", "server", "operator"].flatMap((n) => [[`${n}.crt`, join(dir, `${n}.crt`)], [`${n}.key`, join(dir, `${n}.key`)]]));
  });

  it("passes --cacert --cert --key to every verb, and a verb without a client certificate is refused", async () => {
    const tls = await serverTlsFromFlags({ cacert: certs["ca.crt"], cert: certs["server.crt"], key: certs["server.key"] });
    const clientTls = await serverTlsFromFlags({ cacert: certs["ca.crt"], cert: certs["operator.crt"], key: certs["operator.key"] });
    const server = await seeded({ tls: tls! }, { caCert: clientTls!.caCert!, cert: clientTls!.cert, key: clientTls!.key });
    const flags = ["--pd", server.address, "--cacert", certs["ca.crt"]!, "--cert", certs["operator.crt"]!, "--key", certs["operator.key"]!];
    for (const verb of [["stores"], ["regions"], ["region", "id", "1"], ["region", "key", "a"], ["tso"], ["alloc-id"], ["health"]]) {
      const r = await run(...verb, ...flags);
      expect({ verb, code: r.code, err: r.err }).toEqual({ verb, code: 0, err: [] });
    }
    const noCert = await run("stores", "--pd", server.address, "--cacert", certs["ca.crt"]!, "--timeout", "800");
    expect(noCert.code).toBe(1);
    expect(noCert.err).toHaveLength(1);
    const plaintext = await run("stores", "--pd", server.address, "--timeout", "800");
    expect(plaintext.code).toBe(1);
  });

  it("checks the server's TLS flags", async () => {
    await expect(serverTlsFromFlags({ cert: certs["server.crt"] })).rejects.toThrow(/--cert and --key go together/);
    await expect(serverTlsFromFlags({ cacert: certs["ca.crt"] })).rejects.toThrow(/need --cert and --key/);
    await expect(
      serverTlsFromFlags({ cert: certs["server.crt"], key: certs["server.key"], certAllowedCn: ["a"] }),
    ).rejects.toThrow(/needs --cacert/);
    await expect(serverTlsFromFlags({ cert: join(dir, "none.crt"), key: certs["server.key"] })).rejects.toThrow(
      /--cert .*none\.crt: no such file/,
    );
    const t = await serverTlsFromFlags({
      cacert: certs["ca.crt"],
      cert: certs["server.crt"],
      key: certs["server.key"],
      certAllowedCn: ["a,b", "c"],
    });
    expect(t?.allowedCNs).toEqual(["a", "b", "c"]);
  });
});
