import { readFile } from "node:fs/promises";
import { loadConfig, parseScope, resolvePdAddr, resolvePdWorkDir } from "@nokv/nokv-config";
import { createPdServer, type PdServer, type PdTlsOptions } from "@nokv/pd-server";
import {
  createLeaderElection,
  createMemberRegistry,
  createMemoryStore,
  describeRecovery,
  openEtcdStore,
  openLocalFileStore,
  type Store,
} from "@nokv/pd-storage";
import type { Logger } from "pino";
import { DEFAULT_PD_ADDR } from "../defaults.js";

/** Flags of `pd-cli pd` after parsing; `undefined` = not given on the command line. */
export interface PdCommandOptions {
  readonly addr?: string;
  readonly workdir?: string;
  readonly idStart?: bigint;
  readonly tsStart?: bigint;
  /** `--recover-missing-state`: accept a workdir whose PD_STATE.json is gone (see the local-file store). */
  readonly recoverMissingState?: boolean;
  /** `--compact-min-bytes`: the local-file store's compaction threshold (advanced; small values exercise compaction). */
  readonly compactMinBytes?: number;
  readonly config?: string;
  readonly scope: string;
  /** `--status-addr`: metrics and the inspection API; off when absent. */
  readonly statusAddr?: string;
  /** `--cacert`, `--cert`, `--key`: PEM files. */
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  /** `--cert-allowed-cn` (repeatable, or comma-separated). */
  readonly certAllowedCn?: readonly string[];
  readonly maxMessageBytes?: number;
  readonly maxKeyBytes?: number;
  readonly storeDisconnectedAfterMs?: number;
  readonly storeDownAfterMs?: number;
  readonly transferTimeoutMs?: number;
  readonly maxTransfersPerStore?: number;
  /** etcd client URLs, comma-separated: distributed mode. */
  readonly etcd?: string;
  readonly clusterId?: string;
  readonly name?: string;
  readonly advertiseAddr?: string;
  readonly leaseTtl?: number;
}

async function readPem(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
}

/**
 * The server's TLS settings from the flags: none without `--cert`/`--key`;
 * `--cacert` makes TLS mutual; `--cert-allowed-cn` needs `--cacert`.
 *
 * @throws Error naming the flag that is missing or unreadable.
 */
export async function serverTlsFromFlags(opts: PdCommandOptions): Promise<PdTlsOptions | undefined> {
  const cns = (opts.certAllowedCn ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  if (opts.cert === undefined && opts.key === undefined) {
    if (opts.cacert !== undefined || cns.length > 0) throw new Error("--cacert and --cert-allowed-cn need --cert and --key");
    return undefined;
  }
  if (opts.cert === undefined || opts.key === undefined) throw new Error("--cert and --key go together");
  if (cns.length > 0 && opts.cacert === undefined) throw new Error("--cert-allowed-cn needs --cacert (client certificates are only asked for with a CA)");
  const [cert, key, caCert] = await Promise.all([
    readPem("--cert", opts.cert),
    readPem("--key", opts.key),
    opts.cacert === undefined ? undefined : readPem("--cacert", opts.cacert),
  ]);
  return { cert, key, ...(caCert !== undefined && { caCert }), ...(cns.length > 0 && { allowedCNs: cns }) };
}

/** Where PD will listen and keep its state once flags and config are merged. */
export interface ResolvedPdSettings {
  readonly addr: string;
  readonly workdir: string | undefined;
}

export { DEFAULT_PD_ADDR };

/**
 * Merges flags with `raft_config.json`: a flag given on the command line
 * wins; otherwise the config's value for the scope; otherwise the default.
 */
export async function resolvePdSettings(opts: PdCommandOptions): Promise<ResolvedPdSettings> {
  const scope = parseScope(opts.scope);
  if (opts.config === undefined) return { addr: opts.addr ?? DEFAULT_PD_ADDR, workdir: opts.workdir };
  const cfg = await loadConfig(opts.config);
  return {
    addr: opts.addr ?? resolvePdAddr(cfg, scope) ?? DEFAULT_PD_ADDR,
    workdir: opts.workdir ?? resolvePdWorkDir(cfg, scope),
  };
}

/**
 * Runs `pd-cli pd`: opens the store (`--workdir` → local-file, else memory),
 * starts the server and prints what it restored and where it listens.
 * Resolves with the running server; the caller stops it on a signal.
 */
export async function startPd(opts: PdCommandOptions, log: Logger, out: (line: string) => void): Promise<PdServer> {
  const settings = await resolvePdSettings(opts);
  const tls = await serverTlsFromFlags(opts);
  if (opts.etcd !== undefined) return startElectedPd(opts, settings, tls, log, out);
  let store: Store;
  if (settings.workdir !== undefined && settings.workdir.trim() !== "") {
    const local = await openLocalFileStore({
      dir: settings.workdir,
      log,
      ...(opts.recoverMissingState === true && { recoverMissingState: true }),
      ...(opts.compactMinBytes !== undefined && { compactMinBytes: opts.compactMinBytes }),
    });
    // What the open repaired or took over is said on stdout, beside what was restored.
    for (const line of describeRecovery(local.recovery)) {
      out(`PD-lite recovery: ${line}`);
      log.warn({ workdir: settings.workdir }, `recovery: ${line}`);
    }
    store = local;
  } else {
    store = createMemoryStore();
  }
  const server = await createPdServer({
    ...serverOptions(opts, settings, tls, log),
    store,
  });
  const r = server.restored!;
  if (settings.workdir === undefined || settings.workdir.trim() === "") {
    log.warn("no --workdir: the region catalog and allocator ceilings live in memory only; after a restart ids and timestamps start again from --id-start/--ts-start");
  }
  out(`PD-lite storage: ${store.description}`);
  out(`PD-lite restored ${r.regions} region(s); allocator starts: id=${r.idNext} ts=${r.tsNext}`);
  out(`PD-lite service listening on ${server.address}${tls === undefined ? "" : tls.caCert === undefined ? " (TLS)" : " (mutual TLS)"}`);
  if (server.statusAddress !== undefined) {
    out(`PD-lite status (metrics, /pd/api/v1) on ${tls === undefined ? "http" : "https"}://${server.statusAddress}`);
  }
  log.info(
    {
      addr: server.address,
      statusAddr: server.statusAddress,
      tls: tls === undefined ? "off" : tls.caCert === undefined ? "server" : "mutual",
      storage: store.description,
      regions: r.regions,
      idStart: r.idNext.toString(),
      tsStart: r.tsNext.toString(),
    },
    "pd started",
  );
  return server;
}

/** The server options both modes share, from flags. */
function serverOptions(opts: PdCommandOptions, settings: ResolvedPdSettings, tls: PdTlsOptions | undefined, log: Logger) {
  return {
    addr: settings.addr,
    logger: log,
    ...(opts.name !== undefined && { name: opts.name }),
    ...(opts.advertiseAddr !== undefined && { advertiseAddr: opts.advertiseAddr }),
    ...(opts.idStart !== undefined && { idStart: opts.idStart }),
    ...(opts.tsStart !== undefined && { tsStart: opts.tsStart }),
    ...(opts.statusAddr !== undefined && { statusAddr: opts.statusAddr }),
    ...(tls !== undefined && { tls }),
    limits: {
      ...(opts.maxMessageBytes !== undefined && { maxMessageBytes: opts.maxMessageBytes }),
      ...(opts.maxKeyBytes !== undefined && { maxKeyBytes: opts.maxKeyBytes }),
    },
    liveness: {
      ...(opts.storeDisconnectedAfterMs !== undefined && { disconnectedAfterMs: opts.storeDisconnectedAfterMs }),
      ...(opts.storeDownAfterMs !== undefined && { downAfterMs: opts.storeDownAfterMs }),
    },
    operators: {
      ...(opts.transferTimeoutMs !== undefined && { transferTimeoutMs: opts.transferTimeoutMs }),
      ...(opts.maxTransfersPerStore !== undefined && { maxInFlightPerStore: opts.maxTransfersPerStore }),
    },
  };
}

/** Parses `--etcd`: comma-separated `http://host:port` client URLs. */
export function parseEtcdEndpoints(value: string): string[] {
  const urls = value.split(",").map((v) => v.trim()).filter((v) => v !== "");
  if (urls.length === 0) throw new Error("--etcd needs at least one URL, e.g. http://127.0.0.1:2379");
  for (const u of urls) {
    if (!/^https?:\/\/[^/\s]+:\d+\/?$/.test(u)) throw new Error(`--etcd: ${JSON.stringify(u)} is not an etcd client URL like http://127.0.0.1:2379`);
  }
  return urls;
}

/**
 * Distributed mode: listen at once, register as a member, campaign through
 * etcd, and serve only while leading (followers redirect to the leader).
 */
async function startElectedPd(
  opts: PdCommandOptions,
  settings: ResolvedPdSettings,
  tls: PdTlsOptions | undefined,
  log: Logger,
  out: (line: string) => void,
): Promise<PdServer> {
  if (opts.workdir !== undefined) throw new Error("--workdir and --etcd are exclusive: in distributed mode etcd holds PD's state");
  if (opts.recoverMissingState === true) throw new Error("--recover-missing-state is for a --workdir; in distributed mode etcd holds PD's state");
  if (opts.compactMinBytes !== undefined) throw new Error("--compact-min-bytes is for a --workdir; in distributed mode etcd holds PD's state");
  const endpoints = parseEtcdEndpoints(opts.etcd!);
  const clusterId = opts.clusterId ?? "nokv";
  const election = await createLeaderElection({
    endpoints,
    clusterId,
    onError: (err) => log.warn({ err: err.message }, "leader election: background failure (retrying)"),
  });
  let name = opts.name;
  const server = await createPdServer({
    ...serverOptions(opts, settings, tls, log),
    elected: {
      election,
      openStore: () => openEtcdStore({ endpoints, clusterId, leaderGuard: election }),
      ...(opts.leaseTtl !== undefined && { leaseTtlSec: opts.leaseTtl }),
      register: async (self) => {
        name = self.name;
        const registry = createMemberRegistry({
          endpoints,
          clusterId,
          self,
          onError: (err) => log.warn({ err: (err as Error).message }, "member registry: background failure (retrying)"),
        });
        await registry.start().catch((err: unknown) => log.warn({ err: (err as Error).message }, "member registry: cannot register yet (retrying)"));
        return registry;
      },
      onRoleChange: (role) => out(role === "leader" ? `PD-lite ${name} is now the leader` : `PD-lite ${name} is no longer the leader`),
    },
  }).catch(async (err: unknown) => {
    await election.close().catch(() => undefined);
    throw err;
  });
  const advertiseAddr = opts.advertiseAddr ?? server.address;
  out(`PD-lite storage: etcd ${endpoints.join(",")} (cluster ${clusterId})`);
  out(`PD-lite member ${name} (advertise ${advertiseAddr}) campaigning for leadership, lease ${opts.leaseTtl ?? 2} s`);
  out(`PD-lite service listening on ${server.address}${tls === undefined ? "" : tls.caCert === undefined ? " (TLS)" : " (mutual TLS)"}`);
  if (server.statusAddress !== undefined) {
    out(`PD-lite status (metrics, /pd/api/v1) on ${tls === undefined ? "http" : "https"}://${server.statusAddress}`);
  }
  return server;
}
