import { useEffect, useRef } from "preact/hooks";

/** A small line of the last minutes' values (PD's ring of samples); `null` is a gap. */
export function Sparkline({ values, colour = "#4e79a7", title }: { values: ReadonlyArray<number | null>; colour?: string; title?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (c === null) return;
    const dpr = window.devicePixelRatio || 1;
    const w = 96;
    const h = 22;
    c.width = w * dpr;
    c.height = h * dpr;
    const ctx = c.getContext("2d");
    if (ctx === null) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v === null) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (lo === Infinity) return;
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    let pen = false;
    values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      const x = values.length === 1 ? w - 1 : (i / (values.length - 1)) * (w - 2) + 1;
      const y = h - 2 - ((v - lo) / (hi - lo)) * (h - 4);
      if (pen) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }, [values, colour]);
  return <canvas ref={ref} class="spark" style={{ width: "96px", height: "22px" }} title={title} aria-hidden="true" />;
}
