import type { Region, StoreStatus } from "@nokv/pd-client";
import { STORE_STATE_NAMES } from "@nokv/pd-model";

/**
 * Aligned columns, two spaces apart, header first — like `pd-ctl`'s and
 * `kubectl`'s tables. Cells never contain newlines (keys are escaped).
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * A key for the table: printable ASCII as-is, a backslash as `\\`, any other
 * byte as `\xNN`; an empty start key is `-inf`, an empty end key `+inf`.
 */
export function escapeKey(key: Uint8Array, emptyAs: "-inf" | "+inf"): string {
  if (key.length === 0) return emptyAs;
  let out = "";
  for (const b of key) {
    if (b === 0x5c) out += "\\\\";
    else if (b >= 0x21 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** Parses a key given on the command line: the text's UTF-8 bytes, or hex digits with `hex`. */
export function parseKeyArg(text: string, hex: boolean): Uint8Array {
  if (!hex) return Buffer.from(text, "utf8");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error(`invalid hex key ${JSON.stringify(text)}: expected pairs of hex digits`);
  return Buffer.from(text, "hex");
}

/** Store rows of the table. */
export function storeTable(stores: readonly StoreStatus[], nowMs: number): string[] {
  return table(
    ["ID", "STATE", "LEADERS", "REGIONS", "CAPACITY", "AVAILABLE", "LAST_HEARTBEAT"],
    stores.map((s) => {
      const ago = Math.max(0, Math.round((nowMs - Number(s.lastHeartbeatMs)) / 1000));
      return [
        s.storeId.toString(),
        STORE_STATE_NAMES[s.liveness],
        s.leaderNum.toString(),
        s.regionNum.toString(),
        s.capacity.toString(),
        s.available.toString(),
        `${new Date(Number(s.lastHeartbeatMs)).toISOString()} (${ago}s ago)`,
      ];
    }),
  );
}

/** Region rows of the table. */
export function regionTable(regions: readonly Region[]): string[] {
  return table(
    ["ID", "START_KEY", "END_KEY", "VERSION", "CONF_VER", "PEERS(store:peer)"],
    regions.map((r) => [
      r.id.toString(),
      escapeKey(r.startKey, "-inf"),
      escapeKey(r.endKey, "+inf"),
      r.epoch.version.toString(),
      r.epoch.confVersion.toString(),
      r.peers.map((p) => `${p.storeId}:${p.peerId}`).join(","),
    ]),
  );
}
