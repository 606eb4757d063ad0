import { access } from "node:fs/promises";
import { type ConfigWarning, DEFAULT_CONFIG_FILE, loadConfig, parseScope, resolvePdAddrs } from "@nokv/nokv-config";
import { createPdClient, type PdClient } from "@nokv/pd-client";
import { type Command, Option } from "commander";
import { clientTlsFromFlags } from "../config/tls-files.js";
import { DEFAULT_PD_ADDR } from "../defaults.js";
import { parsePositiveInt } from "../flags.js";

/** Flags every inspection verb takes. */
export interface ClientFlags {
  readonly pd?: string;
  readonly config?: string;
  readonly scope: string;
  readonly format: "table" | "json";
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly timeout: number;
}

/** Default deadline of an inspection call, retries included: an unreachable PD fails within it. */
export const DEFAULT_CLI_TIMEOUT_MS = 3000;

/** Adds `--pd`, `--config`, `--scope`, `--format`, the TLS flags and `--timeout` to a verb. */
export function addClientFlags(cmd: Command): Command {
  return cmd
    .option("--pd <host:port>", `PD address(es), comma-separated (default: the config's pd address, else ${DEFAULT_PD_ADDR})`)
    .option("--config <file>", `raft_config.json to read the PD address from (default ./${DEFAULT_CONFIG_FILE} when present)`)
    .addOption(new Option("--scope <scope>", "config scope").choices(["host", "docker"]).default("host"))
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--cacert <file>", "CA bundle (PEM) that PD's certificate must chain to; turns TLS on")
    .option("--cert <file>", "client certificate (PEM) for mutual TLS; turns TLS on")
    .option("--key <file>", "private key (PEM) of --cert")
    .option("--timeout <ms>", "deadline of the call in ms, retries included", parsePositiveInt, DEFAULT_CLI_TIMEOUT_MS);
}

/**
 * The PD endpoints a verb talks to: `--pd` if given; else the config's PD
 * address(es) for the scope (`--config`, or `./raft_config.example.json` when
 * that file exists); else the default.
 *
 * @throws ConfigError when an explicitly given config cannot be loaded.
 */
export async function resolveClientAddr(
  flags: Pick<ClientFlags, "pd" | "config" | "scope">,
  onWarning?: (w: ConfigWarning) => void,
): Promise<string> {
  const scope = parseScope(flags.scope);
  if (flags.pd !== undefined) return flags.pd;
  let file = flags.config;
  if (file === undefined) {
    const exists = await access(DEFAULT_CONFIG_FILE).then(
      () => true,
      () => false,
    );
    if (!exists) return DEFAULT_PD_ADDR;
    file = DEFAULT_CONFIG_FILE;
  }
  const addrs = resolvePdAddrs(await loadConfig(file, { strict: ["pd"], ...(onWarning !== undefined && { onWarning }) }), scope);
  return addrs.length > 0 ? addrs.join(",") : DEFAULT_PD_ADDR;
}

/** A client for an inspection verb: no route cache, no batching, the verb's deadline. */
export async function clientFromFlags(flags: ClientFlags, onConfigWarning?: (w: ConfigWarning) => void): Promise<PdClient> {
  const [addr, tls] = await Promise.all([resolveClientAddr(flags, onConfigWarning), clientTlsFromFlags(flags)]);
  return createPdClient({
    addr,
    timeoutMs: flags.timeout,
    routeCache: false,
    tsoBatching: false,
    ...(tls !== undefined && { tls }),
  });
}
