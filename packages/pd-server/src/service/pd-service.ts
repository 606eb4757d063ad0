import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall } from "@grpc/grpc-js";
import { type Cluster, type Leadership, PdError, type Run } from "@nokv/pd-core";
import {
  type GetMembersResponse,
  type GetRegionByIdResponse,
  type GetRegionByKeyResponse,
  membersToWire,
  operationToWire,
  type PDServer,
  type RegionHeartbeatResponse,
  regionHeartbeatFromWire,
  regionToWire,
  storeHeartbeatFromWire,
  storeStatusToWire,
  type TsoRequest,
  type TsoResponse,
} from "@nokv/pd-proto";
import type { Logger } from "pino";
import type { PdMetrics } from "../metrics/metrics.js";
import { toServiceError } from "../status.js";
import { leaderUnary } from "./leader-unary.js";
import { DEFAULT_REQUEST_LIMITS, type RequestLimits, scanLimit } from "./limits.js";

const NOT_FOUND: GetRegionByKeyResponse = { region: undefined, notFound: true };
const ACCEPTED: RegionHeartbeatResponse = { accepted: true };
const NO_REGION: GetRegionByIdResponse = { region: undefined, notFound: true };

/** What the handlers are built from. */
export interface PdHandlerDeps {
  /** Decides whether this member serves, and supplies the cluster model when it does. */
  readonly leadership: Pick<Leadership, "serving" | "members">;
  readonly log: Logger;
  /** Request limits (`ListRegions` page sizes). Default {@link DEFAULT_REQUEST_LIMITS}. */
  readonly limits?: RequestLimits;
  /** Tracks open `TsoStream`s so that a stopping server can end them. */
  readonly streams?: OpenStreams;
  /** Counts what only the handlers see (regions that start reporting duplicate peers). */
  readonly metrics?: Pick<PdMetrics, "duplicatePeersAppeared">;
}

/**
 * The open `TsoStream` calls. A long-lived stream would hold a graceful
 * shutdown until its grace period runs out; `endAll` ends each with
 * `UNAVAILABLE`, which clients treat as "retry elsewhere".
 */
export class OpenStreams {
  readonly #ends = new Set<(err: unknown) => void>();

  /** Registers a stream's way to end; returns the unregister function. */
  track(end: (err: unknown) => void): () => void {
    this.#ends.add(end);
    return () => this.#ends.delete(end);
  }

  /** Number of open streams. */
  get size(): number {
    return this.#ends.size;
  }

  /** Ends every open stream with `UNAVAILABLE` (`pd is stopping`). */
  endAll(): void {
    const err = new PdError("UNAVAILABLE", "pd is stopping");
    for (const end of [...this.#ends]) end(err);
  }
}



/**
 * The RPCs of `pb.PD` over a {@link Cluster}. Every request first asks the
 * {@link Leadership} whether this member may serve; validation happens in the
 * domain; every failure leaves state unchanged and maps to a status through
 * {@link toServiceError}. Writes reply only after they are durable.
 */
export function createPdHandlers({ leadership, log, limits = DEFAULT_REQUEST_LIMITS, streams, metrics }: PdHandlerDeps): PDServer {
  const unary = leaderUnary(leadership, log);


  const mapRun = <T>(r: Run | Promise<Run>, wire: (run: Run) => T): T | Promise<T> =>
    r instanceof Promise ? r.then(wire) : wire(r);
  const tsoWire = (run: Run): TsoResponse => ({ timestamp: run.first, count: run.count });

  return {
    storeHeartbeat: unary("StoreHeartbeat", (req, cluster) => {
      // A store without capabilities gets operations with fields 1-4 only: exactly the old bytes.
      const ops = cluster.storeHeartbeat(storeHeartbeatFromWire(req));
      return { accepted: true, operations: ops.map(operationToWire) };
    }),

    regionHeartbeat: unary("RegionHeartbeat", (req, cluster) => {
      const hb = regionHeartbeatFromWire(req);
      if (hb === undefined) throw new PdError("INVALID_ARGUMENT", "region heartbeat: region is required");
      const { region, ...extras } = hb;
      const meta = req.region!;
      return cluster.regionHeartbeat(region, extras).then((outcome) => {
        if (outcome.removedRegionIds.length > 0) {
          log.info({ regionId: meta.id.toString(), replaced: outcome.removedRegionIds.map(String) }, "region replaced overlapping regions");
        }
        // The catalog reports the change only, so this logs once per occurrence, not per heartbeat.
        if (outcome.duplicatePeers === "appeared") {
          metrics?.duplicatePeersAppeared();
          log.warn(
            { regionId: meta.id.toString(), peers: meta.peers.map((p) => `${p.storeId}:${p.peerId}`) },
            "region reports duplicate peers",
          );
        } else if (outcome.duplicatePeers === "resolved") {
          log.info({ regionId: meta.id.toString() }, "region is back to one peer per store");
        }
        return ACCEPTED;
      });
    }),

    removeRegion: unary("RemoveRegion", (req, cluster) => cluster.removeRegion(req.regionId).then((removed) => ({ removed }))),

    getRegionByKey: unary("GetRegionByKey", (req, cluster) => {
      const region = cluster.getRegionByKey(req.key);
      return region === undefined ? NOT_FOUND : { region: regionToWire(region), notFound: false };
    }),

    allocId: unary("AllocID", (req, cluster) => mapRun(cluster.allocId(req.count), (run) => ({ firstId: run.first, count: run.count }))),

    tso: unary("Tso", (req, cluster) => mapRun(cluster.allocTimestamps(req.count), tsoWire)),

    tsoStream(call: ServerDuplexStream<TsoRequest, TsoResponse>) {
      // Responses must leave in request order: once one request waits for a
      // durable ceiling, later ones queue behind it.
      let tail: Promise<void> = Promise.resolve();
      let waiting = 0;
      let failed = false;
      let ended = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        untrack();
        call.emit("error", toServiceError(err, "TsoStream", log));
      };
      const untrack = streams?.track(fail) ?? (() => false);
      const finishIfDone = () => {
        if (ended && waiting === 0 && !failed) {
          untrack();
          call.end();
        }
      };
      const answer = (req: TsoRequest): Promise<void> | undefined => {
        if (failed) return undefined;
        try {
          const r = leadership.serving().allocTimestamps(req.count);
          if (!(r instanceof Promise)) {
            call.write(tsoWire(r));
            return undefined;
          }
          return r.then((run) => void call.write(tsoWire(run)), fail);
        } catch (err) {
          fail(err);
          return undefined;
        }
      };
      call.on("data", (req: TsoRequest) => {
        if (waiting === 0) {
          const p = answer(req);
          if (p === undefined) return;
          waiting++;
          tail = p;
        } else {
          waiting++;
          tail = tail.then(() => answer(req));
        }
        tail = tail.finally(() => {
          waiting--;
          finishIfDone();
        });
      });
      call.on("end", () => {
        ended = true;
        finishIfDone();
      });
      call.on("error", () => {
        failed = true;
        untrack();
      });
      call.on("cancelled", () => {
        failed = true;
        untrack();
      });
    },

    listStores: unary("ListStores", (_req, cluster) => ({ stores: cluster.storeStatuses().map(storeStatusToWire) })),

    listRegions: unary("ListRegions", (req, cluster) => {
      const page = cluster.regions.page(req.startKey, scanLimit(req.limit, limits));
      return {
        regions: page.regions.map(regionToWire),
        hasMore: page.nextStartKey !== undefined,
        nextStartKey: page.nextStartKey === undefined ? Buffer.alloc(0) : Buffer.from(page.nextStartKey),
      };
    }),

    getRegionById: unary("GetRegionById", (req, cluster) => {
      if (req.regionId === 0n) throw new PdError("INVALID_ARGUMENT", "region id must be non-zero");
      const region = cluster.regions.getRegion(req.regionId);
      return region === undefined ? NO_REGION : { region: regionToWire(region), notFound: false };
    }),

    // Answered by every member, leader or not: it is how clients find the leader.
    getMembers(_call: ServerUnaryCall<unknown, GetMembersResponse>, cb: sendUnaryData<GetMembersResponse>) {
      try {
        cb(null, membersToWire(leadership.members()));
      } catch (err) {
        cb(toServiceError(err, "GetMembers", log), null);
      }
    },
  };
}
