import { createElectedMember } from "@nokv/pd-etcd";
import { createPdServer, createSoloLeadership, type PdServer, type PdTlsOptions } from "@nokv/pd-server";
import { createMemoryStore, describeRecovery, openLocalFileStore, type Store } from "@nokv/pd-storage";
import type { ConfigWarning } from "@nokv/nokv-config";
import type { Logger } from "pino";
import { type PdCommandOptions, type PdConfig, resolvePdConfig, type StorageConfig } from "../config/pd-config.js";

export { DEFAULT_PD_ADDR } from "../defaults.js";
export { parseEtcdEndpoints, resolvePdConfig, resolvePdSettings } from "../config/pd-config.js";
export type { PdCommandOptions, PdConfig, ResolvedPdSettings, StorageConfig } from "../config/pd-config.js";

/**
 * Runs `pd-cli pd` from its flags: {@link resolvePdConfig}, then {@link runPd}.
 * Resolves with the running server; the caller stops it on a signal.
 */
export async function startPd(
  flags: PdCommandOptions,
  log: Logger,
  out: (line: string) => void,
  onConfigWarning?: (w: ConfigWarning) => void,
): Promise<PdServer> {
  return runPd(await resolvePdConfig(flags, onConfigWarning), log, out);
}

/**
 * Runs PD as `config` says: opens the store (local-file, memory) or the
 * elected member (etcd), starts the server over it, and prints what it
 * restored and where it listens. Resolves with the running server.
 */
export function runPd(config: PdConfig, log: Logger, out: (line: string) => void): Promise<PdServer> {
  const storage = config.storage;
  return storage.kind === "etcd" ? startElectedPd(config, storage, log, out) : startSinglePd(config, storage, log, out);
}

/** A single PD over its workdir (or memory): always the leader. */
async function startSinglePd(
  config: PdConfig,
  storage: Exclude<StorageConfig, { kind: "etcd" }>,
  log: Logger,
  out: (line: string) => void,
): Promise<PdServer> {
  let store: Store;
  if (storage.kind === "local-file") {
    const local = await openLocalFileStore({
      dir: storage.dir,
      log,
      recoverMissingState: storage.recoverMissingState,
      compactMinBytes: storage.compactMinBytes,
    });
    // What the open repaired or took over is said on stdout, beside what was restored.
    for (const line of describeRecovery(local.recovery)) {
      out(`PD-lite recovery: ${line}`);
      log.warn({ workdir: storage.dir }, `recovery: ${line}`);
    }
    store = local;
  } else {
    store = createMemoryStore();
  }
  const leadership = createSoloLeadership({ store, ...config.member });
  const server = await createPdServer({ ...config.server, logger: log, leadership });
  const r = server.restored!;
  if (storage.kind === "memory") {
    log.warn("no --workdir: the region catalog and allocator ceilings live in memory only; after a restart ids and timestamps start again from --id-start/--ts-start");
  }
  const tls = config.server.tls;
  out(`PD-lite storage: ${store.description}`);
  out(`PD-lite restored ${r.regions} region(s); allocator starts: id=${r.idNext} ts=${r.tsNext}`);
  printListening(server, tls, out);
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

/**
 * Distributed mode: listen at once, register as a member, campaign through
 * etcd, and serve only while leading (followers redirect to the leader). The
 * elected member owns the etcd client, its name, its advertise address and
 * the lease TTL; the server serves through it.
 */
async function startElectedPd(
  config: PdConfig,
  storage: Extract<StorageConfig, { kind: "etcd" }>,
  log: Logger,
  out: (line: string) => void,
): Promise<PdServer> {
  const member = await createElectedMember({
    endpoints: storage.endpoints,
    clusterId: storage.clusterId,
    leaseTtlSec: storage.leaseTtlSec,
    ...config.member,
    log,
    onRoleChange: (role, self) => out(role === "leader" ? `PD-lite ${self.name} is now the leader` : `PD-lite ${self.name} is no longer the leader`),
    // The follower's warm copy of the catalog: a term starts from it without reading etcd again.
    onCatalogLoaded: (info) =>
      out(`PD-lite ${member.name} catalog loaded: ${info.regions} region(s) at revision ${info.revision} in ${info.loadMs} ms (${info.reason}); following etcd`),
  });
  const server = await createPdServer({ ...config.server, logger: log, leadership: member });
  out(`PD-lite storage: etcd ${member.endpoints.join(",")} (cluster ${member.clusterId})`);
  out(`PD-lite member ${member.name} (advertise ${member.advertiseAddr}) campaigning for leadership, lease ${member.leaseTtlSec} s`);
  printListening(server, config.server.tls, out);
  return server;
}

/**
 * The last start-up lines. "listening" comes last, so that whoever waits for
 * it (scripts, tests, supervisors) has every earlier line, the status
 * address included, by then.
 */
function printListening(server: PdServer, tls: PdTlsOptions | undefined, out: (line: string) => void): void {
  if (server.statusAddress !== undefined) {
    out(`PD-lite status (metrics, /pd/api/v1, /dashboard/) on ${tls === undefined ? "http" : "https"}://${server.statusAddress}`);
  }
  out(`PD-lite service listening on ${server.address}${tls === undefined ? "" : tls.caCert === undefined ? " (TLS)" : " (mutual TLS)"}`);
}
