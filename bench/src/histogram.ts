/**
 * A latency histogram with fixed memory: log-linear buckets (16 per power of
 * two) from 1 µs to ~70 s, about 6 % resolution. Recording is one
 * `Math.log2` and an array increment: cheap enough for millions of calls.
 */
export class LatencyHistogram {
  static readonly #SUB = 16;
  readonly #counts = new Float64Array(27 * LatencyHistogram.#SUB);
  count = 0;
  #sum = 0;
  #max = 0;

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const us = ms * 1000;
    this.count++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
    const i = us <= 1 ? 0 : Math.min(this.#counts.length - 1, Math.floor(Math.log2(us) * LatencyHistogram.#SUB));
    this.#counts[i]!++;
  }

  /** Adds another histogram's samples. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! += other.#counts[i]!;
    this.count += other.count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /** The `q`-quantile (0..1) in milliseconds (upper edge of its bucket). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, 2 ** ((i + 1) / LatencyHistogram.#SUB) / 1000);
    }
    return this.#max;
  }

  get meanMs(): number {
    return this.count === 0 ? 0 : this.#sum / this.count;
  }

  get maxMs(): number {
    return this.#max;
  }
}
