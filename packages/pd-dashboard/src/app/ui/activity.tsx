import { useEffect, useRef } from "preact/hooks";
import uPlot, { type Options } from "uplot";
import type { DashboardSampleJson } from "../../api-types.js";
import { formatCount } from "../format.js";
import { type Columns, heartbeats, quantileBetween, rates, ratios } from "../feed/rates.js";

interface SeriesDef {
  readonly label: string;
  readonly colour: string;
}

/** One uPlot chart, created once and fed new columns on every poll. */
function Chart({ title, series, data, unit }: { title: string; series: readonly SeriesDef[]; data: Columns; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: Options = {
      width: Math.max(240, el.clientWidth),
      height: 150,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      // At least the last minute on the axis, so that a page with few samples still reads as time.
      scales: { x: { time: true, range: (_u, lo, hi) => [Math.min(lo ?? hi ?? 0, (hi ?? 0) - 60), hi ?? 0] }, y: { range: (_u, lo, hi) => [Math.min(0, lo ?? 0), Math.max(1, hi ?? 1) * 1.1] } },
      axes: [{ stroke: "#666", grid: { stroke: "#eee" } }, { stroke: "#666", grid: { stroke: "#eee" }, size: 48, values: (_u, ticks) => ticks.map((t) => formatCount(t)) }],
      series: [{}, ...series.map((s) => ({ label: `${s.label} ${unit}`, stroke: s.colour, width: 1.5, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? "—" : formatCount(v)) }))],
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, el.clientWidth), height: 150 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

/**
 * The activity panels: rates of Tso, AllocID and heartbeats, the catalog's
 * group commit and append latency, from PD's ring of samples of the same
 * counters `/metrics` exposes.
 */
export function Activity({ samples }: { samples: readonly DashboardSampleJson[] }) {
  if (samples.length > 0 && samples.every((s) => s.counters === null)) {
    return <p class="muted">Metrics are off on this PD (metrics: false): no activity to show.</p>;
  }
  const tso = rates(samples, [(c) => c.tso_requests, (c) => c.tso_timestamps]);
  const ids = rates(samples, [(c) => c.id_requests, (c) => c.ids]);
  const hb = rates(samples, [
    (c) => heartbeats(c, (t, r) => t === "store" && r === "accepted"),
    (c) => heartbeats(c, (t, r) => t === "region" && r === "accepted"),
    (c) => heartbeats(c, (_t, r, why) => r === "rejected" && why === "stale_epoch"),
    (c) => heartbeats(c, (_t, r, why) => r === "rejected" && why === "range_overlap"),
    (c) => heartbeats(c, (_t, r, why) => r === "rejected" && why !== "stale_epoch" && why !== "range_overlap"),
  ]);
  const group = ratios(samples, [
    [(c) => c.append_edits_sum, (c) => c.append_count],
    [(c) => c.log_appends, (c) => c.log_syncs],
  ]);
  const mean = ratios(samples, [[(c) => c.append_seconds_sum, (c) => c.append_count]], 1000);
  const p99: Array<number | null> = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!.counters;
    const b = samples[i]!.counters;
    const q = a === null || b === null ? null : quantileBetween(a.append_seconds_buckets, b.append_seconds_buckets, 0.99);
    p99.push(q === null ? null : q * 1000);
  }
  const latency: Columns = [mean[0], mean[1]!, p99];
  return (
    <div class="charts">
      <Chart title="Tso" unit="/s" data={tso} series={[{ label: "requests", colour: "#4e79a7" }, { label: "timestamps", colour: "#f28e2b" }]} />
      <Chart title="AllocID" unit="/s" data={ids} series={[{ label: "calls", colour: "#4e79a7" }, { label: "ids", colour: "#f28e2b" }]} />
      <Chart
        title="Heartbeats"
        unit="/s"
        data={hb}
        series={[
          { label: "store ok", colour: "#59a14f" },
          { label: "region ok", colour: "#4e79a7" },
          { label: "stale epoch", colour: "#f28e2b" },
          { label: "overlap", colour: "#d62728" },
          { label: "other rejected", colour: "#9c755f" },
        ]}
      />
      <Chart title="Group commit" unit="" data={group} series={[{ label: "edits/append", colour: "#4e79a7" }, { label: "appends/fsync", colour: "#b07aa1" }]} />
      <Chart title="Catalog append until durable (write + fsync)" unit="ms" data={latency} series={[{ label: "mean", colour: "#4e79a7" }, { label: "p99", colour: "#d62728" }]} />
    </div>
  );
}
