import { TsoBatcher } from "../packages/pd-client/dist/tso-batcher.js";
let next = 1n;
const b = new TsoBatcher((count) => new Promise((r) => setTimeout(() => { const first = next; next += count; r({ first, count }); }, 1)));
let stop = false, got = 0;
setTimeout(() => stop = true, 3000);
const t = performance.now();
await Promise.all(Array.from({ length: 1000 }, async () => { while (!stop) { await b.request(1, 2000, undefined, () => 0); got++; } }));
console.log("per sec", got / ((performance.now() - t) / 1000));
