import { createPdClient, type PdClient, type Region } from "@nokv/pd-client";
import type { PdProcess } from "@nokv/e2e/harness";

const STATUS_LINE = /^PD-lite status .* on (https?:\/\/\S+)/;

/** The status URL pd-cli printed (`http://host:port`). */
export function statusUrl(pd: PdProcess): string {
  for (const line of pd.stdout) {
    const m = STATUS_LINE.exec(line);
    if (m !== null) return m[1]!;
  }
  throw new Error(`pd-cli printed no status address:\n${pd.stdout.join("\n")}`);
}

const enc = new TextEncoder();

/** A region over `[start, end)` (text keys; "" is the empty key / +inf) with one peer on each store. */
export function region(id: bigint, start: string, end: string, stores: readonly bigint[], version = 1n): Region {
  return {
    id,
    startKey: enc.encode(start),
    endKey: enc.encode(end),
    epoch: { version, confVersion: 1n },
    peers: stores.map((s) => ({ storeId: s, peerId: id * 10n + s })),
  };
}

/** A store heartbeat with plausible stats. */
export function storeHeartbeat(client: PdClient, storeId: bigint, regions: bigint, leaders: bigint) {
  return client.storeHeartbeat({ storeId, regionNum: regions, leaderNum: leaders, capacity: 100n << 30n, available: (40n + storeId * 10n) << 30n });
}

/** A client of `pd` that does not wait long for a dead PD. */
export function clientOf(pd: PdProcess): PdClient {
  return createPdClient({ addr: pd.addr, timeoutMs: 3000 });
}

/** GETs JSON from PD's status API. */
export async function api<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}/pd/api/v1/${path}`);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
