import type { DashboardRegionChangesJson, DashboardRegionPageJson, DashboardSampleJson, DashboardSummaryJson } from "../../api-types.js";
import { RegionSet } from "../keymap/model.js";
import { ApiError, getJson } from "./api.js";
import { type OperatorsState, readOperators } from "./operators.js";

/** The connection to PD as the banner shows it. */
export interface Connection {
  readonly ok: boolean;
  /** Why the last poll failed. */
  readonly error: string;
  /** Wall-clock ms of the first failure in a row (for "since …"). */
  readonly lostAtMs: number | undefined;
  readonly attempts: number;
}

/** Everything the page draws, replaced (never mutated) on each poll; `regions` is the one mutable part, with a version. */
export interface FeedState {
  readonly summary: DashboardSummaryJson | undefined;
  /** Samples of PD's ring, oldest first, merged across polls. */
  readonly samples: readonly DashboardSampleJson[];
  readonly operators: OperatorsState | undefined;
  readonly operatorsError: string;
  readonly regions: RegionSet;
  /** Bumped whenever `regions` changed. */
  readonly regionsVersion: number;
  /** Loading the region map: pages read so far, regions so far. */
  readonly loading: { readonly pages: number; readonly regions: number } | undefined;
  readonly connection: Connection;
  /** `performance.now()` of the first time the map had every region (time to first full render). */
  readonly mapCompleteAt: number | undefined;
}

/** Poll period while the page is visible, and the longest back-off after failures, ms. */
export const POLL_MS = 1000;
const MAX_BACKOFF_MS = 3000;

/**
 * The page's data loop: polls PD's status API once a second (only while the
 * page is visible), keeps the region map current from the region feed, and
 * reports a lost connection, retrying until PD answers again. Polling, not
 * server-sent events: each poll is an ordinary GET any proxy or TLS
 * terminator passes, PD keeps no per-page state, a hidden tab costs nothing,
 * and a failure is seen on the next tick either way.
 */
export function createFeed(onChange: (s: FeedState) => void): { stop(): void; state(): FeedState } {
  const regions = new RegionSet();
  let state: FeedState = {
    summary: undefined,
    samples: [],
    operators: undefined,
    operatorsError: "",
    regions,
    regionsVersion: 0,
    loading: undefined,
    connection: { ok: true, error: "", lostAtMs: undefined, attempts: 0 },
    mapCompleteAt: undefined,
  };
  const set = (patch: Partial<FeedState>) => {
    state = { ...state, ...patch };
    onChange(state);
  };
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let instance = "";
  let lastSampleSeq = 0;

  async function loadAllRegions(generation: string): Promise<void> {
    let start = "";
    let pages = 0;
    let seq: number | undefined;
    set({ loading: { pages: 0, regions: 0 } });
    for (;;) {
      const page = await getJson<DashboardRegionPageJson>(`dashboard/regions?start_key=${start}`, 15_000);
      if (page.generation !== generation && pages === 0) generation = page.generation;
      if (page.generation !== generation) throw new Error("the region feed changed generation while loading");
      if (pages === 0) {
        seq = page.seq;
        regions.clear(page.generation, page.seq);
      }
      regions.addPage(page);
      pages++;
      set({ loading: { pages, regions: regions.size }, regionsVersion: regions.version });
      if (!page.has_more || page.next_start_key === undefined) break;
      start = page.next_start_key;
    }
    regions.seq = seq ?? 0;
    // Pages were read at different moments: replay what changed since the first.
    await applyChanges();
    set({ loading: undefined, regionsVersion: regions.version, mapCompleteAt: state.mapCompleteAt ?? performance.now() });
  }

  async function applyChanges(): Promise<boolean> {
    const ch = await getJson<DashboardRegionChangesJson>(`dashboard/region-changes?generation=${regions.generation}&since=${regions.seq}`);
    if (ch.reset) return false;
    regions.applyChanges(ch);
    set({ regionsVersion: regions.version });
    return true;
  }

  async function poll(): Promise<void> {
    let summary = await getJson<DashboardSummaryJson>(`dashboard/summary?since=${lastSampleSeq}`);
    let samples = state.samples;
    if (summary.member.instance !== instance) {
      // A restarted PD (or another member behind the address): its ring and feed are new.
      if (instance !== "" && lastSampleSeq > 0) summary = await getJson<DashboardSummaryJson>("dashboard/summary?since=0");
      instance = summary.member.instance;
      samples = [];
    }
    const fresh = summary.history.samples;
    if (fresh.length > 0) {
      samples = [...samples, ...fresh].slice(-summary.history.capacity);
      lastSampleSeq = fresh[fresh.length - 1]!.seq;
    }
    set({ summary, samples, connection: { ok: true, error: "", lostAtMs: undefined, attempts: 0 } });

    const cluster = summary.cluster;
    if (cluster !== null) {
      const feed = cluster.region_feed;
      if (feed.generation !== regions.generation) await loadAllRegions(feed.generation);
      else if (feed.seq !== regions.seq && !(await applyChanges())) await loadAllRegions(feed.generation);
      try {
        set({ operators: await readOperators(cluster.operators), operatorsError: "" });
      } catch (err) {
        if (err instanceof ApiError) set({ operatorsError: err.message });
        else throw err;
      }
    }
  }

  let running = false;
  async function tick(): Promise<void> {
    timer = undefined;
    if (stopped || running) return;
    if (document.visibilityState === "hidden") return; // resumed by visibilitychange
    let delay = POLL_MS;
    running = true;
    try {
      await poll();
    } catch (err) {
      const c = state.connection;
      const error = err instanceof ApiError ? `PD answered ${err.status}: ${err.message}` : err instanceof Error ? err.message : String(err);
      set({ connection: { ok: false, error, lostAtMs: c.lostAtMs ?? Date.now(), attempts: c.attempts + 1 } });
      delay = Math.min(POLL_MS * 2 ** Math.min(c.attempts, 2), MAX_BACKOFF_MS);
    } finally {
      running = false;
    }
    if (!stopped && timer === undefined) timer = setTimeout(() => void tick(), delay);
  }

  const onVisible = () => {
    if (document.visibilityState === "visible" && timer === undefined) void tick();
  };
  document.addEventListener("visibilitychange", onVisible);
  void tick();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    },
    state: () => state,
  };
}
