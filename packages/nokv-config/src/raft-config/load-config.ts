import { readFile } from "node:fs/promises";
import { ConfigError } from "../config-error.js";
import type { RaftConfig } from "./model.js";
import { parseConfig } from "./parse-config.js";
import { type ConfigSection, type ConfigWarning, validateConfig } from "./validate-config.js";

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Sections whose problems are errors, not warnings (see `validateConfig`). Default none. */
  readonly strict?: readonly ConfigSection[];
  /**
   * Receives each problem that NoKV's Go `nokv-config` does not check, in
   * file order. Default: one `console.warn` line `warning: <message>`, so a
   * caller that does not look still leaves a trace on stderr.
   */
  readonly onWarning?: (warning: ConfigWarning) => void;
}

/**
 * Reads, parses and validates a `raft_config.json`.
 *
 * A file that NoKV's Go `nokv-config` accepts is accepted: what only this
 * package checks (an inverted or overlapping region, two peers on one
 * store, a PD member list with duplicates, ...) goes to `onWarning`, unless
 * its section is `strict`.
 *
 * @param path - file path, relative paths resolve against `process.cwd()`.
 * @returns the config, already checked by `validateConfig`.
 * @throws {@link ConfigError} `READ_FAILED` when the file cannot be read,
 *   `MALFORMED_JSON` / `SCHEMA` from `parseConfig`, `INVALID_CONFIG` from
 *   `validateConfig`.
 */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<RaftConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError("READ_FAILED", `config: cannot read ${path}: ${describeIoError(err)}`, { cause: err });
  }
  const cfg = parseConfig(text, path);
  const warnings = validateConfig(cfg, options.strict === undefined ? {} : { strict: options.strict });
  const onWarning = options.onWarning ?? ((w: ConfigWarning) => console.warn(`warning: ${w.message}`));
  for (const w of warnings) onWarning(w);
  return cfg;
}

function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
