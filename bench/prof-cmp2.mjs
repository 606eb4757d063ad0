import { boundaryKey, randomKey } from "./dist/regions.js";
function compareKeys(a, b) { const n = a.length < b.length ? a.length : b.length; for (let i = 0; i < n; i++) { const d = a[i] - b[i]; if (d !== 0) return d; } return a.length - b.length; }
function compareKeys2(a, b) { const n = a.length < b.length ? a.length : b.length; let i = 0; while (i < n && a[i] === b[i]) i++; return i < n ? a[i] - b[i] : a.length - b.length; }
const n = 1000;
const keys = Array.from({ length: n }, (_, i) => Uint8Array.from(boundaryKey(i)));
const qs = Array.from({ length: 200000 }, () => Uint8Array.from(randomKey(n)));
function bs(arr, k, cmp) { let lo = 0, hi = arr.length; while (lo < hi) { const m = (lo + hi) >> 1; if (cmp(arr[m], k) <= 0) lo = m + 1; else hi = m; } return lo; }
const mode = process.argv[2];
for (let r = 0; r < 3; r++) {
  const t = performance.now(); let s = 0;
  if (mode === "1") for (const q of qs) s += bs(keys, q, compareKeys); else for (const q of qs) s += bs(keys, q, compareKeys2);
  console.log(mode, ((performance.now() - t) / qs.length * 1e6).toFixed(0), "ns/search");
}
