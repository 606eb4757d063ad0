/** The two store-limit budgets, as TiKV's store limit: peers added on a store, peers removed from it. */
export type StoreLimitType = "add-peer" | "remove-peer";

interface Bucket {
  tokens: number;
  atMs: number;
  ratePerMin: number;
}

/**
 * Token buckets, one per store and {@link StoreLimitType}: a store takes
 * part in at most `ratePerMin` add-peer (remove-peer) operations per minute
 * over any long stretch. A bucket holds at most ten seconds' worth of tokens
 * (and at least one): PD plans on store heartbeats, which NoKV's stores
 * send every ten seconds, so a smaller burst would cap the rate below the
 * limit, and a larger one would let a quiet store take a long burst.
 *
 * Pure: time comes from the injected monotonic clock; `rateOf` is read on
 * every use, so a changed limit applies at once.
 */
export class StoreLimiter {
  /** Per store: the add-peer and the remove-peer bucket. */
  readonly #buckets = new Map<bigint, { "add-peer"?: Bucket; "remove-peer"?: Bucket }>();
  readonly #rateOf: (storeId: bigint, type: StoreLimitType) => number;
  readonly #nowMs: () => number;
  readonly #hits: Record<StoreLimitType, number> = { "add-peer": 0, "remove-peer": 0 };

  constructor(rateOf: (storeId: bigint, type: StoreLimitType) => number, nowMs: () => number) {
    this.#rateOf = rateOf;
    this.#nowMs = nowMs;
  }

  /** Most tokens a bucket of this rate holds. */
  static capacity(ratePerMin: number): number {
    return Math.max(1, ratePerMin / 6);
  }

  #bucket(storeId: bigint, type: StoreLimitType): Bucket {
    const rate = this.#rateOf(storeId, type);
    const now = this.#nowMs();
    const cap = StoreLimiter.capacity(rate);
    let pair = this.#buckets.get(storeId);
    if (pair === undefined) {
      pair = {};
      this.#buckets.set(storeId, pair);
    }
    let b = pair[type];
    if (b === undefined) {
      b = { tokens: cap, atMs: now, ratePerMin: rate };
      pair[type] = b;
      return b;
    }
    if (now > b.atMs) {
      b.tokens = Math.min(cap, b.tokens + ((now - b.atMs) * b.ratePerMin) / 60_000);
      b.atMs = now;
    }
    if (b.ratePerMin !== rate) {
      b.ratePerMin = rate;
      b.tokens = Math.min(b.tokens, cap);
    }
    return b;
  }

  /** Whether the store may take part in one more operation of this type now. */
  available(storeId: bigint, type: StoreLimitType): boolean {
    return this.#bucket(storeId, type).tokens >= 1;
  }

  /** Spends one token; callers check {@link available} first. */
  take(storeId: bigint, type: StoreLimitType): void {
    this.#bucket(storeId, type).tokens -= 1;
  }

  /** Counts an operation not planned because a store's limit was spent. */
  hit(type: StoreLimitType): void {
    this.#hits[type]++;
  }

  /** Operations not planned because of a store limit, by type, since start-up. */
  hits(): Readonly<Record<StoreLimitType, number>> {
    return { ...this.#hits };
  }
}
