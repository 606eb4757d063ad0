import { formatKey } from "../format.js";
import { SlotKind, type Slots } from "./model.js";

/** Which part of the slot axis is on screen: `first` (fractional slot at x = 0) and slots per CSS pixel. */
export interface View {
  readonly first: number;
  readonly perPx: number;
}

/** The view that shows every slot. */
export function fitView(slots: Slots, widthPx: number): View {
  return { first: 0, perPx: Math.max(slots.count, 1) / Math.max(widthPx, 1) };
}

/** Keeps a view inside the axis: no zooming in past one slot across the whole width, nor out past every slot, no panning beyond either end. */
export function clampView(v: View, slots: Slots, widthPx: number): View {
  const n = Math.max(slots.count, 1);
  const w = Math.max(widthPx, 1);
  const perPx = Math.min(Math.max(v.perPx, 1 / w), n / w);
  const span = perPx * widthPx;
  const first = Math.min(Math.max(v.first, 0), Math.max(n - span, 0));
  return { first, perPx };
}

/** Zooms by `factor` (< 1 zooms in) keeping the slot under `xPx` in place. */
export function zoomAt(v: View, xPx: number, factor: number): View {
  const at = v.first + xPx * v.perPx;
  const perPx = v.perPx * factor;
  return { first: at - xPx * perPx, perPx };
}

/** The colour of a store: fixed by its id, so it is the same in every view and across reloads. */
export const STORE_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#86bcb6", "#8cd17d", "#a0cbe8", "#d4a6c8"];
export function storeColour(storeId: bigint): string {
  return STORE_PALETTE[Number(storeId % BigInt(STORE_PALETTE.length))]!;
}
export const HOLE_COLOUR = "#d62728";
export const OVERLAP_COLOUR = "#222222";

/** Layout of the map, in CSS pixels. */
export const LANE = { marksTop: 0, marksHeight: 10, regionsTop: 14, regionsHeight: 84, axisTop: 104, height: 124 } as const;

/**
 * Draws the map: a lane of marks (holes red, overlaps orange, at least 2 px
 * wide so that one hole among 100k regions still shows), the regions lane
 * and key labels. Each pixel column adds up the slots it covers: a region
 * counts for its leader's store when PD knows the leader, else a share for
 * each of its peers' stores; the column is drawn as bands in proportion.
 * Zoomed in far enough, each region is one block with its own bands. Peers
 * on stores that are not up are drawn faded. Linear in the slots on screen.
 */
export function drawMap(
  ctx: CanvasRenderingContext2D,
  slots: Slots,
  view: View,
  widthPx: number,
  dpr: number,
  isUp: (storeId: bigint) => boolean,
): void {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, widthPx, LANE.height);
  ctx.fillStyle = "#f4f5f7";
  ctx.fillRect(0, LANE.regionsTop, widthPx, LANE.regionsHeight);
  const weights = new Map<bigint, number>();
  if (view.perPx <= 1 / 3) {
    // Zoomed in: one block per slot, from its left edge to its right edge.
    const last = Math.min(slots.count, Math.ceil(view.first + widthPx * view.perPx));
    for (let i = Math.max(0, Math.floor(view.first)); i < last; i++) {
      const left = Math.max((i - view.first) / view.perPx, 0);
      const right = Math.min((i + 1 - view.first) / view.perPx, widthPx);
      drawColumn(ctx, slots, i, i + 1, left, right - left, weights, isUp, true);
    }
  } else {
    for (let x = 0; x < Math.ceil(widthPx); x++) {
      const { lo, hi } = slotsAt(slots, view, x);
      if (lo >= slots.count) break;
      drawColumn(ctx, slots, lo, hi, x, 1, weights, isUp, false);
    }
  }
  drawAxis(ctx, slots, view, widthPx);
}

function drawColumn(
  ctx: CanvasRenderingContext2D,
  slots: Slots,
  lo: number,
  hi: number,
  x: number,
  w: number,
  weights: Map<bigint, number>,
  isUp: (storeId: bigint) => boolean,
  block: boolean,
): void {
  weights.clear();
  let total = 0;
  let hole = false;
  let overlap = false;
  const faded = new Set<bigint>();
  for (let i = lo; i < hi; i++) {
    const k = slots.kind[i];
    if (k === SlotKind.Hole) {
      hole = true;
      continue;
    }
    if (k === SlotKind.Overlap) {
      overlap = true;
      continue;
    }
    const r = slots.regions[slots.ref[i]!]!;
    if (r.leaderStore !== undefined) {
      weights.set(r.leaderStore, (weights.get(r.leaderStore) ?? 0) + 1);
      total += 1;
      continue;
    }
    const share = r.peers.length === 0 ? 0 : 1 / r.peers.length;
    for (const p of r.peers) weights.set(p.storeId, (weights.get(p.storeId) ?? 0) + share);
    total += share * r.peers.length;
  }
  const inset = block && w > 4 ? 1 : 0;
  if (hole || overlap) {
    ctx.fillStyle = hole ? HOLE_COLOUR : OVERLAP_COLOUR;
    ctx.fillRect(x, LANE.marksTop, Math.max(w, 2), LANE.marksHeight);
    if (block || total === 0) {
      // A hole or overlap slot of its own: hatch it in the regions lane too.
      ctx.fillStyle = hole ? "rgba(214,39,40,0.25)" : "rgba(34,34,34,0.35)";
      ctx.fillRect(x + inset, LANE.regionsTop, Math.max(w - 2 * inset, 2), LANE.regionsHeight);
    }
  }
  if (total === 0) return;
  let y = LANE.regionsTop;
  const ids = [...weights.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids) {
    const h = (weights.get(id)! / total) * LANE.regionsHeight;
    if (!isUp(id)) faded.add(id);
    ctx.globalAlpha = faded.has(id) ? 0.3 : 1;
    ctx.fillStyle = storeColour(id);
    ctx.fillRect(x + inset, y, Math.max(w - 2 * inset, 1), h);
    y += h;
  }
  ctx.globalAlpha = 1;
}

/**
 * Key labels at slot edges: every edge when there is room (each region's
 * start key), else about one every 160 px, snapped to the nearest edge. The
 * last edge of the key space is labelled +inf.
 */
function drawAxis(ctx: CanvasRenderingContext2D, slots: Slots, view: View, widthPx: number): void {
  ctx.fillStyle = "#555";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  const edges: number[] = [];
  const firstEdge = Math.max(0, Math.ceil(view.first));
  const lastEdge = Math.min(slots.count, Math.floor(view.first + widthPx * view.perPx));
  if ((lastEdge - firstEdge + 1) * 70 <= widthPx) {
    for (let e = firstEdge; e <= lastEdge; e++) edges.push(e);
  } else {
    const ticks = Math.max(2, Math.floor(widthPx / 160));
    for (let t = 0; t <= ticks; t++) edges.push(Math.round(view.first + ((t / ticks) * widthPx) * view.perPx));
  }
  let lastRight = -Infinity;
  for (const e of edges) {
    if (e < 0 || e > slots.count) continue;
    const x = (e - view.first) / view.perPx;
    const label = (e === slots.count ? formatKey(slots.to[e - 1] ?? "", true) : formatKey(slots.from[e]!)).slice(0, 20);
    const w = ctx.measureText(label).width;
    const left = Math.min(Math.max(x - w / 2, 0), widthPx - w);
    if (left < lastRight + 6) continue;
    ctx.fillRect(Math.min(Math.max(x, 0), widthPx - 1), LANE.axisTop - 5, 1, 5);
    ctx.fillText(label, left, LANE.axisTop);
    lastRight = left + w;
  }
}

/** The slots under pixel column `xPx` (one when zoomed in). */
export function slotsAt(slots: Slots, view: View, xPx: number): { lo: number; hi: number } {
  const a = view.first + xPx * view.perPx;
  const lo = Math.max(0, Math.floor(a));
  const hi = Math.min(slots.count, Math.max(lo + 1, Math.ceil(a + view.perPx)));
  return { lo, hi };
}
