class Batch { size = 0; resolves = []; rejects = []; offsets = []; constructor(d, t) { this.deadlineMs = d; this.timeoutMs = t; } }
let next = 1n;
const transport = (count) => new Promise((r) => setTimeout(() => { const first = next; next += count; r({ first, count }); }, 1));
let pending = new Map(); let scheduled = false;
const dispatch = (batch) => transport(BigInt(batch.size)).then((range) => { const { resolves, offsets } = batch; for (let i = 0; i < resolves.length; i++) resolves[i](range.first + BigInt(offsets[i])); });
const flush = () => { scheduled = false; const p = pending; pending = new Map(); for (const b of p.values()) dispatch(b); };
const MODE = process.env.MODE;
let single;
const get = (count, timeoutMs) => {
  let batch = MODE === "nomap" ? single : pending.get(timeoutMs);
  if (batch === undefined) { batch = new Batch(Date.now() + timeoutMs, timeoutMs); if (MODE === "nomap") single = batch; else pending.set(timeoutMs, batch);
    if (!scheduled) { scheduled = true; setImmediate(MODE === "nomap" ? () => { scheduled = false; const b = single; single = undefined; dispatch(b); } : flush); } }
  const b = batch; const offset = b.size; b.size += count;
  return new Promise((resolve, reject) => { b.resolves.push(resolve); b.rejects.push(reject); b.offsets.push(offset); });
};
let stop = false, got = 0;
setTimeout(() => stop = true, 3000);
const t = performance.now();
await Promise.all(Array.from({ length: 1000 }, async () => { while (!stop) { await get(1, 2000); got++; } }));
console.log("per sec", got / ((performance.now() - t) / 1000));
process.exit(0);
