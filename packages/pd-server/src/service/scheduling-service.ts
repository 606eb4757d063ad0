import { type sendUnaryData, type ServerUnaryCall, status } from "@grpc/grpc-js";
import { type Cluster, type Leadership, PdError } from "@nokv/pd-core";
import {
  operatorInfoToWire,
  PDSchedulingService,
  type PDSchedulingServer,
  schedulerInfoToWire,
  schedulingConfigToWire,
  schedulingPatchFromWire,
} from "@nokv/pd-proto";
import type { Logger } from "pino";
import type { PdMetrics } from "../metrics/metrics.js";
import { toServiceError } from "../status.js";
import { leaderUnary } from "./leader-unary.js";
import type { InstrumentOptions } from "./instrument.js";

/** What the scheduling handlers are built from. */
export interface SchedulingHandlerDeps {
  readonly leadership: Leadership;
  readonly log: Logger;
}


/**
 * The RPCs of `pb.PDScheduling` over the leader's {@link Cluster}:
 * operators in flight or ended, the schedulers and whether each is paused,
 * pausing and resuming one, and the scheduling configuration. Served by the
 * leader only (followers answer `NOT_LEADER` with the leader's address, as
 * `pb.PD` does). A change replies once it is durable; a bad one is
 * `INVALID_ARGUMENT` and changes nothing.
 */
export function createSchedulingHandlers({ leadership, log }: SchedulingHandlerDeps): PDSchedulingServer {
  const unary = leaderUnary(leadership, log);


  return {
    listOperators: unary("ListOperators", (req, cluster) => ({
      operators: (req.history ? cluster.scheduling.operators.history() : cluster.scheduling.listOperators()).map(operatorInfoToWire),
    })),

    listSchedulers: unary("ListSchedulers", (_req, cluster) => ({ schedulers: cluster.schedulers().map(schedulerInfoToWire) })),

    setSchedulerPaused: unary("SetSchedulerPaused", (req, cluster) =>
      cluster.setSchedulerPaused(req.name, req.paused).then((s) => {
        log.info({ scheduler: s.name, paused: s.paused }, s.paused ? "scheduler paused" : "scheduler resumed");
        return { scheduler: schedulerInfoToWire(s) };
      }),
    ),

    getSchedulingConfig: unary("GetSchedulingConfig", (_req, cluster) => ({ config: schedulingConfigToWire(cluster.schedulingConfig) })),

    setSchedulingConfig: unary("SetSchedulingConfig", (req, cluster) => {
      const patch = schedulingPatchFromWire(req);
      if (Object.keys(patch).length === 0) throw new PdError("INVALID_ARGUMENT", "scheduling config: nothing to change");
      return cluster.updateSchedulingConfig(patch).then((config) => {
        log.info({ patch }, "scheduling config changed");
        return { config: schedulingConfigToWire(config) };
      });
    }),
  };
}

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;

/**
 * Wraps the `pb.PDScheduling` handlers with the caller check (the client
 * certificate's CN, as for `pb.PD`) and the RPC metrics (per method, code
 * and latency).
 */
export function instrumentSchedulingHandlers(handlers: PDSchedulingServer, options: Pick<InstrumentOptions, "authorize"> & { readonly metrics?: PdMetrics }): PDSchedulingServer {
  const out: Record<string, UnaryHandler> = {};
  for (const [key, { path }] of Object.entries(PDSchedulingService) as Array<[keyof PDSchedulingServer, { readonly path: string }]>) {
    const rpc = options.metrics?.rpc(path.slice(path.lastIndexOf("/") + 1));
    const inner = handlers[key] as unknown as UnaryHandler;
    out[key] = (call, cb) => {
      const t0 = performance.now();
      const refused = options.authorize?.(call);
      if (refused !== undefined) {
        rpc?.done(refused.code ?? status.PERMISSION_DENIED, (performance.now() - t0) / 1000);
        cb(refused, null);
        return;
      }
      inner(call, (err, res, ...rest) => {
        rpc?.done(err ? (err.code ?? status.UNKNOWN) : status.OK, (performance.now() - t0) / 1000);
        (cb as (...a: unknown[]) => void)(err, res, ...rest);
      });
    };
  }
  return out as unknown as PDSchedulingServer;
}
