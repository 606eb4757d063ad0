import type { TikvStoreJson } from "@nokv/pd-model";
import { useEffect, useRef, useState } from "preact/hooks";
import { formatKey, formatRange, u64 } from "../format.js";
import { type RegionSet, SlotKind, type Slots } from "../keymap/model.js";
import { clampView, drawMap, fitView, HOLE_COLOUR, LANE, OVERLAP_COLOUR, slotsAt, storeColour, type View, zoomAt } from "../keymap/render.js";

interface Tip {
  /** The slots described, `lo`–`hi` (exclusive). */
  readonly slots: string;
  readonly x: number;
  readonly y: number;
  readonly lines: readonly string[];
}

function describe(slots: Slots, lo: number, hi: number): string[] {
  if (hi - lo === 1) {
    const k = slots.kind[lo];
    if (k === SlotKind.Hole) return ["hole: no region holds", formatRange(slots.from[lo]!, slots.to[lo]!)];
    if (k === SlotKind.Overlap) {
      const next = slots.regions[slots.ref[lo]!]!;
      return [`overlap: region ${next.id} starts inside an earlier region`, formatRange(slots.from[lo]!, slots.to[lo]!)];
    }
    const r = slots.regions[slots.ref[lo]!]!;
    return [
      `region ${r.id}`,
      formatRange(r.start, r.end),
      `hex [${r.start === "" ? '""' : r.start}, ${r.end === "" ? "+inf" : r.end})`,
      `epoch {v:${r.version} c:${r.confVer}}`,
      `peers ${r.peers.map((p) => `${p.peerId}@store ${p.storeId}`).join(", ") || "none"}`,
      `leader ${r.leaderStore === undefined ? "unknown to PD" : `store ${r.leaderStore}`}`,
    ];
  }
  let regions = 0;
  let holes = 0;
  let overlaps = 0;
  for (let i = lo; i < hi; i++) {
    const k = slots.kind[i];
    if (k === SlotKind.Region) regions++;
    else if (k === SlotKind.Hole) holes++;
    else overlaps++;
  }
  const last = hi - 1;
  return [
    `${regions} regions${holes > 0 ? `, ${holes} holes` : ""}${overlaps > 0 ? `, ${overlaps} overlaps` : ""}`,
    `from ${formatKey(slots.from[lo]!)}`,
    `to ${formatKey(slots.to[last]!, true)}`,
    "zoom in (wheel, +) to see each region",
  ];
}

/**
 * The key-space map on a canvas, from the empty key to +inf: wheel or the
 * buttons zoom around the pointer, dragging pans, a double click fits the
 * whole key space; hovering shows the region (or the aggregate, zoomed out).
 */
export function KeyMap({ regions, version, stores, loading }: { regions: RegionSet; version: number; stores: readonly TikvStoreJson[]; loading: boolean }) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const view = useRef<View | undefined>(undefined);
  const width = useRef(800);
  const frame = useRef(0);
  const drag = useRef<{ x: number; first: number } | undefined>(undefined);
  const [tip, setTip] = useState<Tip | undefined>(undefined);
  const [, setViewTick] = useState(0);
  const up = new Set(stores.filter((s) => s.store.state_name === "Up").map((s) => s.store.id));
  const upRef = useRef(up);
  upRef.current = up;

  const slots = regions.slots();
  const slotsRef = useRef(slots);
  // Until the user zooms or pans, the map shows the whole key space, whatever
  // arrives or resizes; "fit" and a double click return to that.
  const fitted = useRef(true);
  const current = (): View => (fitted.current || view.current === undefined ? fitView(slotsRef.current, width.current) : view.current);
  slotsRef.current = slots;
  view.current = fitted.current ? fitView(slots, width.current) : clampView(current(), slots, width.current);

  const redraw = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const c = canvas.current;
      if (c === null) return;
      const s = slotsRef.current;
      const w = width.current;
      view.current = clampView(current(), s, w);
      const dpr = window.devicePixelRatio || 1;
      if (c.width !== Math.round(w * dpr)) c.width = Math.round(w * dpr);
      if (c.height !== Math.round(LANE.height * dpr)) c.height = Math.round(LANE.height * dpr);
      const ctx = c.getContext("2d");
      if (ctx === null) return;
      drawMap(ctx, s, view.current, w, dpr, (id) => upRef.current.has(id.toString()));
      c.dataset.drawnVersion = String(version);
    });
  };

  useEffect(() => {
    const el = wrap.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => {
      width.current = Math.max(200, el.clientWidth);
      redraw();
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(redraw, [version, stores]);

  const setView = (v: View, fit = false) => {
    fitted.current = fit;
    view.current = clampView(v, slotsRef.current, width.current);
    setViewTick((t) => t + 1);
    redraw();
  };
  const zoom = (factor: number, x = width.current / 2) => setView(zoomAt(current(), x, factor));
  const localX = (e: MouseEvent) => e.clientX - (canvas.current?.getBoundingClientRect().left ?? 0);

  const onMove = (e: MouseEvent) => {
    const x = localX(e);
    const d = drag.current;
    if (d !== undefined) {
      const v = current();
      setView({ first: d.first - (x - d.x) * v.perPx, perPx: v.perPx });
      setTip(undefined);
      return;
    }
    const { lo, hi } = slotsAt(slots, current(), x);
    if (lo >= slots.count) return setTip(undefined);
    setTip({ slots: `${lo}-${hi}`, x: Math.min(x + 12, width.current - 260), y: e.offsetY + 12, lines: describe(slots, lo, hi) });
  };

  const v = current();
  const shownFrom = Math.max(0, Math.floor(v.first));
  const shownTo = Math.min(slots.count, Math.ceil(v.first + v.perPx * width.current));
  const storeIds = [...new Set(stores.map((s) => s.store.id))];
  return (
    <div class="keymap">
      <div class="toolbar">
        <button type="button" onClick={() => zoom(1 / 2)} title="zoom in">+</button>
        <button type="button" onClick={() => zoom(2)} title="zoom out">−</button>
        <button type="button" onClick={() => setView(fitView(slots, width.current), true)} title="the whole key space">fit</button>
        <span class="muted" data-testid="map-summary">
          {regions.size} regions · <span class={slots.holes > 0 ? "bad" : ""}>{slots.holes} holes</span> ·{" "}
          <span class={slots.overlaps > 0 ? "bad" : ""}>{slots.overlaps} overlaps</span> · showing slots {shownFrom + 1}–{shownTo} of {slots.count}
          {loading ? " · loading…" : ""}
        </span>
        <span class="legend">
          {storeIds.map((id) => (
            <span key={id}>
              <span class="swatch" style={{ background: storeColour(u64(id)) }} /> store {id}
            </span>
          ))}
          <span>
            <span class="swatch" style={{ background: HOLE_COLOUR }} /> hole
          </span>
          <span>
            <span class="swatch" style={{ background: OVERLAP_COLOUR }} /> overlap
          </span>
        </span>
      </div>
      <div class="canvas-wrap" ref={wrap}>
        <canvas
          ref={canvas}
          data-testid="keymap"
          data-slots={slots.count}
          data-regions={regions.size}
          data-holes={slots.holes}
          data-overlaps={slots.overlaps}
          data-version={version}
          style={{ width: "100%", height: `${LANE.height}px` }}
          onWheel={(e) => {
            e.preventDefault();
            zoom(e.deltaY < 0 ? 1 / 1.25 : 1.25, localX(e));
          }}
          onMouseDown={(e) => {
            drag.current = { x: localX(e), first: current().first };
          }}
          onMouseUp={() => (drag.current = undefined)}
          onMouseLeave={() => {
            drag.current = undefined;
            setTip(undefined);
          }}
          onMouseMove={onMove}
          onDblClick={() => setView(fitView(slots, width.current), true)}
        />
        {tip !== undefined ? (
          <div class="tip" role="tooltip" data-testid="keymap-tip" data-slots={tip.slots} style={{ left: `${tip.x}px`, top: `${tip.y}px` }}>
            {tip.lines.map((l, i) => (
              <div key={i} class={i === 0 ? "tip-title" : ""}>{l}</div>
            ))}
          </div>
        ) : null}
      </div>
      <p class="muted small">
        Each region is one slot of equal width, in key order; a colour is the store of the region's leader when PD knows it (from a leader transfer
        it saw complete), else a band per peer's store. Faded: a store that is not up. Zoomed out, each pixel sums the regions it covers.
      </p>
    </div>
  );
}
