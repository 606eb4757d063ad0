import { Server, setLogger } from "@grpc/grpc-js";
import {
  type Cluster,
  type ClusterPersistence,
  createCluster,
  type LivenessThresholds,
  type SchedulePolicy,
  type SchedulingLimits,
} from "@nokv/pd-core";
import { PDSchedulingService, PDService } from "@nokv/pd-proto";
import { createMemoryStore, type LocalFileStoreStats, type PdMember, type Store } from "@nokv/pd-storage";
import { type Logger, pino } from "pino";
import { createElectedLeadership, type Election, type ElectedLeadership } from "./leadership/elected-leadership.js";
import { createSoloLeadership, type Leadership } from "./leadership/leadership.js";
import { createPdMetrics, type PdMetrics } from "./metrics/metrics.js";
import { instrumentHandlers } from "./service/instrument.js";
import { type RequestLimits, resolveRequestLimits } from "./service/limits.js";
import { createPdHandlers, OpenStreams } from "./service/pd-service.js";
import { createSchedulingHandlers, instrumentSchedulingHandlers } from "./service/scheduling-service.js";
import { addHealthService, addReflectionService } from "./service/standard-services.js";
import { startStatusServer, type StatusServer } from "./status/status-server.js";
import { certificateAuthorizer, checkTlsOptions, isLoopbackHost, type PdTlsOptions, serverCredentials } from "./tls/tls.js";

/** Options of {@link createPdServer}. */
export interface PdServerOptions {
  /** `host:port` to listen on; port 0 picks a free one. Default `127.0.0.1:2379`. */
  readonly addr?: string;
  /** Persistence; default an in-memory store. The server closes it on `close()`. */
  readonly store?: Store;
  /** Lowest id to hand out (`--id-start`). Default 1. */
  readonly idStart?: bigint;
  /** Lowest timestamp to hand out (`--ts-start`). Default 1. */
  readonly tsStart?: bigint;
  /** Structured logger; default pino at level `warn` on stderr. */
  readonly logger?: Logger;
  /** How long `close()` lets in-flight calls finish before cancelling them, in ms. Default 5000. */
  readonly shutdownGraceMs?: number;
  /** Physical time the TSO ceiling runs ahead, in ms. Default 3000. */
  readonly tsoWindowMs?: number;
  /** Ids reserved per ceiling write. Default 1000. */
  readonly idWindow?: bigint;
  /** Member name reported by `GetMembers` (and, when elected, the leader key). Default `pd`. */
  readonly name?: string;
  /** `host:port` clients should dial for this member. Default: the bound address. */
  readonly advertiseAddr?: string;
  /**
   * Distributed mode: several PDs share one etcd and elect a leader. Instead
   * of `store`, give the election and how to open the (fenced) store for a
   * term; the server listens at once and serves only while it leads.
   */
  readonly elected?: ElectedModeOptions;
  /**
   * `host:port` of the HTTP status server (`--status-addr`): Prometheus
   * metrics on `/metrics` and the JSON inspection API under `/pd/api/v1`.
   * Off when absent; port 0 picks a free one. Keep it on loopback unless TLS is on.
   */
  readonly statusAddr?: string;
  /** TLS (and, with `caCert`, mutual TLS) for the gRPC port and the status port. Default plaintext. */
  readonly tls?: PdTlsOptions;
  /** Request limits; each violation is `INVALID_ARGUMENT`. Defaults in {@link DEFAULT_REQUEST_LIMITS}. */
  readonly limits?: Partial<RequestLimits>;
  /** When silent stores count as disconnected / down. Default 20 s / 30 min. */
  readonly liveness?: Partial<LivenessThresholds>;
  /**
   * Bounds of operators in flight and their step timeouts. Default: leader
   * transfers 30 s and 4 per store, TiKV's timeouts for the other steps.
   */
  readonly operators?: Partial<SchedulingLimits>;
  /** Batch sizes and thresholds of the checkers and schedulers (pd-core's `DEFAULT_SCHEDULE_POLICY`). */
  readonly schedulePolicy?: Partial<SchedulePolicy>;
  /**
   * The clocks of the cluster model: wall-clock ms (TSO, reported times) and
   * monotonic ms (liveness, operator timeouts). Default `Date.now` and
   * `performance.now`. A simulator passes virtual clocks to run hours of
   * scheduling in seconds.
   */
  readonly clock?: { readonly nowMs: () => number; readonly monotonicMs: () => number };
  /** What the scheduling cost (`pd_schedule_store_heartbeat_seconds_total`) is measured with, in ms. Default `performance.now`. */
  readonly costClock?: () => number;
  /** Record Prometheus metrics. Default: on when `statusAddr` is given. */
  readonly metrics?: boolean;
  /** Serve gRPC server reflection. Default true. */
  readonly reflection?: boolean;
}

/** The known PD members, kept by a registry such as pd-storage's `MemberRegistry`. */
export interface MemberDirectory {
  members(): readonly PdMember[];
  close(): Promise<void>;
}

/** Options of distributed (elected) mode; see {@link PdServerOptions.elected}. */
export interface ElectedModeOptions {
  readonly election: Election;
  /** Opens the store of a new term; its writes must be fenced on the term. */
  readonly openStore: () => Promise<Store>;
  /** Lease TTL in seconds. Default 2. */
  readonly leaseTtlSec?: number;
  /**
   * Registers this member once it listens (its advertise address is known
   * then) and lists the others, for `GetMembers`; closed with the server.
   */
  readonly register?: (self: PdMember) => Promise<MemberDirectory>;
  /** Told when this member starts or stops serving as the leader. */
  readonly onRoleChange?: (role: "leader" | "follower") => void;
}

/** A running PD server. */
export interface PdServer {
  /** The bound `host:port` (with the real port when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  /**
   * The cluster model being served (read-only use: inspection, tests). In
   * elected mode, the current term's; throws PdError `NOT_LEADER` while this
   * member does not lead.
   */
  readonly cluster: Cluster;
  /** What was restored from storage at start-up; undefined in elected mode (each term loads its own). */
  readonly restored: { readonly regions: number; readonly idNext: bigint; readonly tsNext: bigint } | undefined;
  /** Who serves: always this process, or the elected leader. */
  readonly leadership: Leadership;
  /** The bound status address (`host:port`), when `statusAddr` was given. */
  readonly statusAddress: string | undefined;
  /** The Prometheus metrics, when recorded. */
  readonly metrics: PdMetrics | undefined;
  /**
   * Graceful stop: refuses new calls, lets in-flight calls finish (up to the
   * grace period, then cancels them), waits for queued writes, closes the
   * store. Idempotent.
   */
  close(): Promise<void>;
}

function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(addr.trim());
  if (!m || m[1] === "") throw new Error(`invalid listen address ${JSON.stringify(addr)}: expected HOST:PORT`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in listen address ${JSON.stringify(addr)}`);
  return { host: m[1]!, port };
}

function bindReason(err: Error): string {
  if (/EADDRINUSE/.test(err.message)) return "address already in use";
  if (/EACCES/.test(err.message)) return "permission denied";
  if (/EADDRNOTAVAIL/.test(err.message)) return "address not available on this host";
  return err.message;
}

/**
 * Sends grpc-js's own diagnostics to `log` at debug level instead of raw
 * stderr lines, so a failed bind is reported once, by PD, in one line.
 */
export function routeGrpcLogs(log: Logger): void {
  setLogger({
    error: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
    warn: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
    info: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
    debug: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
  } as unknown as Console);
}

/**
 * The cluster's persistence seen through the metrics: durations and batch
 * sizes of durable writes, and one log line per allocator ceiling persisted.
 */
function observePersistence(store: Store, metrics: PdMetrics | undefined, log: Logger): ClusterPersistence {
  return {
    ...(store.appendLimit !== undefined && { appendLimit: store.appendLimit }),
    appendRegionEdits(edits) {
      const t0 = performance.now();
      return store.appendRegionEdits(edits).then(
        () => metrics?.storageAppend((performance.now() - t0) / 1000, edits.length, true),
        (err: unknown) => {
          metrics?.storageAppend(0, edits.length, false);
          throw err;
        },
      );
    },
    saveSchedulingConfig(config) {
      return store.saveSchedulingConfig(config).then(() => log.info({ config }, "scheduling config persisted"));
    },
    saveAllocatorState(state) {
      const t0 = performance.now();
      return store.saveAllocatorState(state).then(
        () => {
          const seconds = (performance.now() - t0) / 1000;
          metrics?.storageStateWrite(seconds, true);
          log.info(
            { idCeiling: state.idCurrent.toString(), tsCeiling: state.tsCurrent.toString(), ms: Math.round(seconds * 1e4) / 10 },
            "allocator ceiling persisted",
          );
        },
        (err: unknown) => {
          metrics?.storageStateWrite(0, false);
          throw err;
        },
      );
    },
  };
}

/** The counters of a backend that keeps them (the local-file store's `stats()`). */
function storageStatsOf(store: Store): (() => LocalFileStoreStats) | undefined {
  const s = store as Store & { stats?: () => LocalFileStoreStats };
  return typeof s.stats === "function" ? () => s.stats!() : undefined;
}

function leaderCluster(leadership: Leadership): Cluster | undefined {
  try {
    return leadership.serving();
  } catch {
    return undefined;
  }
}

/**
 * Starts PD: loads the store's snapshot into a cluster model, binds the gRPC
 * service `pb.PD` on `addr` and serves (with the standard health and
 * reflection services beside it), and the status server on `statusAddr`. Rejects (closing the store) when the
 * snapshot is unusable or the address cannot be bound; the message names it.
 */
export async function createPdServer(options: PdServerOptions = {}): Promise<PdServer> {
  const log = options.logger ?? pino({ level: "warn" });
  if (options.elected !== undefined && options.store !== undefined) {
    throw new Error("createPdServer: give either `store` or `elected`, not both");
  }
  const store = options.elected === undefined ? (options.store ?? createMemoryStore()) : undefined;
  const addr = options.addr ?? "127.0.0.1:2379";
  let server: Server | undefined;
  let status: StatusServer | undefined;
  let elected: ElectedLeadership | undefined;
  let directory: MemberDirectory | undefined;
  try {
    const { host } = splitHostPort(addr);
    const statusHost = options.statusAddr === undefined ? undefined : splitHostPort(options.statusAddr);
    const limits = resolveRequestLimits(options.limits);
    if (options.tls !== undefined) checkTlsOptions(options.tls);
    let leadership: Leadership | undefined;
    const storageStats = store === undefined ? undefined : storageStatsOf(store);
    const metrics =
      (options.metrics ?? options.statusAddr !== undefined)
        ? createPdMetrics({
            cluster: () => (leadership === undefined ? undefined : leaderCluster(leadership)),
            isLeader: () => leadership !== undefined && leaderCluster(leadership) !== undefined,
            ...(storageStats !== undefined && { storageStats }),
          })
        : undefined;
    const clusterOptions = {
      ...(options.idStart !== undefined && { idStart: options.idStart }),
      ...(options.tsStart !== undefined && { tsStart: options.tsStart }),
      ...(options.tsoWindowMs !== undefined && { tsoWindowMs: options.tsoWindowMs }),
      ...(options.idWindow !== undefined && { idWindow: options.idWindow }),
      onBackgroundError: (err: unknown) => log.warn({ err }, "background allocator checkpoint failed; the next allocation retries it"),
      maxIdCount: limits.maxIdCount,
      maxTsoCount: limits.maxTsoCount,
      ...(options.liveness !== undefined && { liveness: options.liveness }),
      ...(options.operators !== undefined && { operators: options.operators }),
      ...(options.schedulePolicy !== undefined && { schedulePolicy: options.schedulePolicy }),
      ...(options.clock !== undefined && { nowMs: options.clock.nowMs, monotonicMs: options.clock.monotonicMs }),
      ...(options.costClock !== undefined && { costClock: options.costClock }),
    };
    let boundAddr = options.advertiseAddr ?? addr;
    // An elected member without a name is named after its address, unique in the cluster.
    let name = options.name ?? (options.elected === undefined ? "pd" : addr);
    let restored: PdServer["restored"];
    let lead: Leadership;
    if (store !== undefined) {
      const snapshot = await store.load();
      const cluster = createCluster({ ...clusterOptions, persistence: observePersistence(store, metrics, log), snapshot });
      restored = { regions: cluster.regions.size, idNext: cluster.ids.next, tsNext: cluster.tso.last + 1n };
      log.info(
        {
          storage: store.description,
          regions: restored.regions,
          duplicatePeerRegions: cluster.regions.duplicatePeerRegions,
          idNext: restored.idNext.toString(),
          tsNext: restored.tsNext.toString(),
        },
        "restored",
      );
      lead = createSoloLeadership({ cluster, name, advertiseAddr: () => boundAddr });
    } else {
      const mode = options.elected!;
      elected = createElectedLeadership({
        election: mode.election,
        self: {
          get name() {
            return name;
          },
          get advertiseAddr() {
            return boundAddr;
          },
        },
        openStore: mode.openStore,
        observe: (s) => observePersistence(s, metrics, log),
        cluster: clusterOptions,
        log,
        ...(mode.leaseTtlSec !== undefined && { leaseTtlSec: mode.leaseTtlSec }),
        peers: () => directory?.members() ?? [],
        ...(mode.onRoleChange !== undefined && { onRoleChange: mode.onRoleChange }),
      });
      lead = elected;
    }
    leadership = lead;
    const streams = new OpenStreams();
    server = new Server({ "grpc.max_receive_message_length": limits.maxMessageBytes });
    const authorize = certificateAuthorizer(options.tls?.allowedCNs);
    server.addService(
      PDService,
      instrumentHandlers(createPdHandlers({ leadership: lead, log, limits, streams, ...(metrics !== undefined && { metrics }) }), {
        limits,
        log,
        ...(metrics !== undefined && { metrics }),
        ...(authorize !== undefined && { authorize }),
      }),
    );
    server.addService(
      PDSchedulingService,
      instrumentSchedulingHandlers(createSchedulingHandlers({ leadership: lead, log }), {
        ...(metrics !== undefined && { metrics }),
        ...(authorize !== undefined && { authorize }),
      }),
    );
    const health = addHealthService(server);
    if (options.reflection !== false) addReflectionService(server);
    const s = server;
    const port = await new Promise<number>((resolve, reject) =>
      s.bindAsync(addr, serverCredentials(options.tls), (err, p) => (err ? reject(new Error(`cannot listen on ${addr}: ${bindReason(err)}`)) : resolve(p))),
    );
    const address = `${host}:${port}`;
    if (options.advertiseAddr === undefined) boundAddr = address;
    if (options.name === undefined && options.elected !== undefined) name = boundAddr;
    // Register and campaign only once clients can reach the address the leader key will name.
    if (options.elected?.register !== undefined) {
      directory = await options.elected.register({ name, advertiseAddr: boundAddr });
    }
    elected?.start();
    if (options.tls === undefined && !isLoopbackHost(host)) {
      log.warn({ addr: address }, "listening on a non-loopback address without TLS: anyone who can reach it can call PD (use --cert/--key/--cacert)");
    }
    let stopping = false;
    if (statusHost !== undefined) {
      status = await startStatusServer(statusHost, {
        leadership: lead,
        metrics: metrics!,
        limits,
        log,
        name,
        stopping: () => stopping,
        ...(options.tls !== undefined && { tls: options.tls }),
      }).catch((err: Error) => {
        throw new Error(`cannot listen on status address ${options.statusAddr}: ${bindReason(err)}`);
      });
      if (options.tls === undefined && !isLoopbackHost(statusHost.host)) {
        log.warn({ statusAddr: status.address }, "status server on a non-loopback address without TLS");
      }
      log.info({ statusAddr: status.address }, "status server listening");
    }
    // Health follows leadership: a member that may not serve reports NOT_SERVING.
    const healthTimer = setInterval(() => health.set(!stopping && leaderCluster(lead) !== undefined), 1000);
    healthTimer.unref();
    const statusServer = status;
    const graceMs = options.shutdownGraceMs ?? 5000;
    let closing: Promise<void> | undefined;
    return {
      address,
      port,
      get cluster() {
        return lead.serving();
      },
      restored,
      leadership: lead,
      statusAddress: statusServer?.address,
      metrics,
      close() {
        closing ??= (async () => {
          stopping = true;
          clearInterval(healthTimer);
          health.set(false);
          // Long-lived timestamp streams would hold the shutdown for the whole grace period.
          streams.endAll();
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              s.forceShutdown();
              resolve();
            }, graceMs);
            s.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          });
          await statusServer?.close();
          if (elected !== undefined) {
            await directory?.close();
            await elected.close();
          } else {
            await leaderCluster(lead)?.flush();
            await store!.close();
          }
          metrics?.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    server?.forceShutdown();
    await status?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await directory?.close().catch(() => undefined);
    await elected?.close().catch(() => undefined);
    throw err;
  }
}
