import { type ClusterConfig, type ClusterConfigOptions, type LivenessThresholds, resolveClusterConfig, type SchedulePolicy, type SchedulingLimits } from "@nokv/pd-core";
import { type RequestLimits, resolveRequestLimits } from "../service/limits.js";
import { checkTlsOptions, type PdTlsOptions } from "../tls/tls.js";

/** Where PD listens when no address is given (NoKV's Go PD's default). */
export const DEFAULT_LISTEN_ADDR = "127.0.0.1:2379";
/** How long `close()` lets in-flight calls finish when no grace period is given, in ms. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;

/**
 * The server's settings as a caller gives them: any subset. A field that is
 * absent or `undefined` takes its default, so a caller passes what it has
 * (`idStart: flags.idStart`) without spreading conditionally.
 */
export interface PdServerSettings {
  /** `host:port` to listen on; port 0 picks a free one. Default {@link DEFAULT_LISTEN_ADDR}. */
  readonly addr?: string | undefined;
  /**
   * `host:port` of the HTTP status server (`--status-addr`): Prometheus
   * metrics on `/metrics` and the JSON inspection API under `/pd/api/v1`.
   * Off when absent; port 0 picks a free one. Keep it on loopback unless TLS is on.
   */
  readonly statusAddr?: string | undefined;
  /** TLS (and, with `caCert`, mutual TLS) for the gRPC port and the status port. Default plaintext. */
  readonly tls?: PdTlsOptions | undefined;
  /** Request limits; each violation is `INVALID_ARGUMENT`. Defaults in `DEFAULT_REQUEST_LIMITS`. */
  readonly limits?: { readonly [K in keyof RequestLimits]?: RequestLimits[K] | undefined } | undefined;
  /** Lowest id to hand out (`--id-start`). Default 1. */
  readonly idStart?: bigint | undefined;
  /** Lowest timestamp to hand out (`--ts-start`). Default 1. */
  readonly tsStart?: bigint | undefined;
  /** Physical time the TSO ceiling runs ahead, in ms. Default 3000. */
  readonly tsoWindowMs?: number | undefined;
  /** Ids reserved per ceiling write. Default 1000. */
  readonly idWindow?: bigint | undefined;
  /** When silent stores count as disconnected / down. Default 20 s / 30 min. */
  readonly liveness?: Partial<LivenessThresholds> | undefined;
  /**
   * Bounds of operators in flight and their step timeouts. Default: leader
   * transfers 30 s and 4 per store, TiKV's timeouts for the other steps
   * (pd-core's `DEFAULT_SCHEDULING_LIMITS`).
   */
  readonly operators?: ClusterConfigOptions["operators"];
  /** Batch sizes and thresholds of the checkers and schedulers (pd-core's `DEFAULT_SCHEDULE_POLICY`). */
  readonly schedulePolicy?: ClusterConfigOptions["schedulePolicy"];
  /** Record Prometheus metrics. Default: on when `statusAddr` is given. */
  readonly metrics?: boolean | undefined;
  /** Serve gRPC server reflection. Default true. */
  readonly reflection?: boolean | undefined;
  /** How long `close()` lets in-flight calls finish before cancelling them, in ms. Default {@link DEFAULT_SHUTDOWN_GRACE_MS}. */
  readonly shutdownGraceMs?: number | undefined;
}

/**
 * The server's configuration, complete: every default filled in and every
 * value checked, once, by {@link resolvePdServerConfig}. It is itself a
 * valid {@link PdServerSettings} (resolving it again returns an equal one),
 * so a caller that resolved it early — to fail before opening storage, as
 * `pd-cli` does — passes it to `createPdServer` as it is.
 */
export interface PdServerConfig {
  readonly addr: string;
  /** Off when undefined. */
  readonly statusAddr: string | undefined;
  /** Plaintext when undefined. */
  readonly tls: PdTlsOptions | undefined;
  readonly limits: RequestLimits;
  readonly idStart: bigint;
  readonly tsStart: bigint;
  readonly tsoWindowMs: number;
  readonly idWindow: bigint;
  readonly liveness: LivenessThresholds;
  readonly operators: SchedulingLimits;
  readonly schedulePolicy: SchedulePolicy;
  readonly metrics: boolean;
  readonly reflection: boolean;
  readonly shutdownGraceMs: number;
}

/**
 * Splits `host:port`.
 *
 * @throws Error naming the address when it is not `HOST:PORT` with a port in 0–65535.
 */
export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(addr.trim());
  if (!m || m[1] === "") throw new Error(`invalid listen address ${JSON.stringify(addr)}: expected HOST:PORT`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in listen address ${JSON.stringify(addr)}`);
  return { host: m[1]!, port };
}

/**
 * Fills in the defaults of `settings` and checks everything: the addresses,
 * the TLS options, the request limits and the cluster model's settings
 * (through pd-core's `resolveClusterConfig`, with the request caps as the
 * allocators' caps, so the two can never disagree).
 *
 * @throws Error naming a bad address or TLS combination; RangeError naming a
 *   bad limit or cluster setting.
 */
export function resolvePdServerConfig(settings: PdServerSettings = {}): PdServerConfig {
  const addr = settings.addr ?? DEFAULT_LISTEN_ADDR;
  splitHostPort(addr);
  if (settings.statusAddr !== undefined) splitHostPort(settings.statusAddr);
  if (settings.tls !== undefined) checkTlsOptions(settings.tls);
  const limits = resolveRequestLimits(settings.limits);
  const cluster = resolveClusterConfig({
    idStart: settings.idStart,
    tsStart: settings.tsStart,
    tsoWindowMs: settings.tsoWindowMs,
    idWindow: settings.idWindow,
    maxIdCount: limits.maxIdCount,
    maxTsoCount: limits.maxTsoCount,
    liveness: settings.liveness,
    operators: settings.operators,
    schedulePolicy: settings.schedulePolicy,
  });
  const shutdownGraceMs = settings.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  if (!(Number.isFinite(shutdownGraceMs) && shutdownGraceMs >= 0)) {
    throw new RangeError(`shutdownGraceMs must be a number >= 0, got ${shutdownGraceMs}`);
  }
  return {
    addr,
    statusAddr: settings.statusAddr,
    tls: settings.tls,
    limits,
    idStart: cluster.idStart,
    tsStart: cluster.tsStart,
    tsoWindowMs: cluster.tsoWindowMs,
    idWindow: cluster.idWindow,
    liveness: cluster.liveness,
    operators: cluster.operators,
    schedulePolicy: cluster.schedulePolicy,
    metrics: settings.metrics ?? settings.statusAddr !== undefined,
    reflection: settings.reflection ?? true,
    shutdownGraceMs,
  };
}

/** The cluster model's part of a server configuration (its caps are the request limits). */
export function clusterConfigOf(config: PdServerConfig): ClusterConfig {
  return {
    idStart: config.idStart,
    tsStart: config.tsStart,
    tsoWindowMs: config.tsoWindowMs,
    idWindow: config.idWindow,
    maxIdCount: config.limits.maxIdCount,
    maxTsoCount: config.limits.maxTsoCount,
    liveness: config.liveness,
    operators: config.operators,
    schedulePolicy: config.schedulePolicy,
  };
}
