import type { TikvStoreJson } from "@nokv/pd-model";
import type { DashboardSampleJson } from "../../api-types.js";
import { formatBytes, formatDuration, formatWallMs, u64 } from "../format.js";
import { storeColour } from "../keymap/render.js";
import { Sparkline } from "./sparkline.js";

const LIVENESS_CLASS: Record<string, string> = { Up: "live-up", Disconnected: "live-disconnected", Down: "live-down" };

/** One column's history for one store, from the ring: `[regions, leaders, available, capacity, liveness]`. */
function series(samples: readonly DashboardSampleJson[], id: string, col: 0 | 1 | 2): Array<number | null> {
  // Drawn, not printed: a Number is exact enough for a pixel.
  return samples.map((s) => {
    const v = s.stores[id];
    return v === undefined ? null : Number(u64(v[col]));
  });
}

/** The stores: liveness in colour, regions, leaders, space, last heartbeat, and sparklines over PD's ring of samples. */
export function Stores({ stores, samples, serverTimeMs }: { stores: readonly TikvStoreJson[]; samples: readonly DashboardSampleJson[]; serverTimeMs: bigint }) {
  if (stores.length === 0) return <p class="muted">No store has sent a heartbeat yet.</p>;
  const minutes = samples.length < 2 ? 0 : Math.round((samples[samples.length - 1]!.mono_ms - samples[0]!.mono_ms) / 60_000);
  return (
    <table class="stores" data-testid="stores">
      <thead>
        <tr>
          <th>store</th>
          <th>state</th>
          <th class="num">regions</th>
          <th class="num">leaders</th>
          <th class="num">capacity</th>
          <th class="num">available</th>
          <th>last heartbeat</th>
          <th>regions · leaders · available (last {minutes < 1 ? "minute" : `${minutes} min`})</th>
        </tr>
      </thead>
      <tbody>
        {stores.map((s) => {
          const id = s.store.id;
          const last = u64(s.status.last_heartbeat_ms);
          const cap = u64(s.status.capacity);
          const avail = u64(s.status.available);
          const pct = cap === 0n ? 0 : Number((avail * 1000n) / cap) / 10;
          return (
            <tr key={id} data-store-id={id}>
              <td>
                <span class="swatch" style={{ background: storeColour(u64(id)) }} /> {id}
              </td>
              <td>
                <span class={`state ${LIVENESS_CLASS[s.store.state_name] ?? "live-unknown"}`} data-testid="store-state">
                  {s.store.state_name}
                </span>
              </td>
              <td class="num" data-testid="store-regions">{s.status.region_count}</td>
              <td class="num" data-testid="store-leaders">{s.status.leader_count}</td>
              <td class="num">{formatBytes(cap)}</td>
              <td class="num">
                {formatBytes(avail)} <span class="muted">({pct.toFixed(1)}%)</span>
              </td>
              <td title={s.status.last_heartbeat_ts}>
                {formatDuration(Number(serverTimeMs - last))} ago <span class="muted">{formatWallMs(last).slice(11)}</span>
              </td>
              <td class="sparks">
                <Sparkline values={series(samples, id, 0)} title="regions" colour="#4e79a7" />
                <Sparkline values={series(samples, id, 1)} title="leaders" colour="#f28e2b" />
                <Sparkline values={series(samples, id, 2)} title="available bytes" colour="#59a14f" />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
