import { type ConfigWarning, loadConfig, parseScope, resolvePdAddr, resolvePdWorkDir } from "@nokv/nokv-config";
import { type PdServerConfig, resolvePdServerConfig } from "@nokv/pd-server";
import { DEFAULT_PD_ADDR } from "../defaults.js";
import { serverTlsFromFlags } from "./tls-files.js";

/** Flags of `pd-cli pd` as commander parsed them; `undefined` = not given on the command line. */
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

/** Where PD keeps its state. */
export type StorageConfig =
  /** No `--workdir`: nothing survives a restart. */
  | { readonly kind: "memory" }
  /** `--workdir DIR` (or the config's work dir). */
  | { readonly kind: "local-file"; readonly dir: string; readonly recoverMissingState: boolean; readonly compactMinBytes: number | undefined }
  /** `--etcd URLS`: distributed mode; undefined fields take the elected member's defaults. */
  | {
      readonly kind: "etcd";
      readonly endpoints: readonly string[];
      readonly clusterId: string | undefined;
      readonly leaseTtlSec: number | undefined;
    };

/**
 * Everything `pd-cli pd` runs with: parsed once from the flags and
 * `raft_config.json`, checked once, then handed down as it is — `server` to
 * `createPdServer` (and through it, the cluster part, to pd-core),
 * `storage` and `member` to the store or elected member that pd-cli opens.
 */
export interface PdConfig {
  /** The server's configuration, complete and checked (see pd-server's `resolvePdServerConfig`). */
  readonly server: PdServerConfig;
  readonly storage: StorageConfig;
  /** Who this member is; undefined fields take the leadership's defaults (a single PD: `pd`; elected: its address). */
  readonly member: { readonly name: string | undefined; readonly advertiseAddr: string | undefined };
}

/** Where PD will listen and keep its state once flags and config are merged. */
export interface ResolvedPdSettings {
  readonly addr: string;
  readonly workdir: string | undefined;
}

/**
 * Merges flags with `raft_config.json`: a flag given on the command line
 * wins; otherwise the config's value for the scope; otherwise the default.
 *
 * The config fails PD only on what NoKV's Go `nokv-config` validates or on a
 * broken PD member list (PD reads its address from there); any other
 * problem (a region with `start_key >= end_key`, ...) goes to `onWarning`
 * (default: one `console.warn` line).
 */
export async function resolvePdSettings(opts: PdCommandOptions, onWarning?: (w: ConfigWarning) => void): Promise<ResolvedPdSettings> {
  const scope = parseScope(opts.scope);
  if (opts.config === undefined) return { addr: opts.addr ?? DEFAULT_PD_ADDR, workdir: opts.workdir };
  const cfg = await loadConfig(opts.config, { strict: ["pd"], ...(onWarning !== undefined && { onWarning }) });
  return {
    addr: opts.addr ?? resolvePdAddr(cfg, scope) ?? DEFAULT_PD_ADDR,
    workdir: opts.workdir ?? resolvePdWorkDir(cfg, scope),
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

function storageFromFlags(flags: PdCommandOptions, workdir: string | undefined): StorageConfig {
  if (flags.etcd !== undefined) {
    // A work dir from raft_config.json is ignored in distributed mode; one given as a flag is a mistake.
    if (flags.workdir !== undefined) throw new Error("--workdir and --etcd are exclusive: in distributed mode etcd holds PD's state");
    if (flags.recoverMissingState === true) throw new Error("--recover-missing-state is for a --workdir; in distributed mode etcd holds PD's state");
    if (flags.compactMinBytes !== undefined) throw new Error("--compact-min-bytes is for a --workdir; in distributed mode etcd holds PD's state");
    return { kind: "etcd", endpoints: parseEtcdEndpoints(flags.etcd), clusterId: flags.clusterId, leaseTtlSec: flags.leaseTtl };
  }
  if (workdir !== undefined && workdir.trim() !== "") {
    return { kind: "local-file", dir: workdir, recoverMissingState: flags.recoverMissingState === true, compactMinBytes: flags.compactMinBytes };
  }
  return { kind: "memory" };
}

/**
 * Turns `pd-cli pd`'s flags (and `raft_config.json`, with `--config`) into
 * one {@link PdConfig}: the config file read, the PEM files read, the flag
 * combinations and every server setting checked — before any storage is
 * opened, so a bad flag changes nothing.
 *
 * @throws Error (or ConfigError, RangeError) with a one-line reason naming
 *   the flag, file or setting.
 */
export async function resolvePdConfig(flags: PdCommandOptions, onConfigWarning?: (w: ConfigWarning) => void): Promise<PdConfig> {
  const settings = await resolvePdSettings(flags, onConfigWarning);
  const tls = await serverTlsFromFlags(flags);
  const storage = storageFromFlags(flags, settings.workdir);
  const server = resolvePdServerConfig({
    addr: settings.addr,
    statusAddr: flags.statusAddr,
    tls,
    idStart: flags.idStart,
    tsStart: flags.tsStart,
    limits: { maxMessageBytes: flags.maxMessageBytes, maxKeyBytes: flags.maxKeyBytes },
    liveness: { disconnectedAfterMs: flags.storeDisconnectedAfterMs, downAfterMs: flags.storeDownAfterMs },
    operators: { transferTimeoutMs: flags.transferTimeoutMs, maxInFlightPerStore: flags.maxTransfersPerStore },
  });
  return { server, storage, member: { name: flags.name, advertiseAddr: flags.advertiseAddr } };
}
