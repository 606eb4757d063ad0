import { ConfigError } from "../config-error.js";

/**
 * Where the reader of an address runs: `host` for processes on the machine,
 * `docker` for containers on the compose network.
 */
export type Scope = "host" | "docker";

/**
 * Parses a user-supplied scope, ignoring case and surrounding whitespace.
 *
 * @throws {@link ConfigError} `INVALID_ARGUMENT` for anything but host/docker.
 */
export function parseScope(text: string): Scope {
  const scope = text.trim().toLowerCase();
  if (scope === "host" || scope === "docker") return scope;
  throw unknownScope(text);
}

/** Rejects a scope that slipped past the type checker (plain JS callers). */
export function assertScope(scope: Scope): void {
  if (scope !== "host" && scope !== "docker") throw unknownScope(scope);
}

function unknownScope(text: string): ConfigError {
  return new ConfigError("INVALID_ARGUMENT", `config: unknown scope ${JSON.stringify(text)} (expected host|docker)`);
}
