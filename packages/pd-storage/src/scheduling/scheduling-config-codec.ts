import { PdError } from "@nokv/pd-core";
import { parseUint64, type SchedulerName, type SchedulingConfig, schedulingConfigProblem, type StoreLimitOverride } from "@nokv/pd-model";

/** The file a local-file store keeps the scheduling configuration in, beside `PD_STATE.json`. */
export const SCHEDULING_FILE = "SCHEDULING.json";

/**
 * The scheduling configuration as stored (a workdir's `SCHEDULING.json`,
 * etcd's `scheduling` key): one JSON object, versioned; store ids are
 * decimal strings (uint64), rates per minute plain numbers.
 *
 * ```json
 * {"version":1,"max_replicas":3,"default_store_limit":{"add_peer_per_min":15,"remove_peer_per_min":15},
 *  "store_limits":[{"store_id":"4","add_peer_per_min":30}],"paused_schedulers":["balance-region-scheduler"]}
 * ```
 */
export function encodeSchedulingConfig(c: SchedulingConfig): string {
  return `${JSON.stringify({
    version: 1,
    max_replicas: c.maxReplicas,
    default_store_limit: { add_peer_per_min: c.defaultStoreLimit.addPeerPerMin, remove_peer_per_min: c.defaultStoreLimit.removePeerPerMin },
    store_limits: c.storeLimits.map((o) => ({
      store_id: o.storeId.toString(),
      ...(o.addPeerPerMin !== undefined && { add_peer_per_min: o.addPeerPerMin }),
      ...(o.removePeerPerMin !== undefined && { remove_peer_per_min: o.removePeerPerMin }),
    })),
    paused_schedulers: c.pausedSchedulers,
  })}\n`;
}

/**
 * Parses {@link encodeSchedulingConfig}'s output.
 *
 * @throws PdError `STORAGE` naming `where` and the problem: scheduling by a
 *   record that was not understood (or a newer version) is refused, never
 *   replaced by defaults.
 */
export function decodeSchedulingConfig(text: string, where: string): SchedulingConfig {
  const bad = (why: string) => new PdError("STORAGE", `${where}: ${why}; refusing to start, the record is left as it was`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("not a JSON object");
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) throw bad(`unknown version ${JSON.stringify(o.version)} (this PD reads version 1)`);
  const num = (v: unknown, what: string): number => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw bad(`${what} is not a number`);
    return v;
  };
  const d = o.default_store_limit as Record<string, unknown> | undefined;
  if (typeof d !== "object" || d === null) throw bad("default_store_limit is missing");
  if (!Array.isArray(o.store_limits)) throw bad("store_limits is not a list");
  if (!Array.isArray(o.paused_schedulers) || !o.paused_schedulers.every((n) => typeof n === "string")) throw bad("paused_schedulers is not a list of names");
  const storeLimits: StoreLimitOverride[] = o.store_limits.map((x: unknown, i) => {
    const e = x as Record<string, unknown>;
    const id = typeof e?.store_id === "string" ? parseUint64(e.store_id) : undefined;
    if (id === undefined) throw bad(`store_limits[${i}].store_id is not a decimal uint64 string`);
    return {
      storeId: id,
      ...(e.add_peer_per_min !== undefined && { addPeerPerMin: num(e.add_peer_per_min, `store_limits[${i}].add_peer_per_min`) }),
      ...(e.remove_peer_per_min !== undefined && { removePeerPerMin: num(e.remove_peer_per_min, `store_limits[${i}].remove_peer_per_min`) }),
    };
  });
  const config: SchedulingConfig = {
    maxReplicas: num(o.max_replicas, "max_replicas"),
    defaultStoreLimit: {
      addPeerPerMin: num(d.add_peer_per_min, "default_store_limit.add_peer_per_min"),
      removePeerPerMin: num(d.remove_peer_per_min, "default_store_limit.remove_peer_per_min"),
    },
    storeLimits,
    pausedSchedulers: o.paused_schedulers as SchedulerName[],
  };
  const problem = schedulingConfigProblem(config);
  if (problem !== undefined) throw bad(problem);
  return config;
}
