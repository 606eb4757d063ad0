import { randomBytes } from "node:crypto";
import type { RegionEdit } from "@nokv/pd-core";

/** What {@link RegionJournal.since} answers: the ids changed after a position, or that the position is gone. */
export type JournalDelta = { readonly reset: true } | { readonly reset: false; readonly ids: readonly bigint[] };

/**
 * The region feed of the status page: which regions changed, in order, so
 * that a page holding 100k regions asks only for those that changed since
 * its last look, instead of reading the catalog again.
 *
 * It records ids, not regions: a reader asks the catalog for the region as
 * it is now (or learns it is gone), so applying an answer twice or late
 * still converges on the catalog. Edits are recorded when their append is
 * durable, just before the catalog applies them; a status request runs in
 * a later task, so it always finds them applied.
 *
 * One journal per cluster model (a single PD has one; an elected member
 * builds a new one per term), told apart by `generation`. A bounded ring:
 * a reader further behind than `capacity` edits is told to reload.
 */
export class RegionJournal {
  /** Random per journal: a page that holds another generation reloads. */
  readonly generation = randomBytes(6).toString("hex");
  readonly #ids: bigint[];
  #seq = 0;

  constructor(readonly capacity = 16_384) {
    this.#ids = new Array<bigint>(capacity);
  }

  /** The position after the last recorded edit (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /** Records durable edits (puts and deletes alike: the reader looks the id up). */
  record(edits: readonly RegionEdit[]): void {
    for (const e of edits) {
      this.#ids[this.#seq % this.capacity] = e.kind === "put" ? e.region.id : e.regionId;
      this.#seq++;
    }
  }

  /**
   * The distinct ids changed after position `since`, oldest first; `reset`
   * when `since` is ahead of the journal (another generation) or no longer
   * in the ring.
   */
  since(since: number): JournalDelta {
    if (!Number.isSafeInteger(since) || since < 0 || since > this.#seq || this.#seq - since > this.capacity) return { reset: true };
    const seen = new Set<bigint>();
    for (let s = since; s < this.#seq; s++) seen.add(this.#ids[s % this.capacity]!);
    return { reset: false, ids: [...seen] };
  }
}
