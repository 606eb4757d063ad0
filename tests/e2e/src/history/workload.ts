import { performance } from "node:perf_hooks";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { type AllocIDResponse, type GetRegionByKeyResponse, PDClient, type RegionHeartbeatResponse, type RegionMeta, type TsoResponse } from "@nokv/pd-proto";
import type { Completion, Epoch, History, Invocation, Op } from "./history.js";
import { PD_ERROR_CODE_TRAILER, PD_LEADER_ADDR_TRAILER } from "@nokv/pd-model";

/**
 * How long one attempt on one PD may take, in ms: a write waits for etcd; a
 * read or a Tso is answered from memory, and waiting long on a PD that hangs
 * would measure the client, not PD.
 */
const WRITE_ATTEMPT_MS = 1000;
const READ_ATTEMPT_MS = 300;
/** How long one operation may take over all its attempts, in ms. */
const OP_BUDGET_MS = 4000;

/** A region a client owns: its key range never changes, only its conf version grows. */
interface OwnedRegion {
  readonly id: bigint;
  readonly key: string;
  confVersion: bigint;
}

type Attempt<T> = (client: PDClient, deadline: number, done: (err: ServiceError | null, value?: T) => void) => void;

/**
 * The PDs as one client sees them: a raw gRPC client per PD (no pd-client:
 * the history must record exactly which PD answered), following
 * `NOT_LEADER` redirects and moving on when a PD does not answer.
 */
export class Router {
  readonly #clients = new Map<string, PDClient>();
  readonly #addrs: readonly string[];
  #leader: string;
  #next = 0;

  constructor(addrs: readonly string[]) {
    this.#addrs = addrs;
    this.#leader = addrs[0]!;
    for (const a of addrs) this.#clients.set(a, new PDClient(a, credentials.createInsecure()));
  }

  /**
   * Runs one call until a PD answers it or the budget is spent. Resolves
   * `ok` with the value and the PD; `fail` when a PD refused it and no
   * earlier attempt may have taken effect; `info` otherwise.
   */
  async run<T>(attempt: Attempt<T>, isWrite: boolean): Promise<
    { outcome: "ok"; value: T; pd: string } | { outcome: "fail"; error: string; pd: string } | { outcome: "info"; error: string }
  > {
    const deadline = performance.now() + OP_BUDGET_MS;
    const attemptMs = isWrite ? WRITE_ATTEMPT_MS : READ_ATTEMPT_MS;
    let uncertain = false;
    let lastError = "no attempt";
    while (performance.now() < deadline) {
      const addr = this.#leader;
      const res = await new Promise<{ err: ServiceError | null; value?: T }>((resolve) =>
        attempt(this.#clients.get(addr)!, Date.now() + Math.min(attemptMs, Math.max(50, deadline - performance.now())), (err, value) =>
          resolve({ err, value }),
        ),
      );
      if (res.err === null) return { outcome: "ok", value: res.value as T, pd: addr };
      const code = res.err.metadata?.get(PD_ERROR_CODE_TRAILER)[0];
      lastError = `${addr}: ${typeof code === "string" ? code : status[res.err.code]} ${res.err.details ?? ""}`.trim();
      if (code === "NOT_LEADER") {
        const leader = res.err.metadata.get(PD_LEADER_ADDR_TRAILER)[0];
        if (typeof leader === "string" && this.#clients.has(leader) && leader !== addr) {
          this.#leader = leader;
          continue;
        }
      } else if (code !== undefined && code !== "STORAGE" && code !== "UNAVAILABLE") {
        // A definite refusal by the domain (stale epoch, bad argument): the answer.
        if (!uncertain) return { outcome: "fail", error: lastError, pd: addr };
        return { outcome: "info", error: lastError };
      } else if (isWrite) {
        // No answer, or storage trouble: a write may have happened.
        uncertain = true;
      }
      // Try the next PD after a short pause (no tight loop while none leads).
      this.#leader = this.#addrs[this.#next++ % this.#addrs.length]!;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { outcome: "info", error: lastError };
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
  }
}

const enc = (s: string) => Buffer.from(s);

/** The regions every client has written (by region id), for reads across clients. */
export class RegionBook {
  readonly regions: Array<{ id: bigint; key: string }> = [];
  readonly #ids = new Set<bigint>();

  add(id: bigint, key: string): void {
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
    this.regions.push({ id, key });
  }
}

/**
 * Clients that each issue one operation at a time — Tso, AllocID,
 * RegionHeartbeat (creating regions with ids they allocated, then raising
 * their conf version), GetRegionByKey (of any client's region) — and record
 * every invocation and completion in the history.
 */
export class Workload {
  readonly #history: History;
  readonly #addrs: readonly string[];
  readonly #book = new RegionBook();
  readonly #routers: Router[] = [];
  #stop = false;
  #loops: Promise<void>[] = [];

  /**
   * @param clients clients issuing the mix of operations (ids 0 … clients-1)
   * @param tsoClients clients issuing nothing but Tso (the next ids): the
   *   measure of Tso availability, which a mixed client would distort by
   *   waiting on a slow write
   */
  constructor(history: History, addrs: readonly string[], readonly clients: number, readonly tsoClients = 0, readonly seed = 1) {
    this.#history = history;
    this.#addrs = addrs;
  }

  start(): void {
    for (let i = 0; i < this.clients + this.tsoClients; i++) {
      const router = new Router(this.#addrs);
      this.#routers.push(router);
      this.#loops.push(i < this.clients ? this.#loop(i, router) : this.#tsoLoop(i, router));
    }
  }

  async #tsoLoop(client: number, router: Router): Promise<void> {
    while (!this.#stop) await this.#tso(client, router, 1n);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#loops);
    for (const r of this.#routers) r.close();
  }

  /** Reads back every region any client wrote, through a router of its own, recorded as client `client`. */
  async verify(client: number): Promise<void> {
    const router = new Router(this.#addrs);
    try {
      for (const r of [...this.#book.regions]) await this.#read(client, router, r.id, r.key);
    } finally {
      router.close();
    }
  }

  async #loop(client: number, router: Router): Promise<void> {
    let x = (this.seed * 7919 + client * 104_729) >>> 0 || 1;
    const rnd = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const owned: OwnedRegion[] = [];
    const freeIds: bigint[] = [];
    let seq = 0;
    while (!this.#stop) {
      const p = rnd();
      if (p < 0.5) {
        await this.#tso(client, router, BigInt(1 + Math.floor(rnd() * 3)));
      } else if (p < 0.65 || (p < 0.8 && freeIds.length === 0 && owned.length < 20)) {
        const run = await this.#allocId(client, router, BigInt(1 + Math.floor(rnd() * 5)));
        if (run !== undefined) for (let i = 0n; i < run.count; i++) freeIds.push(run.first + i);
      } else if (p < 0.8) {
        if (owned.length < 20 && freeIds.length > 0 && (owned.length === 0 || rnd() < 0.3)) {
          const id = freeIds.shift()!;
          const r: OwnedRegion = { id, key: `h${String(client).padStart(2, "0")}-${String(seq++).padStart(6, "0")}`, confVersion: 0n };
          owned.push(r);
          await this.#heartbeat(client, router, r);
        } else if (owned.length > 0) {
          await this.#heartbeat(client, router, owned[Math.floor(rnd() * owned.length)]!);
        }
      } else if (this.#book.regions.length > 0) {
        const r = this.#book.regions[Math.floor(rnd() * this.#book.regions.length)]!;
        await this.#read(client, router, r.id, r.key);
      }
    }
  }

  async #record<T>(client: number, router: Router, invocation: Invocation, attempt: Attempt<T>, complete: (value: T) => Completion): Promise<Completion | undefined> {
    const op: Op = this.#history.invoke(client, invocation);
    const res = await router.run(attempt, invocation.kind === "regionHeartbeat");
    if (res.outcome === "ok") {
      const c = complete(res.value);
      this.#history.ok(op, c, res.pd);
      return c;
    }
    if (res.outcome === "fail") this.#history.fail(op, res.error, res.pd);
    else this.#history.info(op, res.error);
    return undefined;
  }

  async #tso(client: number, router: Router, count: bigint): Promise<void> {
    await this.#record<TsoResponse>(client, router, { kind: "tso", count }, (c, d, done) => void c.tso({ count }, new Metadata(), { deadline: d }, done), (r) => ({
      kind: "tso",
      first: r.timestamp,
      count: r.count,
    }));
  }

  async #allocId(client: number, router: Router, count: bigint): Promise<{ first: bigint; count: bigint } | undefined> {
    const c = await this.#record<AllocIDResponse>(client, router, { kind: "allocId", count }, (cl, d, done) => void cl.allocId({ count }, new Metadata(), { deadline: d }, done), (r) => ({
      kind: "allocId",
      first: r.firstId,
      count: r.count,
    }));
    return c?.kind === "allocId" ? { first: c.first, count: c.count } : undefined;
  }

  async #heartbeat(client: number, router: Router, r: OwnedRegion): Promise<void> {
    r.confVersion++;
    const epoch: Epoch = { version: 1n, confVersion: r.confVersion };
    const region: RegionMeta = {
      id: r.id,
      startKey: enc(r.key),
      endKey: enc(`${r.key}~`),
      epochVersion: epoch.version,
      epochConfVersion: epoch.confVersion,
      peers: [{ storeId: BigInt((client % 3) + 1), peerId: r.id }],
    };
    this.#book.add(r.id, r.key);
    await this.#record<RegionHeartbeatResponse>(
      client,
      router,
      { kind: "regionHeartbeat", regionId: r.id, key: r.key, epoch },
      (c, d, done) => void c.regionHeartbeat({ region }, new Metadata(), { deadline: d }, done),
      (res) => ({ kind: "regionHeartbeat", accepted: res.accepted }),
    );
  }

  async #read(client: number, router: Router, regionId: bigint, key: string): Promise<void> {
    await this.#record<GetRegionByKeyResponse>(
      client,
      router,
      { kind: "getRegionByKey", key, regionId },
      (c, d, done) => void c.getRegionByKey({ key: enc(key) }, new Metadata(), { deadline: d }, done),
      (res) => ({
        kind: "getRegionByKey",
        found:
          res.region === undefined || res.notFound
            ? undefined
            : { regionId: res.region.id, epoch: { version: res.region.epochVersion, confVersion: res.region.epochConfVersion } },
      }),
    );
  }
}
