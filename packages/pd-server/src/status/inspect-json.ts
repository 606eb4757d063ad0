import type { Region, StoreStatus } from "@nokv/pd-core";

// JSON shapes of the inspection API, modelled on TiKV PD's `/pd/api/v1`.
// Every uint64 is a decimal string (JSON numbers cannot hold them exactly);
// keys are upper-case hex, as TiKV's API prints them, "" for the empty key.

/** A key as the API prints it: upper-case hex of its bytes; `""` for the empty key. */
export function keyToJson(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("hex").toUpperCase();
}

/** TiKV's `state_name` of a store. */
const STATE_NAMES = { up: "Up", disconnected: "Disconnected", down: "Down" } as const;

/** `{ store: {id, state_name}, status: {...} }`, the shape of TiKV's `/stores` entries. */
export function storeToJson(s: StoreStatus): unknown {
  return {
    store: { id: s.storeId.toString(), state_name: STATE_NAMES[s.liveness] },
    status: {
      capacity: s.capacity.toString(),
      available: s.available.toString(),
      leader_count: s.leaderNum.toString(),
      region_count: s.regionNum.toString(),
      last_heartbeat_ts: new Date(s.lastHeartbeatMs).toISOString(),
      last_heartbeat_ms: String(s.lastHeartbeatMs),
    },
  };
}

/** `{ id, start_key, end_key, epoch: {conf_ver, version}, peers: [{id, store_id}] }`, as TiKV's `/region` answers. */
export function regionToJson(r: Region): unknown {
  return {
    id: r.id.toString(),
    start_key: keyToJson(r.startKey),
    end_key: keyToJson(r.endKey),
    epoch: { conf_ver: r.epoch.confVersion.toString(), version: r.epoch.version.toString() },
    peers: r.peers.map((p) => ({ id: p.peerId.toString(), store_id: p.storeId.toString() })),
  };
}

/**
 * Decodes a key given in a URL: `format=hex` takes hex digits (either case),
 * otherwise the percent-decoded bytes themselves (so `%FF` is the byte 0xff,
 * not UTF-8). Returns undefined for malformed input.
 */
export function keyFromUrl(raw: string, format: string | null): Uint8Array | undefined {
  if (format === "hex") {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(raw)) return undefined;
    return Buffer.from(raw, "hex");
  }
  if (format !== null && format !== "raw") return undefined;
  return percentDecodeBytes(raw);
}

function percentDecodeBytes(s: string): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 3;
    } else {
      const next = s.indexOf("%", i);
      const end = next < 0 ? s.length : next;
      for (const b of Buffer.from(s.slice(i, end), "utf8")) out.push(b);
      i = end;
    }
  }
  return Uint8Array.from(out);
}

/** Serialises with bigint values written as decimal strings. */
export function stringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
