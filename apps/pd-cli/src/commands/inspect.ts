import type { ConfigWarning } from "@nokv/nokv-config";
import { decodeTimestamp, type HealthStatus, type PdClient, PdClientError } from "@nokv/pd-client";
import { type ClientFlags, clientFromFlags } from "./client-options.js";
import {
  keyToTikvHex as hexKey,
  memberToTikvJson,
  regionPageToTikvJson,
  regionToTikvJson,
  storesToTikvJson,
  stringifyJson as toJson,
} from "@nokv/pd-model";
import { parseKeyArg, regionTable, storeTable, table } from "../format.js";

/** What a verb prints (stdout lines) and its exit code. */
export interface VerbResult {
  readonly lines: readonly string[];
  readonly exitCode: number;
}

const ok = (lines: readonly string[]): VerbResult => ({ lines, exitCode: 0 });

/**
 * Runs `verb` with a client built from the flags, and closes the client.
 * `onConfigWarning` receives the `--config` problems that do not stop the verb.
 */
export async function withClient(
  flags: ClientFlags,
  verb: (client: PdClient) => Promise<VerbResult>,
  onConfigWarning?: (w: ConfigWarning) => void,
): Promise<VerbResult> {
  const client = await clientFromFlags(flags, onConfigWarning);
  try {
    return await verb(client);
  } finally {
    client.close();
  }
}

/** `pd-cli stores`: every store PD knows, with stats and liveness. */
export async function storesVerb(client: PdClient, flags: ClientFlags): Promise<VerbResult> {
  const stores = await client.listStores();
  if (flags.format === "json") return ok([toJson(storesToTikvJson(stores))]);
  return ok(storeTable(stores, Date.now()));
}

/** `pd-cli regions [--limit N] [--start-key K [--hex]]`: one page of regions in key order. */
export async function regionsVerb(
  client: PdClient,
  flags: ClientFlags & { readonly limit?: bigint; readonly startKey?: string; readonly hex?: boolean },
): Promise<VerbResult> {
  const page = await client.listRegions({
    ...(flags.limit !== undefined && { limit: flags.limit }),
    ...(flags.startKey !== undefined && { startKey: parseKeyArg(flags.startKey, flags.hex === true) }),
  });
  if (flags.format === "json") return ok([toJson(regionPageToTikvJson(page))]);
  const next = page.nextStartKey === undefined ? undefined : hexKey(page.nextStartKey);
  const lines = regionTable(page.regions);
  if (next !== undefined) lines.push(`(more regions follow: --start-key ${next} --hex)`);
  return ok(lines);
}

/** `pd-cli region key K [--hex]` / `pd-cli region id N`: one region, exit 1 when PD has none. */
export async function regionVerb(
  client: PdClient,
  flags: ClientFlags & { readonly hex?: boolean },
  by: { readonly key: string } | { readonly id: bigint },
): Promise<VerbResult> {
  const region =
    "id" in by
      ? await client.getRegionById(by.id)
      : await client.getRegionByKey(parseKeyArg(by.key, flags.hex === true), { bypassCache: true });
  if (region === undefined) {
    const what = "id" in by ? `region ${by.id}` : `region for key ${JSON.stringify(by.key)}`;
    throw new Error(`${what} not found`);
  }
  return ok(flags.format === "json" ? [toJson(regionToTikvJson(region))] : regionTable([region]));
}

/** `pd-cli tso`: one timestamp and the wall-clock time it carries. */
export async function tsoVerb(client: PdClient, flags: ClientFlags): Promise<VerbResult> {
  const ts = await client.getTimestamp();
  const { physicalMs, logical } = decodeTimestamp(ts);
  const physical = new Date(Number(physicalMs)).toISOString();
  if (flags.format === "json") return ok([toJson({ timestamp: ts, physical_ms: physicalMs, physical, logical })]);
  return ok(table(["TIMESTAMP", "PHYSICAL", "LOGICAL"], [[ts.toString(), physical, logical.toString()]]));
}

/** `pd-cli alloc-id [--count N]`: reserves ids (they are never handed out again). */
export async function allocIdVerb(client: PdClient, flags: ClientFlags & { readonly count: bigint }): Promise<VerbResult> {
  const run = await client.allocId(flags.count);
  const last = run.firstId + run.count - 1n;
  if (flags.format === "json") return ok([toJson({ first_id: run.firstId, count: run.count, last_id: last })]);
  return ok(table(["FIRST_ID", "LAST_ID", "COUNT"], [[run.firstId.toString(), last.toString(), run.count.toString()]]));
}

/**
 * `pd-cli health`: asks PD for its members, then each member's gRPC health
 * service about `pb.PD`. Exit 1 when any member is not `SERVING`.
 */
export async function healthVerb(client: PdClient, flags: ClientFlags): Promise<VerbResult> {
  const { members } = await client.getMembers();
  const results = await Promise.all(
    members.map(async (m) => {
      let health: HealthStatus | "UNREACHABLE";
      let detail: string | undefined;
      try {
        health = await client.checkHealth({ endpoint: m.advertiseAddr, service: "pb.PD" });
      } catch (err) {
        health = "UNREACHABLE";
        detail = err instanceof PdClientError ? err.code : String(err);
      }
      return { ...m, health, detail };
    }),
  );
  const exitCode = results.every((r) => r.health === "SERVING") ? 0 : 1;
  if (flags.format === "json") {
    const body = results.map((r) => ({
      ...memberToTikvJson(r),
      health: r.health === "SERVING",
      status: r.health,
      ...(r.detail !== undefined && { error: r.detail }),
    }));
    return { lines: [toJson(body)], exitCode };
  }
  const lines = table(
    ["NAME", "ADDRESS", "LEADER", "HEALTH"],
    results.map((r) => [r.name, r.advertiseAddr, r.isLeader ? "yes" : "no", r.detail === undefined ? r.health : `${r.health} (${r.detail})`]),
  );
  return { lines, exitCode };
}
