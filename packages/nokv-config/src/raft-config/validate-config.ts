import { ConfigError } from "../config-error.js";
import type { PdConfig, RaftConfig, RegionConfig } from "./model.js";

/**
 * A part of the file whose problems {@link validateConfig} reports as
 * warnings unless the caller asks for it strictly: `pd` is the PD member
 * lists (`addrs`, `docker_addrs`), `regions` the bootstrap regions.
 */
export type ConfigSection = "pd" | "regions";

/** A problem NoKV's Go `nokv-config` does not check: reported, not fatal. */
export interface ConfigWarning {
  /** The part of the file it is in. */
  readonly section: ConfigSection;
  /** One line naming the entity, e.g. `config: region 2: start_key "m" must be < end_key "a"`. */
  readonly message: string;
}

/** Options of {@link validateConfig}. */
export interface ValidateConfigOptions {
  /**
   * Sections the caller reads: a problem there is an error (thrown) instead
   * of a warning. `nokv-config pd` reads the PD member lists, for example;
   * nothing reads the regions strictly by default. Default none.
   */
  readonly strict?: readonly ConfigSection[];
}

/**
 * Checks the invariants that parsing alone cannot.
 *
 * Errors, exactly the rules of NoKV's Go `nokv-config` (`config.File.Validate`),
 * so that a file the Go tool accepts is never refused:
 * - `store_work_dir_template` / `store_docker_work_dir_template`, when set,
 *   contain `{id}`;
 * - each `store_id` is > 0 and unique;
 * - each region id is > 0;
 * - each peer has a non-zero `peer_id` and `store_id` and references a known
 *   store;
 * - a non-zero `leader_store_id` is a known store.
 *
 * Warnings, which Go's tool does not check (errors in a `strict` section):
 * - `pd`: `pd.addrs` / `pd.docker_addrs` hold no blank or duplicate entry
 *   and include `addr` / `docker_addr` when both are set;
 * - `regions`: region ids are unique; a bounded range has
 *   `start_key < end_key` (compared as UTF-8 bytes); no two peers of a region
 *   share a store; no peer id is used twice in the file; a non-zero
 *   `leader_store_id` hosts one of the region's peers; no two well-formed
 *   ranges overlap.
 *
 * Checked in file order (templates, pd, stores, regions, overlaps); the first
 * error wins.
 *
 * @returns the warnings, in file order; `[]` for a clean file.
 * @throws {@link ConfigError} `INVALID_CONFIG`, the message naming the
 *   entity, e.g. `config: region 2: peer 5 references unknown store 9`.
 */
export function validateConfig(cfg: RaftConfig, options: ValidateConfigOptions = {}): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const strict = new Set(options.strict ?? []);
  const warn = (section: ConfigSection, problem: string): void => {
    if (strict.has(section)) invalid(problem);
    warnings.push({ section, message: `config: ${problem}` });
  };

  checkTemplate("store_work_dir_template", cfg.storeWorkDirTemplate);
  checkTemplate("store_docker_work_dir_template", cfg.storeDockerWorkDirTemplate);
  if (cfg.pd !== undefined) checkPd(cfg.pd, (problem) => warn("pd", problem));

  const storeIndex = new Map<bigint, number>();
  cfg.stores.forEach((store, i) => {
    if (store.storeId === 0n) invalid(`stores[${i}]: store_id must be > 0`);
    const seen = storeIndex.get(store.storeId);
    if (seen !== undefined) invalid(`store ${store.storeId}: duplicate store_id (stores[${seen}] and stores[${i}])`);
    storeIndex.set(store.storeId, i);
  });

  const regionIndex = new Map<bigint, number>();
  const peerOwner = new Map<bigint, bigint>();
  const regionProblem = (problem: string): void => warn("regions", problem);
  cfg.regions.forEach((region, i) => {
    if (region.id === 0n) invalid(`regions[${i}]: region id must be > 0`);
    const seen = regionIndex.get(region.id);
    if (seen !== undefined) regionProblem(`region ${region.id}: duplicate region id (regions[${seen}] and regions[${i}])`);
    else regionIndex.set(region.id, i);
    if (isInverted(region)) {
      regionProblem(`region ${region.id}: start_key ${JSON.stringify(region.startKey)} must be < end_key ${JSON.stringify(region.endKey)}`);
    }

    const peerStores = new Set<bigint>();
    region.peers.forEach((peer, j) => {
      if (peer.peerId === 0n) invalid(`region ${region.id}: peers[${j}]: peer_id must be > 0`);
      if (peer.storeId === 0n) invalid(`region ${region.id}: peer ${peer.peerId}: store_id must be > 0`);
      if (!storeIndex.has(peer.storeId)) {
        invalid(`region ${region.id}: peer ${peer.peerId} references unknown store ${peer.storeId}`);
      }
      if (peerStores.has(peer.storeId)) {
        regionProblem(`region ${region.id}: peer ${peer.peerId}: store ${peer.storeId} already hosts a peer of this region`);
      }
      peerStores.add(peer.storeId);
      const owner = peerOwner.get(peer.peerId);
      if (owner !== undefined) {
        regionProblem(
          owner === region.id
            ? `region ${region.id}: duplicate peer id ${peer.peerId}`
            : `region ${region.id}: peer ${peer.peerId} is already used by region ${owner}`,
        );
      } else {
        peerOwner.set(peer.peerId, region.id);
      }
    });

    if (region.leaderStoreId !== 0n) {
      if (!storeIndex.has(region.leaderStoreId)) {
        invalid(`region ${region.id}: leader store ${region.leaderStoreId} missing from stores`);
      }
      if (!peerStores.has(region.leaderStoreId)) {
        regionProblem(`region ${region.id}: leader store ${region.leaderStoreId} hosts no peer of this region`);
      }
    }
  });

  checkOverlaps(cfg.regions, regionProblem);
  return warnings;
}

function checkTemplate(name: string, template: string | undefined): void {
  const value = template?.trim() ?? "";
  if (value !== "" && !value.includes("{id}")) invalid(`${name} must contain {id}`);
}

type Report = (problem: string) => void;

function checkPd(pd: PdConfig, report: Report): void {
  checkAddrList("addrs", "addr", pd.addrs, pd.addr, report);
  checkAddrList("docker_addrs", "docker_addr", pd.dockerAddrs, pd.dockerAddr, report);
}

function checkAddrList(
  listName: string,
  singleName: string,
  list: readonly string[] | undefined,
  single: string | undefined,
  report: Report,
): void {
  if (list === undefined) return;
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const addr = raw.trim();
    if (addr === "") report(`pd: ${listName}[${i}] is empty`);
    else if (seen.has(addr)) report(`pd: duplicate address ${JSON.stringify(addr)} in ${listName}`);
    else seen.add(addr);
  });
  const primary = single?.trim() ?? "";
  if (primary !== "" && seen.size > 0 && !seen.has(primary)) {
    report(`pd: ${singleName} ${JSON.stringify(primary)} is not listed in ${listName}`);
  }
}

function isInverted(region: RegionConfig): boolean {
  return region.endKey !== "" && compareKeys(region.startKey, region.endKey) >= 0;
}

// Each region that overlaps an earlier one (by start key) is reported once,
// against the region reaching furthest so far: comparing neighbours only
// would miss [b, c) and [d, e) both inside [a, z). An inverted range holds
// no key and has been reported already: it overlaps nothing.
function checkOverlaps(regions: readonly RegionConfig[], report: Report): void {
  const sorted = regions.filter((r) => !isInverted(r)).sort((a, b) => compareKeys(a.startKey, b.startKey));
  let reach: RegionConfig | undefined;
  for (const next of sorted) {
    if (reach !== undefined && (reach.endKey === "" || compareKeys(next.startKey, reach.endKey) < 0)) {
      report(`region ${next.id}: range ${describeRange(next)} overlaps region ${reach.id} ${describeRange(reach)}`);
    }
    // An empty end key is +infinity: nothing reaches further.
    if (reach === undefined || (reach.endKey !== "" && (next.endKey === "" || compareKeys(next.endKey, reach.endKey) > 0))) reach = next;
  }
}

function describeRange(region: RegionConfig): string {
  const start = region.startKey === "" ? "-inf" : JSON.stringify(region.startKey);
  const end = region.endKey === "" ? "+inf" : JSON.stringify(region.endKey);
  return `[${start}, ${end})`;
}

// Keys order by their bytes, as the stores compare them; UTF-16 string
// comparison disagrees with UTF-8 byte order above U+FFFF.
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function invalid(problem: string): never {
  throw new ConfigError("INVALID_CONFIG", `config: ${problem}`);
}
