/**
 * A small in-test PD: a real grpc-js server on 127.0.0.1:0 serving `PDService`
 * and `PDSchedulingService` with counters and scriptable misbehaviour, for
 * the tests of pd-client and pd-adapter (part of the private `@nokv/testkit`).
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
} from "@grpc/grpc-js";
import {
  PDSchedulingService,
  PDService,
  type OperatorInfo,
  type PDSchedulingServer,
  type SchedulerInfo,
  type SchedulingConfig,
  type SetSchedulingConfigRequest,
  type AllocIDRequest,
  type AllocIDResponse,
  type GetMembersResponse,
  type GetRegionByKeyRequest,
  type GetRegionByKeyResponse,
  type PDServer,
  type RegionHeartbeatRequest,
  type RegionHeartbeatResponse,
  type RegionMeta,
  type RemoveRegionRequest,
  type RemoveRegionResponse,
  type SchedulerOperation,
  type StoreHeartbeatRequest,
  type StoreHeartbeatResponse,
  type TsoRequest,
  type TsoResponse,
} from "@nokv/pd-proto";
import { PD_ERROR_CODE_TRAILER, PD_LEADER_ADDR_TRAILER } from "@nokv/pd-model";

export type FakeMethod = (keyof PDServer & keyof typeof PDService) | SchedulingMethod;
/** The `pb.PDScheduling` methods, counted in `schedulingCalls`. */
export type SchedulingMethod = "listOperators" | "listSchedulers" | "setSchedulerPaused" | "getSchedulingConfig" | "setSchedulingConfig";
/** The methods the fake counts in `calls` (streamed Tso requests count as `tso`). */
export type CountedMethod = "storeHeartbeat" | "regionHeartbeat" | "removeRegion" | "getRegionByKey" | "allocId" | "tso";
/** Methods the fake answers but does not count in `calls`. */
export type UncountedMethod = "getMembers" | "health";

/** What the fake does with the next call(s) of one method instead of answering. */
export type Behaviour =
  | {
      readonly kind: "fail";
      readonly status: status;
      readonly pdCode?: string;
      readonly leaderAddr?: string;
      readonly details?: string;
    }
  /** Holds the call until `gate` resolves, then answers normally. */
  | { readonly kind: "hold"; readonly gate: Promise<void> };

/** Options of {@link startFakePd}. */
export interface FakePdOptions {
  /**
   * Serve `TsoStream` (default true). `false` leaves it unimplemented, as an
   * older PD: the server answers the stream with UNIMPLEMENTED.
   */
  readonly tsoStream?: boolean;
}

export interface FakePd {
  readonly addr: string;
  readonly port: number;
  /**
   * Calls received per method (every attempt counts). `tso` counts timestamp
   * requests over both transports: unary `Tso` calls plus `TsoRequest`s on
   * streams.
   */
  readonly calls: Record<CountedMethod, number>;
  /** `TsoStream` calls opened. */
  readonly tsoStreamsOpened: number;
  /** `TsoRequest`s received on streams (a part of `calls.tso`). */
  readonly tsoStreamRequests: number;
  /** Streams currently open. */
  readonly openTsoStreams: number;
  /** Requested counts of every Tso request (unary or streamed), in answer order. */
  readonly tsoCounts: bigint[];
  /** Requested counts of every AllocID call. */
  readonly allocCounts: bigint[];
  /** Store heartbeats received. */
  readonly storeHeartbeats: StoreHeartbeatRequest[];
  /** Region heartbeats received (their regions). */
  readonly regionHeartbeats: RegionMeta[];
  /** Region heartbeats received, whole: the region and what its leader reported beside it. */
  readonly regionHeartbeatRequests: RegionHeartbeatRequest[];
  /** `pb.PDScheduling` calls received per method (every attempt counts). */
  readonly schedulingCalls: Record<SchedulingMethod, number>;
  /**
   * What `pb.PDScheduling` answers: the operators in flight and ended, the
   * schedulers (`SetSchedulerPaused` finds one by its exact name, else
   * INVALID_ARGUMENT, and flips it) and the configuration
   * (`SetSchedulingConfig` applies `maxReplicas` and `defaultStoreLimit`).
   */
  scheduling: { operators: OperatorInfo[]; history: OperatorInfo[]; schedulers: SchedulerInfo[]; config: SchedulingConfig };
  /** `SetSchedulingConfig` requests received. */
  readonly schedulingChanges: SetSchedulingConfigRequest[];
  /** Next timestamp / id the allocators hand out. */
  nextTs: bigint;
  nextId: bigint;
  /** Operations every store heartbeat answers with. */
  operations: SchedulerOperation[];
  /** The region catalog GetRegionByKey searches (RegionHeartbeat upserts). */
  regions: Map<bigint, RegionMeta>;
  /** GetMembers calls received. */
  readonly getMembersCalls: number;
  /** grpc.health.v1 Check calls received. */
  readonly healthCalls: number;
  /**
   * What GetMembers answers (answered whatever the role, as PD does).
   * Default: this fake alone, as the leader.
   */
  members: GetMembersResponse | undefined;
  /** What the health service answers: 1 SERVING, 2 NOT_SERVING. */
  healthStatus: number;
  /**
   * Makes this fake a follower: every PD call (and every request on a
   * `TsoStream`) fails with UNAVAILABLE / `NOT_LEADER`, naming `leaderAddr`
   * when given, as a PD member that does not lead answers.
   */
  follow(leaderAddr?: string): void;
  /** Makes this fake serve again (the default). */
  lead(): void;
  /** Scripts the next `times` calls of `method`. */
  script(method: FakeMethod, behaviour: Behaviour, times?: number): void;
  /**
   * Holds every call of `method` until the returned release() is called
   * (`tso` holds streamed requests too).
   */
  hold(method: FakeMethod | UncountedMethod): () => void;
  /** Ends every open `TsoStream` with `code`; requests not yet answered get no answer. */
  breakTsoStreams(code?: status): void;
  close(): Promise<void>;
}

const compare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

/** Builds a wire region quickly: keys as latin1 strings, epoch `[version, confVersion]`. */
export function wireRegion(
  id: bigint,
  start: string,
  end: string,
  epoch: readonly [bigint, bigint] = [1n, 1n],
  peers: ReadonlyArray<readonly [bigint, bigint]> = [[1n, id * 10n]],
): RegionMeta {
  return {
    id,
    startKey: Buffer.from(start, "latin1"),
    endKey: Buffer.from(end, "latin1"),
    epochVersion: epoch[0],
    epochConfVersion: epoch[1],
    peers: peers.map(([storeId, peerId]) => ({ storeId, peerId })),
  };
}

/**
 * Starts the fake PD. Scripted behaviours (`script`, `hold`) of `tso` apply to
 * unary calls and streamed requests alike: a scripted failure ends the stream
 * with that status, as PD does when a request on it fails.
 */
export async function startFakePd(options: FakePdOptions = {}): Promise<FakePd> {
  const scripts = new Map<FakeMethod, Behaviour[]>();
  const server = new Server();
  const streams = new Set<(code: status) => void>();
  let following: { readonly leaderAddr: string | undefined } | undefined;
  const notLeader = (): { code: status; details: string; metadata: Metadata } => {
    const md = new Metadata();
    md.set(PD_ERROR_CODE_TRAILER, "NOT_LEADER");
    if (following?.leaderAddr !== undefined) md.set(PD_LEADER_ADDR_TRAILER, following.leaderAddr);
    return { code: status.UNAVAILABLE, details: "not the leader", metadata: md };
  };
  const fake = {
    addr: "",
    port: 0,
    getMembersCalls: 0,
    healthCalls: 0,
    members: undefined as GetMembersResponse | undefined,
    healthStatus: 1,
    follow(leaderAddr?: string): void {
      following = { leaderAddr };
    },
    lead(): void {
      following = undefined;
    },
    calls: { storeHeartbeat: 0, regionHeartbeat: 0, removeRegion: 0, getRegionByKey: 0, allocId: 0, tso: 0 } as Record<CountedMethod, number>,
    tsoStreamsOpened: 0,
    tsoStreamRequests: 0,
    get openTsoStreams(): number {
      return streams.size;
    },
    tsoCounts: [] as bigint[],
    allocCounts: [] as bigint[],
    storeHeartbeats: [] as StoreHeartbeatRequest[],
    regionHeartbeats: [] as RegionMeta[],
    regionHeartbeatRequests: [] as RegionHeartbeatRequest[],
    schedulingCalls: { listOperators: 0, listSchedulers: 0, setSchedulerPaused: 0, getSchedulingConfig: 0, setSchedulingConfig: 0 } as Record<SchedulingMethod, number>,
    scheduling: {
      operators: [] as OperatorInfo[],
      history: [] as OperatorInfo[],
      schedulers: ["balance-leader-scheduler", "balance-region-scheduler", "replica-checker"].map((name) => ({ name, paused: false })),
      config: { maxReplicas: 3, defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 15 }, storeLimits: [], pausedSchedulers: [] } as SchedulingConfig,
    },
    schedulingChanges: [] as SetSchedulingConfigRequest[],
    nextTs: 1n,
    nextId: 1n,
    operations: [] as SchedulerOperation[],
    regions: new Map<bigint, RegionMeta>(),
    script(method: FakeMethod, behaviour: Behaviour, times = 1): void {
      const q = scripts.get(method) ?? [];
      for (let i = 0; i < times; i++) q.push(behaviour);
      scripts.set(method, q);
    },
    hold(method: FakeMethod | UncountedMethod): () => void {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      holds.set(method, gate);
      return () => {
        holds.delete(method);
        release();
      };
    },
    breakTsoStreams(code: status = status.UNAVAILABLE): void {
      for (const kill of [...streams]) kill(code);
    },
    async close(): Promise<void> {
      server.forceShutdown();
    },
  };
  const holds = new Map<FakeMethod | UncountedMethod, Promise<void>>();

  /** Applies scripted behaviour; returns true when the call was answered here. */
  async function intercept<Res>(method: CountedMethod | SchedulingMethod, callback: sendUnaryData<Res>): Promise<boolean> {
    if (method in fake.schedulingCalls) fake.schedulingCalls[method as SchedulingMethod] += 1;
    else fake.calls[method as CountedMethod] += 1;
    const held = holds.get(method);
    if (held !== undefined) await held;
    if (following !== undefined) {
      callback(notLeader());
      return true;
    }
    const b = scripts.get(method)?.shift();
    if (b === undefined) return false;
    if (b.kind === "hold") {
      await b.gate;
      return false;
    }
    const md = new Metadata();
    if (b.pdCode !== undefined) md.set(PD_ERROR_CODE_TRAILER, b.pdCode);
    if (b.leaderAddr !== undefined) md.set(PD_LEADER_ADDR_TRAILER, b.leaderAddr);
    callback({ code: b.status, details: b.details ?? `scripted ${status[b.status]}`, metadata: md });
    return true;
  }

  function unary<Req, Res>(method: CountedMethod | SchedulingMethod, answer: (req: Req) => Res) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      void intercept(method, callback).then((done) => {
        if (done) return;
        try {
          callback(null, answer(call.request));
        } catch (err) {
          const md = new Metadata();
          md.set(PD_ERROR_CODE_TRAILER, "INVALID_ARGUMENT");
          callback({ code: status.INVALID_ARGUMENT, details: err instanceof Error ? err.message : String(err), metadata: md });
        }
      });
    };
  }

  const answerTso = (req: TsoRequest): TsoResponse => {
    fake.tsoCounts.push(req.count);
    const count = req.count === 0n ? 1n : req.count;
    const timestamp = fake.nextTs;
    fake.nextTs += count;
    return { timestamp, count };
  };

  /** Like PD's: answers in request order; a failure ends the stream with its status. */
  function tsoStream(call: ServerDuplexStream<TsoRequest, TsoResponse>): void {
    fake.tsoStreamsOpened += 1;
    let tail = Promise.resolve();
    let dead = false;
    const kill = (code: status, md = new Metadata(), details = `stream ended with ${status[code]}`): void => {
      if (dead) return;
      dead = true;
      streams.delete(kill);
      call.emit("error", { code, details, metadata: md });
    };
    streams.add(kill);
    call.on("data", (req: TsoRequest) => {
      fake.calls.tso += 1;
      fake.tsoStreamRequests += 1;
      const held = holds.get("tso");
      const b = scripts.get("tso")?.shift();
      tail = tail.then(async () => {
        if (held !== undefined) await held;
        if (b?.kind === "hold") await b.gate;
        if (dead) return;
        if (following !== undefined) {
          const e = notLeader();
          kill(e.code, e.metadata, e.details);
          return;
        }
        if (b?.kind === "fail") {
          const md = new Metadata();
          if (b.pdCode !== undefined) md.set(PD_ERROR_CODE_TRAILER, b.pdCode);
          if (b.leaderAddr !== undefined) md.set(PD_LEADER_ADDR_TRAILER, b.leaderAddr);
          kill(b.status, md, b.details ?? `scripted ${status[b.status]}`);
          return;
        }
        call.write(answerTso(req));
      });
    });
    call.on("end", () => {
      void tail.then(() => {
        if (dead) return;
        dead = true;
        streams.delete(kill);
        call.end();
      });
    });
    call.on("cancelled", () => {
      dead = true;
      streams.delete(kill);
    });
    call.on("error", () => {
      dead = true;
      streams.delete(kill);
    });
  }

  const impl: Partial<PDServer> = {
    storeHeartbeat: unary<StoreHeartbeatRequest, StoreHeartbeatResponse>("storeHeartbeat", (req) => {
      fake.storeHeartbeats.push(req);
      return { accepted: true, operations: fake.operations };
    }),
    regionHeartbeat: unary<RegionHeartbeatRequest, RegionHeartbeatResponse>("regionHeartbeat", (req) => {
      if (req.region === undefined) throw new Error("missing region");
      fake.regionHeartbeats.push(req.region);
      fake.regionHeartbeatRequests.push(req);
      fake.regions.set(req.region.id, req.region);
      return { accepted: true };
    }),
    removeRegion: unary<RemoveRegionRequest, RemoveRegionResponse>("removeRegion", (req) => {
      return { removed: fake.regions.delete(req.regionId) };
    }),
    getRegionByKey: unary<GetRegionByKeyRequest, GetRegionByKeyResponse>("getRegionByKey", (req) => {
      for (const r of fake.regions.values()) {
        if (compare(r.startKey, req.key) <= 0 && (r.endKey.length === 0 || compare(req.key, r.endKey) < 0)) {
          return { region: r, notFound: false };
        }
      }
      return { region: undefined, notFound: true };
    }),
    allocId: unary<AllocIDRequest, AllocIDResponse>("allocId", (req) => {
      fake.allocCounts.push(req.count);
      const count = req.count === 0n ? 1n : req.count;
      const firstId = fake.nextId;
      fake.nextId += count;
      return { firstId, count };
    }),
    tso: unary<TsoRequest, TsoResponse>("tso", answerTso),
    ...(options.tsoStream !== false && { tsoStream }),
    getMembers(_call: ServerUnaryCall<unknown, GetMembersResponse>, callback: sendUnaryData<GetMembersResponse>): void {
      fake.getMembersCalls += 1;
      const held = holds.get("getMembers");
      void (held ?? Promise.resolve()).then(() => {
        const self = { name: `fake-${fake.port}`, advertiseAddr: fake.addr, isLeader: true };
        callback(null, fake.members ?? { members: [self], leader: self });
      });
    },
  };
  server.addService(PDService, impl as PDServer);
  const sched = fake.scheduling;
  const scheduling: PDSchedulingServer = {
    listOperators: unary("listOperators", (req: { history: boolean }) => ({ operators: req.history ? sched.history : sched.operators })),
    listSchedulers: unary("listSchedulers", () => ({ schedulers: sched.schedulers })),
    setSchedulerPaused: unary("setSchedulerPaused", (req: { name: string; paused: boolean }) => {
      const s = sched.schedulers.find((x) => x.name === req.name);
      if (s === undefined) throw new Error(`unknown scheduler ${JSON.stringify(req.name)}`);
      s.paused = req.paused;
      return { scheduler: s };
    }),
    getSchedulingConfig: unary("getSchedulingConfig", () => ({ config: sched.config })),
    setSchedulingConfig: unary("setSchedulingConfig", (req: SetSchedulingConfigRequest) => {
      fake.schedulingChanges.push(req);
      sched.config = {
        ...sched.config,
        ...(req.maxReplicas !== undefined && { maxReplicas: req.maxReplicas }),
        ...(req.defaultStoreLimit !== undefined && { defaultStoreLimit: req.defaultStoreLimit }),
      };
      return { config: sched.config };
    }),
  };
  server.addService(PDSchedulingService, scheduling);
  // The standard health service, encoded by hand like the client does:
  // HealthCheckResponse { ServingStatus status = 1; }.
  server.addService(
    {
      check: {
        path: "/grpc.health.v1.Health/Check",
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      check(_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
        fake.healthCalls += 1;
        const held = holds.get("health");
        void (held ?? Promise.resolve()).then(() => callback(null, Buffer.from([0x08, fake.healthStatus])));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  fake.port = port;
  fake.addr = `127.0.0.1:${port}`;
  return fake;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
/** A loopback port nothing listens on (for "PD is down" tests). */
export { freePort as unusedPort } from "../net/free-port.js";

/**
 * Waits until `condition()` holds, polling, or throws after `timeoutMs`.
 * Synchronisation by condition, never by a fixed sleep.
 */
