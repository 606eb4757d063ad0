import type { Sample } from "../runner.js";
import { formatDuration } from "./report.js";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * An SVG line chart of the peers each store holds over simulated time (one
 * line per store; with more than ten stores, the lowest, the highest and the
 * mean at each sample instead), with the run's events marked.
 */
export function regionCountChart(title: string, samples: readonly Sample[], events: ReadonlyArray<{ readonly atMs: number; readonly label: string }>): string {
  const W = 820;
  const H = 420;
  const L = 60;
  const R = 170;
  const T = 40;
  const B = 50;
  const stores = [...new Set(samples.flatMap((s) => Object.keys(s.regionCounts)))].sort((a, b) => Number(a) - Number(b));
  const many = stores.length > 10;
  const series: Array<{ name: string; points: Array<[number, number]> }> = many
    ? [
        { name: "max", points: samples.map((s) => [s.atMs, Math.max(...Object.values(s.regionCounts))]) },
        { name: "mean", points: samples.map((s) => [s.atMs, Object.values(s.regionCounts).reduce((a, b) => a + b, 0) / Math.max(1, Object.keys(s.regionCounts).length)]) },
        { name: "min", points: samples.map((s) => [s.atMs, Math.min(...Object.values(s.regionCounts))]) },
      ]
    : stores.map((id) => ({
        name: `store ${id}`,
        points: samples.filter((s) => s.regionCounts[id] !== undefined).map((s) => [s.atMs, s.regionCounts[id]!] as [number, number]),
      }));
  const tMax = Math.max(1, ...samples.map((s) => s.atMs));
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map(([, y]) => y)));
  const x = (t: number) => L + ((W - L - R) * t) / tMax;
  const y = (v: number) => T + (H - T - B) * (1 - v / (yMax * 1.05));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * 1.05 * i) / 5;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`);
    const t = (tMax * i) / 5;
    out.push(`<text x="${x(t).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${formatDuration(t)}</text>`);
  }
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">simulated time</text>`);
  out.push(`<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">peers per store</text>`);
  for (const e of events) {
    out.push(`<line x1="${x(e.atMs).toFixed(1)}" x2="${x(e.atMs).toFixed(1)}" y1="${T}" y2="${H - B}" stroke="#999" stroke-dasharray="4 3"/>`);
  }
  series.forEach((s, i) => {
    const d = s.points.map(([t, v], j) => `${j === 0 ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join("");
    const color = COLORS[i % COLORS.length]!;
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    out.push(`<rect x="${W - R + 14}" y="${T + i * 18 - 9}" width="12" height="3" fill="${color}"/><text x="${W - R + 32}" y="${T + i * 18 - 4}">${esc(s.name)}</text>`);
  });
  events.forEach((e, i) => out.push(`<text x="${W - R + 14}" y="${T + (series.length + 1 + i) * 18}" fill="#666">${esc(`${formatDuration(e.atMs)}: ${e.label}`)}</text>`));
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
