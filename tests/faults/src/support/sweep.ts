import { randomInt } from "node:crypto";
import { availableParallelism } from "node:os";

/**
 * `PD_FAULTS_LONG=1` runs the long sweep (every offset, every byte, many
 * more kills and races); without it, the small sweep that `npm test` runs.
 */
export const LONG_SWEEP = process.env.PD_FAULTS_LONG === "1";

/** `small` in the default run, `long` with `PD_FAULTS_LONG=1`. */
export function bySize<T>(small: T, long: T): T {
  return LONG_SWEEP ? long : small;
}

/** How many pd-cli starts a sweep runs side by side: start-up is CPU-bound, so about one per core. */
export const START_CONCURRENCY = Math.max(2, Math.min(4, availableParallelism()));

/** A small seeded PRNG (mulberry32), so that a failing sweep can be repeated with `PD_FAULTS_SEED`. */
export interface Random {
  readonly seed: number;
  /** An integer in `[0, maxExclusive)`. */
  int(maxExclusive: number): number;
  /** `count` distinct values of `from` (all of them if it has fewer), in ascending order. */
  sample(from: readonly number[], count: number): number[];
}

/**
 * A {@link Random} seeded from `PD_FAULTS_SEED`, or from the OS; the seed is
 * printed with `label` so that the run can be repeated.
 */
export function createRandom(label: string): Random {
  const fromEnv = process.env.PD_FAULTS_SEED;
  const seed = fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) >>> 0 : randomInt(2 ** 31);
  console.log(`${label}: seed ${seed} (PD_FAULTS_SEED=${seed} repeats it)`);
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (maxExclusive: number) => Math.floor(next() * maxExclusive);
  return {
    seed,
    int,
    sample(from, count) {
      const pool = [...from];
      for (let i = pool.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      }
      return pool.slice(0, count).sort((a, b) => a - b);
    },
  };
}

/** Runs `fn` on every item, at most `limit` at a time; rejects with the first failure once all have settled. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/** `[from, to)` as an array. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
