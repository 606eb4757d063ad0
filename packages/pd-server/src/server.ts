import { Server, setLogger } from "@grpc/grpc-js";
import { type Cluster, type ClusterPersistence, createCluster, type Leadership, type LeadershipHost, type RestoredState } from "@nokv/pd-core";
import { loadDashboardAssets } from "@nokv/pd-dashboard";
import { PDSchedulingService, PDService } from "@nokv/pd-proto";
import type { LocalFileStoreStats, Store } from "@nokv/pd-storage";
import type { SchedulingConfig } from "@nokv/pd-model";
import { type Logger, pino } from "pino";
import { clusterConfigOf, type PdServerConfig, type PdServerSettings, resolvePdServerConfig, splitHostPort } from "./config/server-config.js";
import { readActivityCounters } from "./dashboard/activity.js";
import { RegionJournal } from "./dashboard/region-journal.js";
import { StatusHistory } from "./dashboard/status-history.js";
import { createSoloLeadership } from "./leadership/solo-leadership.js";
import { createPdMetrics, type PdMetrics } from "./metrics/metrics.js";
import { instrumentHandlers } from "./service/instrument.js";
import { createPdHandlers, OpenStreams } from "./service/pd-service.js";
import { logRepeated } from "./service/repeat-log.js";
import { createSchedulingHandlers, instrumentSchedulingHandlers } from "./service/scheduling-service.js";
import { addHealthService, addReflectionService } from "./service/standard-services.js";
import { startStatusServer, type StatusServer } from "./status/status-server.js";
import { certificateAuthorizer, isLoopbackHost, serverCredentials } from "./tls/tls.js";

/**
 * Options of {@link createPdServer}: the server's settings (see
 * {@link PdServerSettings}; a resolved {@link PdServerConfig} will do) and
 * who it serves through.
 */
export interface PdServerOptions extends PdServerSettings {
  /**
   * Who may serve, and with which cluster model: a single PD over a store
   * ({@link createSoloLeadership}) or an elected member (`@nokv/pd-etcd`'s
   * `createElectedMember`). The server owns it: it opens it before
   * listening, starts it once it listens, and closes it on `close()` or a
   * failed start. Default: a single PD over `store`, named `name`.
   */
  readonly leadership?: Leadership;
  /**
   * Shorthand for `leadership: createSoloLeadership({ store, name, advertiseAddr })`:
   * persistence of a single PD; default an in-memory store. The server closes
   * it on `close()`. Not together with `leadership`.
   */
  readonly store?: Store;
  /** With `store`: the member name reported by `GetMembers`. Default `pd`. Not together with `leadership`. */
  readonly name?: string;
  /** With `store`: the `host:port` clients should dial for this member. Default: the bound address. Not together with `leadership`. */
  readonly advertiseAddr?: string;
  /** Structured logger; default pino at level `warn` on stderr. */
  readonly logger?: Logger;
  /**
   * The clocks of the cluster models: wall-clock ms (TSO, reported times) and
   * monotonic ms (liveness, operator timeouts). Default `Date.now` and
   * `performance.now`. A simulator passes virtual clocks to run hours of
   * scheduling in seconds.
   */
  readonly clock?: { readonly nowMs: () => number; readonly monotonicMs: () => number };
  /**
   * What the scheduling cost (`pd_schedule_store_heartbeat_seconds_total`)
   * is measured with, in ms; observation only. Default `performance.now`.
   */
  readonly costClock?: () => number;
}

/** A running PD server. */
export interface PdServer {
  /** The bound `host:port` (with the real port when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  /**
   * The cluster model being served (read-only use: inspection, tests): the
   * leadership's `serving()`; for an elected member the current term's, and
   * PdError `NOT_LEADER` while it does not lead.
   */
  readonly cluster: Cluster;
  /** What the leadership restored before the server listened; undefined for an elected member (each term loads its own). */
  readonly restored: RestoredState | undefined;
  /** Who serves: the leadership given (or made from `store`). */
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
 * `metrics` is read per write: the metrics are created once the leadership
 * is open (they sample the storage it restored from).
 */
function observePersistence(persistence: ClusterPersistence, metrics: () => PdMetrics | undefined, log: Logger, journal: RegionJournal): ClusterPersistence {
  return {
    ...(persistence.appendLimit !== undefined && { appendLimit: persistence.appendLimit }),
    appendRegionEdits(edits) {
      const t0 = performance.now();
      return persistence.appendRegionEdits(edits).then(
        () => {
          metrics()?.storageAppend((performance.now() - t0) / 1000, edits.length, true);
          // Durable now; the catalog applies the edits right after this (same task).
          journal.record(edits);
        },
        (err: unknown) => {
          metrics()?.storageAppend(0, edits.length, false);
          throw err;
        },
      );
    },
    ...(persistence.saveSchedulingConfig !== undefined && {
      saveSchedulingConfig(config: SchedulingConfig) {
        return persistence.saveSchedulingConfig!(config).then(() =>
          log.info(
            {
              maxReplicas: config.maxReplicas,
              defaultStoreLimit: config.defaultStoreLimit,
              storeLimits: config.storeLimits.length,
              pausedSchedulers: config.pausedSchedulers,
            },
            "scheduling config persisted",
          ),
        );
      },
    }),
    saveAllocatorState(state) {
      const t0 = performance.now();
      return persistence.saveAllocatorState(state).then(
        () => {
          const seconds = (performance.now() - t0) / 1000;
          metrics()?.storageStateWrite(seconds, true);
          log.info(
            { idCeiling: state.idCurrent.toString(), tsCeiling: state.tsCurrent.toString(), ms: Math.round(seconds * 1e4) / 10 },
            "allocator ceiling persisted",
          );
        },
        (err: unknown) => {
          metrics()?.storageStateWrite(0, false);
          throw err;
        },
      );
    },
  };
}

/**
 * The counters of a backend that keeps the local-file store's (`stats()`
 * with `logSyncs` and friends); undefined for any other persistence.
 */
function storageStatsOf(persistence: ClusterPersistence | undefined): (() => LocalFileStoreStats) | undefined {
  const s = persistence as (ClusterPersistence & { stats?: () => Partial<LocalFileStoreStats> }) | undefined;
  if (typeof s?.stats !== "function" || typeof s.stats().logSyncs !== "number") return undefined;
  return () => s.stats!() as LocalFileStoreStats;
}

function leaderCluster(leadership: Leadership): Cluster | undefined {
  try {
    return leadership.serving();
  } catch {
    return undefined;
  }
}

/**
 * Starts PD: opens the leadership (a single PD loads its store's snapshot
 * into a cluster model here), binds the gRPC service `pb.PD` on `addr` and
 * serves it (with the standard health and reflection services beside it),
 * starts the leadership (an elected member registers and campaigns), and the
 * status server on `statusAddr`. Rejects, closing the leadership, when the
 * options or the snapshot are unusable or an address cannot be bound; the
 * message names it.
 */
export async function createPdServer(options: PdServerOptions = {}): Promise<PdServer> {
  const log = options.logger ?? pino({ level: "warn" });
  if (options.leadership !== undefined && (options.store !== undefined || options.name !== undefined || options.advertiseAddr !== undefined)) {
    throw new Error("createPdServer: `store`, `name` and `advertiseAddr` describe a single PD; with `leadership`, give them to the leadership instead");
  }
  const leadership =
    options.leadership ?? createSoloLeadership({ store: options.store, name: options.name, advertiseAddr: options.advertiseAddr });
  let server: Server | undefined;
  let status: StatusServer | undefined;
  const startedMonoMs = performance.now();
  const startedWallMs = Date.now();
  try {
    // Every setting is defaulted and checked here, once; below, only `config` is read.
    const config: PdServerConfig = resolvePdServerConfig(options);
    const { addr, limits, tls } = config;
    const { host } = splitHostPort(addr);
    const statusHost = config.statusAddr === undefined ? undefined : splitHostPort(config.statusAddr);
    const cluster = clusterConfigOf(config);
    const onBackgroundError = (err: unknown) =>
      logRepeated(log, "warn", "background-checkpoint", { err: err instanceof Error ? err.message : String(err) }, "background allocator checkpoint failed; the next allocation retries it");
    let metrics: PdMetrics | undefined;
    // The persistence a leadership builds its cluster on while opening (a
    // single PD's store): the one whose counters the metrics sample.
    let opening = true;
    let openedWith: ClusterPersistence | undefined;
    // The status page's region feed, one per cluster model (an elected member builds one per term).
    const journals = new WeakMap<Cluster, RegionJournal>();
    const leadershipHost: LeadershipHost = {
      createCluster(snapshot, persistence) {
        if (opening) openedWith = persistence;
        const journal = new RegionJournal();
        const model = createCluster({
          ...cluster,
          onBackgroundError,
          persistence: observePersistence(persistence, () => metrics, log, journal),
          snapshot,
          ...(options.clock !== undefined && { nowMs: options.clock.nowMs, monotonicMs: options.clock.monotonicMs }),
          ...(options.costClock !== undefined && { costClock: options.costClock }),
        });
        journals.set(model, journal);
        return model;
      },
    };
    const restored = await leadership.open(leadershipHost);
    opening = false;
    if (restored !== undefined) {
      log.info(
        {
          storage: restored.storage,
          regions: restored.regions,
          duplicatePeerRegions: restored.duplicatePeerRegions,
          idNext: restored.idNext.toString(),
          tsNext: restored.tsNext.toString(),
        },
        "restored",
      );
    }
    // Storage counters come from what a single PD restored; an elected
    // member's stores change with every term.
    const storageStats = restored === undefined ? undefined : storageStatsOf(openedWith);
    metrics = config.metrics
      ? createPdMetrics({
          cluster: () => leaderCluster(leadership),
          isLeader: () => leaderCluster(leadership) !== undefined,
          ...(storageStats !== undefined && { storageStats }),
        })
      : undefined;
    const streams = new OpenStreams();
    server = new Server({ "grpc.max_receive_message_length": limits.maxMessageBytes });
    const authorize = certificateAuthorizer(tls?.allowedCNs);
    const m = metrics;
    // The status page's memory (samples): only with a status port.
    const history =
      statusHost === undefined
        ? undefined
        : new StatusHistory({
            cluster: () => leaderCluster(leadership),
            counters: m === undefined ? undefined : () => readActivityCounters(m.registry),
          });
    const handlers = createPdHandlers({ leadership, log, limits, streams, ...(metrics !== undefined && { metrics }) });
    server.addService(
      PDService,
      instrumentHandlers(handlers, {
        limits,
        log,
        ...(metrics !== undefined && { metrics }),
        ...(authorize !== undefined && { authorize }),
      }),
    );
    server.addService(
      PDSchedulingService,
      instrumentSchedulingHandlers(createSchedulingHandlers({ leadership, log }), {
        ...(metrics !== undefined && { metrics }),
        ...(authorize !== undefined && { authorize }),
      }),
    );
    const health = addHealthService(server);
    if (config.reflection) addReflectionService(server);
    const s = server;
    const port = await new Promise<number>((resolve, reject) =>
      s.bindAsync(addr, serverCredentials(tls), (err, p) => (err ? reject(new Error(`cannot listen on ${addr}: ${bindReason(err)}`)) : resolve(p))),
    );
    const address = `${host}:${port}`;
    // Register and campaign only once clients can reach the address the leader key will name.
    await leadership.start(address);
    if (tls === undefined && !isLoopbackHost(host)) {
      log.warn({ addr: address }, "listening on a non-loopback address without TLS: anyone who can reach it can call PD (use --cert/--key/--cacert)");
    }
    let stopping = false;
    if (statusHost !== undefined && history !== undefined) {
      const assets = loadDashboardAssets();
      assets.catch((err: unknown) => log.warn({ err }, "status page unavailable: its assets could not be read"));
      status = await startStatusServer(statusHost, {
        leadership,
        metrics,
        limits,
        log,
        name: leadership.name,
        stopping: () => stopping,
        tls,
        dashboard: { leadership, history, journalOf: (c) => journals.get(c), assets, startedMonoMs, startedWallMs },
      }).catch((err: Error) => {
        throw new Error(`cannot listen on status address ${config.statusAddr}: ${bindReason(err)}`);
      });
      if (tls === undefined && !isLoopbackHost(statusHost.host)) {
        log.warn({ statusAddr: status.address }, "status server on a non-loopback address without TLS");
      }
      log.info({ statusAddr: status.address }, "status server listening");
      history.start();
    }
    const statusHistory = history;
    // Health follows leadership: a member that may not serve reports NOT_SERVING.
    const healthTimer = setInterval(() => health.set(!stopping && leaderCluster(leadership) !== undefined), 1000);
    healthTimer.unref();
    const statusServer = status;
    const graceMs = config.shutdownGraceMs;
    let closing: Promise<void> | undefined;
    return {
      address,
      port,
      get cluster() {
        return leadership.serving();
      },
      restored,
      leadership,
      statusAddress: statusServer?.address,
      metrics,
      close() {
        closing ??= (async () => {
          stopping = true;
          clearInterval(healthTimer);
          statusHistory?.stop();
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
          await leadership.close();
          metrics?.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    server?.forceShutdown();
    await status?.close().catch(() => undefined);
    await leadership.close().catch(() => undefined);
    throw err;
  }
}
