import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { type Cluster, PdError, type Run } from "@nokv/pd-core";
import type {
  AllocIDRequest,
  AllocIDResponse,
  GetRegionByKeyRequest,
  GetRegionByKeyResponse,
  PDServer,
  RegionHeartbeatRequest,
  RegionHeartbeatResponse,
  RemoveRegionRequest,
  RemoveRegionResponse,
  StoreHeartbeatRequest,
  StoreHeartbeatResponse,
  TsoRequest,
  TsoResponse,
} from "@nokv/pd-proto";
import type { Logger } from "pino";
import { operationToWire, regionFromWire, regionToWire, storeStatsFromWire } from "../convert.js";
import { toServiceError } from "../status.js";

const NOT_FOUND: GetRegionByKeyResponse = { region: undefined, notFound: true };
const ACCEPTED: RegionHeartbeatResponse = { accepted: true };

/**
 * The six RPCs of `pb.PD` over a {@link Cluster}. Validation happens in the
 * domain; every failure leaves state unchanged and maps to a status through
 * {@link toServiceError}. Writes reply only after they are durable.
 */
export function createPdHandlers(cluster: Cluster, log: Logger): PDServer {
  const fail = (method: string, cb: sendUnaryData<never>, err: unknown) => cb(toServiceError(err, method, log), null);

  function answerRun<T>(method: string, r: Run | Promise<Run>, cb: sendUnaryData<T>, wire: (run: Run) => T): void {
    if (r instanceof Promise) {
      r.then(
        (run) => cb(null, wire(run)),
        (err: unknown) => fail(method, cb as sendUnaryData<never>, err),
      );
    } else {
      cb(null, wire(r));
    }
  }

  return {
    storeHeartbeat(call: ServerUnaryCall<StoreHeartbeatRequest, StoreHeartbeatResponse>, cb: sendUnaryData<StoreHeartbeatResponse>) {
      try {
        const ops = cluster.storeHeartbeat(storeStatsFromWire(call.request));
        cb(null, { accepted: true, operations: ops.map(operationToWire) });
      } catch (err) {
        fail("StoreHeartbeat", cb as sendUnaryData<never>, err);
      }
    },

    regionHeartbeat(call: ServerUnaryCall<RegionHeartbeatRequest, RegionHeartbeatResponse>, cb: sendUnaryData<RegionHeartbeatResponse>) {
      const meta = call.request.region;
      if (meta === undefined) {
        fail("RegionHeartbeat", cb as sendUnaryData<never>, new PdError("INVALID_ARGUMENT", "region heartbeat: region is required"));
        return;
      }
      cluster.regionHeartbeat(regionFromWire(meta)).then(
        (outcome) => {
          if (outcome.removedRegionIds.length > 0) {
            log.info({ regionId: meta.id, replaced: outcome.removedRegionIds.map(String) }, "region replaced overlapping regions");
          }
          cb(null, ACCEPTED);
        },
        (err: unknown) => {
          if (err instanceof PdError && (err.code === "STALE_EPOCH" || err.code === "RANGE_OVERLAP")) {
            log.debug({ regionId: meta.id.toString(), reason: err.code, detail: err.message }, "region heartbeat rejected");
          }
          fail("RegionHeartbeat", cb as sendUnaryData<never>, err);
        },
      );
    },

    removeRegion(call: ServerUnaryCall<RemoveRegionRequest, RemoveRegionResponse>, cb: sendUnaryData<RemoveRegionResponse>) {
      cluster.removeRegion(call.request.regionId).then(
        (removed) => cb(null, { removed }),
        (err: unknown) => fail("RemoveRegion", cb as sendUnaryData<never>, err),
      );
    },

    getRegionByKey(call: ServerUnaryCall<GetRegionByKeyRequest, GetRegionByKeyResponse>, cb: sendUnaryData<GetRegionByKeyResponse>) {
      const region = cluster.getRegionByKey(call.request.key);
      cb(null, region === undefined ? NOT_FOUND : { region: regionToWire(region), notFound: false });
    },

    allocId(call: ServerUnaryCall<AllocIDRequest, AllocIDResponse>, cb: sendUnaryData<AllocIDResponse>) {
      try {
        answerRun("AllocID", cluster.allocId(call.request.count), cb, (run) => ({ firstId: run.first, count: run.count }));
      } catch (err) {
        fail("AllocID", cb as sendUnaryData<never>, err);
      }
    },

    tso(call: ServerUnaryCall<TsoRequest, TsoResponse>, cb: sendUnaryData<TsoResponse>) {
      try {
        answerRun("Tso", cluster.allocTimestamps(call.request.count), cb, (run) => ({ timestamp: run.first, count: run.count }));
      } catch (err) {
        fail("Tso", cb as sendUnaryData<never>, err);
      }
    },
  };
}
