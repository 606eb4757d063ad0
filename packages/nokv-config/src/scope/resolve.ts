import { ConfigError } from "../config-error.js";
import type { RaftConfig } from "../raft-config/model.js";
import { assertScope, type Scope } from "./scope.js";

/**
 * The PD address a process in `scope` should dial.
 *
 * `docker` uses `pd.docker_addr`, then the first of `pd.docker_addrs`, then
 * falls back to the host value; `host` uses `pd.addr`, then the first of
 * `pd.addrs`. Values are trimmed; blank counts as absent.
 *
 * @returns the address, or `undefined` when there is no `pd` block or no
 *   address for the scope.
 * @throws {@link ConfigError} `INVALID_ARGUMENT` for an unknown scope.
 */
export function resolvePdAddr(cfg: RaftConfig, scope: Scope): string | undefined {
  assertScope(scope);
  const pd = cfg.pd;
  if (pd === undefined) return undefined;
  if (scope === "docker") {
    const docker = present(pd.dockerAddr) ?? firstPresent(pd.dockerAddrs);
    if (docker !== undefined) return docker;
  }
  return present(pd.addr) ?? firstPresent(pd.addrs);
}

/**
 * Every PD member a process in `scope` may dial, for clients that fail over.
 *
 * `docker` uses `pd.docker_addrs`, else `[pd.docker_addr]`, else the host
 * list; `host` uses `pd.addrs`, else `[pd.addr]`. Blank entries are dropped.
 *
 * @returns the addresses in file order; `[]` when none is configured.
 * @throws {@link ConfigError} `INVALID_ARGUMENT` for an unknown scope.
 */
export function resolvePdAddrs(cfg: RaftConfig, scope: Scope): string[] {
  assertScope(scope);
  const pd = cfg.pd;
  if (pd === undefined) return [];
  if (scope === "docker") {
    const docker = listOrSingle(pd.dockerAddrs, pd.dockerAddr);
    if (docker.length > 0) return docker;
  }
  return listOrSingle(pd.addrs, pd.addr);
}

/**
 * The PD work directory for `scope`: `pd.docker_work_dir` in docker scope,
 * falling back to `pd.work_dir`.
 *
 * @returns the directory, or `undefined` when none is configured.
 * @throws {@link ConfigError} `INVALID_ARGUMENT` for an unknown scope.
 */
export function resolvePdWorkDir(cfg: RaftConfig, scope: Scope): string | undefined {
  assertScope(scope);
  const pd = cfg.pd;
  if (pd === undefined) return undefined;
  if (scope === "docker") {
    const docker = present(pd.dockerWorkDir);
    if (docker !== undefined) return docker;
  }
  return present(pd.workDir);
}

/**
 * The work directory of store `storeId` for `scope`, with the same order as
 * NoKV's Go `ResolveStoreWorkDir`:
 *
 * - host: the store's `work_dir`, else `store_work_dir_template`;
 * - docker: the store's `docker_work_dir`, else its `work_dir`, else
 *   `store_docker_work_dir_template`, else `store_work_dir_template`.
 *
 * A store's explicit directory always wins over a template. Every `{id}` in
 * the template becomes the decimal store id.
 *
 * @returns the directory, or `undefined` when neither the store nor a
 *   template provides one.
 * @throws {@link ConfigError} `NOT_FOUND` when no store has `storeId`,
 *   `INVALID_ARGUMENT` for an unknown scope.
 */
export function resolveStoreWorkDir(cfg: RaftConfig, storeId: bigint, scope: Scope): string | undefined {
  assertScope(scope);
  const store = cfg.stores.find((s) => s.storeId === storeId);
  if (store === undefined) throw new ConfigError("NOT_FOUND", `config: store ${storeId} not found`);
  const candidates =
    scope === "docker"
      ? [store.dockerWorkDir, store.workDir, expand(cfg.storeDockerWorkDirTemplate, storeId), expand(cfg.storeWorkDirTemplate, storeId)]
      : [store.workDir, expand(cfg.storeWorkDirTemplate, storeId)];
  return firstPresent(candidates);
}

function expand(template: string | undefined, storeId: bigint): string | undefined {
  return present(template)?.replaceAll("{id}", storeId.toString());
}

function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

function firstPresent(values: readonly (string | undefined)[] | undefined): string | undefined {
  for (const value of values ?? []) {
    const v = present(value);
    if (v !== undefined) return v;
  }
  return undefined;
}

function listOrSingle(list: readonly string[] | undefined, single: string | undefined): string[] {
  const fromList = (list ?? []).map(present).filter((v): v is string => v !== undefined);
  if (fromList.length > 0) return fromList;
  const one = present(single);
  return one === undefined ? [] : [one];
}
