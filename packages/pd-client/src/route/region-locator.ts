import { status as GrpcStatus } from "@grpc/grpc-js";
import { compareKeys, type Region, type RegionPeer } from "@nokv/pd-model";
import { bytesToWire } from "@nokv/pd-proto";
import { Deadline } from "../call/deadline.js";
import type { Invoker } from "../call/invoker.js";
import { regionFromWire, regionPageFromWire } from "../convert.js";
import { abortedError, PdClientError } from "../errors.js";
import { RouteCache, regionContains } from "./route-cache.js";

/** A region and what stores said about its leader. */
export interface RegionLocation {
  readonly region: Region;
  /** The peer a store named as leader ({@link PdClient.updateLeader}); PD itself does not say. */
  readonly leader: RegionPeer | undefined;
}

/** Counters the locator keeps for `stats()`. */
export interface LocatorCounters {
  routeCacheHits: number;
  routeCacheMisses: number;
  /** Lookups that joined a lookup of the same key already in flight instead of sending their own. */
  regionLookupsJoined: number;
}

/** A lookup of one key in flight, shared by every caller that asked for that key meanwhile. */
interface Flight {
  readonly promise: Promise<Region | undefined>;
  readonly deadline: Deadline;
  readonly controller: AbortController;
  waiters: number;
}

const keyId = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");

/**
 * Finds regions for keys, the way client-go's region cache does: from the
 * {@link RouteCache} when it can, otherwise by asking PD — once per key, however
 * many callers ask at the same time (single-flight: 1000 concurrent cold
 * lookups of one key send one `GetRegionByKey`). Each caller keeps its own
 * deadline and signal while it waits for a shared lookup; the lookup is
 * cancelled only when every caller has stopped waiting.
 */
export class RegionLocator {
  readonly #invoker: Invoker;
  readonly #cache: RouteCache | undefined;
  readonly #nowMs: () => number;
  readonly #flights = new Map<string, Flight>();
  readonly counters: LocatorCounters = { routeCacheHits: 0, routeCacheMisses: 0, regionLookupsJoined: 0 };

  constructor(invoker: Invoker, cache: RouteCache | undefined, nowMs: () => number) {
    this.#invoker = invoker;
    this.#cache = cache;
    this.#nowMs = nowMs;
  }

  /** A cached region holding `key` (a hit, counted) or undefined (a miss, counted when the cache is on). */
  cached(key: Uint8Array): Region | undefined {
    const cache = this.#cache;
    if (cache === undefined) return undefined;
    const hit = cache.lookup(key, this.#nowMs());
    if (hit !== undefined) this.counters.routeCacheHits += 1;
    else this.counters.routeCacheMisses += 1;
    return hit;
  }

  /** The region holding `key`: cached, else one shared lookup. */
  async regionAt(key: Uint8Array, d: Deadline, bypassCache = false): Promise<Region | undefined> {
    if (!bypassCache) {
      const hit = this.cached(key);
      if (hit !== undefined) return hit;
      return this.shared(key, d);
    }
    return this.#fetch(key, d);
  }

  /** The region holding `key` with its leader hint. */
  async locate(key: Uint8Array, d: Deadline): Promise<RegionLocation | undefined> {
    const region = await this.regionAt(key, d);
    if (region === undefined) return undefined;
    const entry = this.#cache?.lookupEntry(key, this.#nowMs());
    return { region, leader: entry !== undefined && entry.region.id === region.id ? RouteCache.leaderOf(entry) : undefined };
  }

  /**
   * The regions covering `[startKey, endKey)` in key order (an empty
   * `endKey` is +infinity), from the cache where it holds them and from PD
   * (one lookup per missing region) where it does not. A stretch of keys no
   * region holds is skipped with one `ListRegions`.
   */
  async regionsInRange(startKey: Uint8Array, endKey: Uint8Array, d: Deadline): Promise<Region[]> {
    const out: Region[] = [];
    if (endKey.length > 0 && compareKeys(startKey, endKey) >= 0) return out;
    let key = startKey;
    for (;;) {
      let r = await this.regionAt(key, d);
      if (r === undefined) {
        r = await this.#nextAfterGap(key, d);
        if (r === undefined || (endKey.length > 0 && compareKeys(r.startKey, endKey) >= 0)) return out;
      }
      out.push(r);
      if (r.endKey.length === 0 || (endKey.length > 0 && compareKeys(r.endKey, endKey) >= 0)) return out;
      key = r.endKey;
    }
  }

  /**
   * The region just before the one holding `key`: the region whose end key
   * is that region's start key (for a key no region holds, the region
   * holding the greatest key below it). Undefined before the first region.
   */
  async prevRegion(key: Uint8Array, d: Deadline): Promise<Region | undefined> {
    const current = await this.regionAt(key, d);
    const bound = current === undefined ? key : current.startKey;
    if (bound.length === 0) return undefined;
    if (this.#cache !== undefined) {
      const hit = this.#cache.lookupByEndKey(bound, this.#nowMs());
      if (hit !== undefined) {
        this.counters.routeCacheHits += 1;
        return hit;
      }
    }
    // A key below the bound: the exact predecessor when the last byte is 0
    // ("m\0" -> "m"); otherwise one step down in the last byte ("m" -> "l"),
    // from where the regions are walked forward up to the bound.
    const last = bound[bound.length - 1]!;
    const probe = last === 0 ? bound.subarray(0, bound.length - 1) : Uint8Array.from([...bound.subarray(0, bound.length - 1), last - 1]);
    let r = await this.regionAt(probe, d);
    while (r !== undefined) {
      if (r.endKey.length === 0 || compareKeys(r.endKey, bound) >= 0) return r;
      r = await this.regionAt(r.endKey, d);
    }
    return undefined;
  }

  /** The region holding `key` from PD, joining the lookup of `key` in flight or starting it (the cache was missed). */
  async shared(key: Uint8Array, d: Deadline): Promise<Region | undefined> {
    const id = keyId(key);
    for (;;) {
      let flight = this.#flights.get(id);
      if (flight === undefined) {
        const controller = new AbortController();
        const fd = new Deadline(d.timeoutMs, d.atMs, controller.signal);
        const promise = this.#fetch(key, fd);
        const f: Flight = { promise, deadline: fd, controller, waiters: 0 };
        this.#flights.set(id, f);
        // Whoever waits sees the outcome; the flight itself must not leave an unhandled rejection.
        promise.then(
          () => this.#land(id, f),
          () => this.#land(id, f),
        );
        flight = f;
      } else {
        this.counters.regionLookupsJoined += 1;
      }
      try {
        return await this.#wait(id, flight, d);
      } catch (err) {
        // The shared lookup ran out of its own time (another caller's
        // deadline) while this caller still has time: look again.
        const retry =
          err instanceof PdClientError && err.retryable && flight.deadline.atMs < d.atMs && !d.expired && !(d.signal?.aborted ?? false);
        if (!retry) throw err;
      }
    }
  }

  #land(id: string, f: Flight): void {
    if (this.#flights.get(id) === f) this.#flights.delete(id);
  }

  /** Waits for a shared lookup with this caller's own deadline and signal. */
  #wait(id: string, f: Flight, d: Deadline): Promise<Region | undefined> {
    f.waiters += 1;
    return new Promise<Region | undefined>((resolve, reject) => {
      let done = false;
      const leave = (): void => {
        done = true;
        clearTimeout(timer);
        d.signal?.removeEventListener("abort", onAbort);
        f.waiters -= 1;
        if (f.waiters === 0 && this.#flights.get(id) === f) {
          // Nobody waits any more: stop asking PD.
          this.#flights.delete(id);
          f.controller.abort();
        }
      };
      const onAbort = (): void => {
        if (done) return;
        leave();
        reject(abortedError("GetRegionByKey", d.signal!));
      };
      const timer = setTimeout(() => {
        if (done) return;
        leave();
        reject(
          new PdClientError(`pd GetRegionByKey: deadline of ${d.timeoutMs}ms exceeded waiting for the lookup in flight`, {
            status: GrpcStatus.DEADLINE_EXCEEDED,
            code: "DEADLINE_EXCEEDED",
            retryable: true,
            method: "GetRegionByKey",
          }),
        );
      }, d.remainingMs());
      d.signal?.addEventListener("abort", onAbort, { once: true });
      f.promise.then(
        (r) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          d.signal?.removeEventListener("abort", onAbort);
          f.waiters -= 1;
          resolve(r);
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          d.signal?.removeEventListener("abort", onAbort);
          f.waiters -= 1;
          reject(err);
        },
      );
    });
  }

  /** One lookup at PD; its answer refreshes the cache unless an invalidation since touched it. */
  async #fetch(key: Uint8Array, d: Deadline): Promise<Region | undefined> {
    const cache = this.#cache;
    const ticket = cache?.beginFetch();
    try {
      const res = await this.#invoker.unary("getRegionByKey", { key: bytesToWire(key) }, d, "retryable");
      if (res.notFound || res.region === undefined) {
        cache?.invalidateKey(key);
        return undefined;
      }
      const region = regionFromWire(res.region);
      // Only cache an answer that really holds the key: anything else is a PD
      // bug that must not poison the lookups of other keys.
      if (cache !== undefined && regionContains(region, key)) cache.insert(region, this.#nowMs(), ticket);
      return region;
    } finally {
      if (ticket !== undefined) cache?.endFetch(ticket);
    }
  }

  /** The first region starting after `key`, which no region holds (`ListRegions`, one region). */
  async #nextAfterGap(key: Uint8Array, d: Deadline): Promise<Region | undefined> {
    const cache = this.#cache;
    const ticket = cache?.beginFetch();
    try {
      const page = regionPageFromWire(await this.#invoker.unary("listRegions", { startKey: bytesToWire(key), limit: 1n }, d, "retryable"));
      const next = page.regions.find((r) => compareKeys(r.startKey, key) > 0 || regionContains(r, key));
      if (next !== undefined) cache?.insert(next, this.#nowMs(), ticket);
      return next;
    } finally {
      if (ticket !== undefined) cache?.endFetch(ticket);
    }
  }
}

