import { loadConfig, parseScope, resolvePdAddr, resolvePdWorkDir } from "@nokv/nokv-config";
import { createPdServer, type PdServer } from "@nokv/pd-server";
import { createMemoryStore, openLocalFileStore, type Store } from "@nokv/pd-storage";
import type { Logger } from "pino";

/** Flags of `pd-cli pd` after parsing; `undefined` = not given on the command line. */
export interface PdCommandOptions {
  readonly addr?: string;
  readonly workdir?: string;
  readonly idStart?: bigint;
  readonly tsStart?: bigint;
  readonly config?: string;
  readonly scope: string;
}

/** Where PD will listen and keep its state once flags and config are merged. */
export interface ResolvedPdSettings {
  readonly addr: string;
  readonly workdir: string | undefined;
}

/** The default listen address, as in NoKV's Go PD. */
export const DEFAULT_PD_ADDR = "127.0.0.1:2379";

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
  let store: Store;
  if (settings.workdir !== undefined && settings.workdir.trim() !== "") {
    const local = await openLocalFileStore({ dir: settings.workdir });
    if (local.recovery.truncated) {
      const t = local.recovery.truncated;
      log.warn({ file: t.file, offset: t.offset, droppedBytes: t.droppedBytes }, "dropped a torn last record (crash mid-write)");
    }
    store = local;
  } else {
    store = createMemoryStore();
  }
  const server = await createPdServer({
    addr: settings.addr,
    store,
    logger: log,
    ...(opts.idStart !== undefined && { idStart: opts.idStart }),
    ...(opts.tsStart !== undefined && { tsStart: opts.tsStart }),
  });
  const r = server.restored;
  out(`PD-lite storage: ${store.description}`);
  out(`PD-lite restored ${r.regions} region(s); allocator starts: id=${r.idNext} ts=${r.tsNext}`);
  out(`PD-lite service listening on ${server.address}`);
  log.info({ addr: server.address, storage: store.description, regions: r.regions, idStart: r.idNext.toString(), tsStart: r.tsNext.toString() }, "pd started");
  return server;
}
