import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChannelCredentials, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { PDClient, PDSchedulingClient } from "@nokv/pd-proto";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPdServer, type PdServer, type PdServerOptions } from "../index.js";
import { isLoopbackHost } from "./tls.js";

const silent = pino({ level: "silent" });

/** PEM files made with openssl at test time: two CAs, a server cert for 127.0.0.1, client certs. */
interface Pki {
  ca: Buffer;
  otherCa: Buffer;
  server: { cert: Buffer; key: Buffer };
  clientA: { cert: Buffer; key: Buffer };
  clientB: { cert: Buffer; key: Buffer };
  rogue: { cert: Buffer; key: Buffer };
}

let dir: string;
let pki: Pki;

function makePki(d: string): Pki {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: d, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = (name: string) => ssl("req", "-x509", ...ec, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${name}`);
  const leaf = (name: string, cn: string, issuer: string, ext?: string) => {
    ssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    const extArgs: string[] = [];
    if (ext !== undefined) {
      writeFileSync(join(d, `${name}.ext`), ext);
      extArgs.push("-extfile", `${name}.ext`);
    }
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${issuer}.crt`, "-CAkey", `${issuer}.key`, "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", ...extArgs);
    return { cert: readFileSync(join(d, `${name}.crt`)), key: readFileSync(join(d, `${name}.key`)) };
  };
  ca("ca");
  ca("other-ca");
  return {
    ca: readFileSync(join(d, "ca.crt")),
    otherCa: readFileSync(join(d, "other-ca.crt")),
    server: leaf("server", "pd", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
    clientA: leaf("client-a", "client-a", "ca"),
    clientB: leaf("client-b", "client-b", "ca"),
    rogue: leaf("rogue", "client-a", "other-ca"),
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pd-tls-"));
  pki = makePki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: PdServer[] = [];
const clients: PDClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function start(opts: Partial<PdServerOptions> = {}): Promise<PdServer> {
  const server = await createPdServer({
    addr: "127.0.0.1:0",
    statusAddr: "127.0.0.1:0",
    logger: silent,
    tls: { caCert: pki.ca, cert: pki.server.cert, key: pki.server.key },
    ...opts,
  });
  servers.push(server);
  return server;
}

function tso(addr: string, creds: ChannelCredentials): Promise<bigint> {
  const pd = new PDClient(addr, creds);
  clients.push(pd);
  return new Promise((resolve, reject) =>
    pd.tso({ count: 1n }, new Metadata(), { deadline: Date.now() + 3000 }, (err: ServiceError | null, res) =>
      err ? reject(err) : resolve(res!.timestamp),
    ),
  );
}

async function refused(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("expected the call to be refused");
}

function httpsGet(
  url: string,
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("mutual TLS", () => {
  it("serves a client whose certificate chains to --cacert", async () => {
    const server = await start();
    const ts = await tso(server.address, credentials.createSsl(pki.ca, pki.clientA.key, pki.clientA.cert));
    expect(ts).toBeGreaterThan(0n);
  });

  it("refuses a client without a certificate, one signed by another CA, and one that does not trust the server", async () => {
    const server = await start();
    expect((await refused(tso(server.address, credentials.createSsl(pki.ca)))).code).toBe(status.UNAVAILABLE);
    expect((await refused(tso(server.address, credentials.createSsl(pki.ca, pki.rogue.key, pki.rogue.cert)))).code).toBe(status.UNAVAILABLE);
    expect((await refused(tso(server.address, credentials.createSsl(pki.otherCa, pki.clientA.key, pki.clientA.cert)))).code).toBe(
      status.UNAVAILABLE,
    );
    expect((await refused(tso(server.address, credentials.createInsecure()))).code).toBe(status.UNAVAILABLE);
  });

  it("with --cert-allowed-cn, refuses other CNs with PERMISSION_DENIED", async () => {
    const server = await start({ tls: { caCert: pki.ca, cert: pki.server.cert, key: pki.server.key, allowedCNs: ["client-a"] } });
    expect(await tso(server.address, credentials.createSsl(pki.ca, pki.clientA.key, pki.clientA.cert))).toBeGreaterThan(0n);
    const e = await refused(tso(server.address, credentials.createSsl(pki.ca, pki.clientB.key, pki.clientB.cert)));
    expect(e.code).toBe(status.PERMISSION_DENIED);
    expect(e.details).toContain('"client-b"');
    expect(e.metadata.get("pd-error-code")).toEqual(["PERMISSION_DENIED"]);
  });

  it("applies the same rules to the scheduling control RPCs (pb.PDScheduling)", async () => {
    const server = await start({ tls: { caCert: pki.ca, cert: pki.server.cert, key: pki.server.key, allowedCNs: ["client-a"] } });
    const pause = (creds: ChannelCredentials) => {
      const c = new PDSchedulingClient(server.address, creds);
      clients.push(c as unknown as PDClient);
      return new Promise<unknown>((resolve, reject) =>
        c.setSchedulerPaused({ name: "balance-region", paused: true }, new Metadata(), { deadline: Date.now() + 3000 }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
    };
    const denied = await refused(pause(credentials.createSsl(pki.ca, pki.clientB.key, pki.clientB.cert)));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect((await refused(pause(credentials.createSsl(pki.ca)))).code).toBe(status.UNAVAILABLE);
    expect(server.cluster.schedulingConfig.pausedSchedulers).toEqual([]);
    expect(await pause(credentials.createSsl(pki.ca, pki.clientA.key, pki.clientA.cert))).toEqual({ scheduler: { name: "balance-region-scheduler", paused: true } });
    expect(server.cluster.schedulingConfig.pausedSchedulers).toEqual(["balance-region-scheduler"]);
  });

  it("without --cacert serves TLS to any client and asks for no certificate", async () => {
    const server = await start({ tls: { cert: pki.server.cert, key: pki.server.key } });
    expect(await tso(server.address, credentials.createSsl(pki.ca))).toBeGreaterThan(0n);
    expect((await refused(tso(server.address, credentials.createSsl(pki.otherCa)))).code).toBe(status.UNAVAILABLE);
  });

  it("refuses allowed CNs without a CA", async () => {
    await expect(
      createPdServer({ addr: "127.0.0.1:0", logger: silent, tls: { cert: pki.server.cert, key: pki.server.key, allowedCNs: ["x"] } }),
    ).rejects.toThrow(/need a CA/);
  });

  it("protects the status port the same way", async () => {
    const server = await start({ tls: { caCert: pki.ca, cert: pki.server.cert, key: pki.server.key, allowedCNs: ["client-a"] } });
    const url = `https://${server.statusAddress}/pd/api/v1/health`;
    const ok = await httpsGet(url, { ca: pki.ca, cert: pki.clientA.cert, key: pki.clientA.key });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ health: true });
    const forbidden = await httpsGet(url, { ca: pki.ca, cert: pki.clientB.cert, key: pki.clientB.key });
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body).error).toMatch(/not allowed/);
    await expect(httpsGet(url, { ca: pki.ca })).rejects.toThrow();
    await expect(httpsGet(url, { ca: pki.ca, cert: pki.rogue.cert, key: pki.rogue.key })).rejects.toThrow();
  });
});

describe("isLoopbackHost", () => {
  it("knows loopback names and addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.com", "[::]"]) expect(isLoopbackHost(h)).toBe(false);
  });
});
