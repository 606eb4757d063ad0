import { readFile } from "node:fs/promises";
import { ConfigError } from "../config-error.js";
import type { RaftConfig } from "./model.js";
import { parseConfig } from "./parse-config.js";
import { validateConfig } from "./validate-config.js";

/**
 * Reads, parses and validates a `raft_config.json`.
 *
 * @param path - file path, relative paths resolve against `process.cwd()`.
 * @returns the config, already checked by `validateConfig`.
 * @throws {@link ConfigError} `READ_FAILED` when the file cannot be read,
 *   `MALFORMED_JSON` / `SCHEMA` from `parseConfig`, `INVALID_CONFIG` from
 *   `validateConfig`.
 */
export async function loadConfig(path: string): Promise<RaftConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError("READ_FAILED", `config: cannot read ${path}: ${describeIoError(err)}`, { cause: err });
  }
  const cfg = parseConfig(text, path);
  validateConfig(cfg);
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
