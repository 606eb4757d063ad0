import { type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type ServiceError, status } from "@grpc/grpc-js";
import { PD_ERROR_CODE_TRAILER } from "@nokv/pd-model";
import { PDService, type PDServer, type TsoRequest, type TsoResponse } from "@nokv/pd-proto";
import type { Logger } from "pino";
import type { PdMetrics, RpcMetrics } from "../metrics/metrics.js";
import { toServiceError } from "../status.js";
import { requestValidators, type RequestLimits } from "./limits.js";

/** What {@link instrumentHandlers} adds around the handlers. */
export interface InstrumentOptions {
  readonly metrics?: PdMetrics;
  readonly limits: RequestLimits;
  readonly log: Logger;
  /**
   * Decides whether the caller may call at all (e.g. its certificate's CN);
   * returns the refusal, or undefined to let the call through.
   */
  readonly authorize?: (call: CallerInfo) => Partial<ServiceError> | undefined;
}

/** What an authorizer may look at: the call's transport security. */
export type CallerInfo = Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">;

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;

const HEARTBEATS: Partial<Record<keyof PDServer, "store" | "region">> = { storeHeartbeat: "store", regionHeartbeat: "region" };

function pdCode(err: Partial<ServiceError>): string {
  const v = err.metadata?.get(PD_ERROR_CODE_TRAILER)[0];
  return typeof v === "string" ? v : (status[err.code ?? status.UNKNOWN] ?? "UNKNOWN");
}

/**
 * Wraps the `pb.PD` handlers with what every call needs besides its domain
 * work: the caller check, the request limits (a refused request reaches no
 * handler, so it changes nothing), the RPC metrics (status code and latency
 * per method, timestamps and ids handed out, heartbeats accepted or rejected
 * by reason) and one log line per rejected heartbeat.
 *
 * Kept off the hot path: per-method metric children are bound once, a call
 * costs two `performance.now()` reads and one closure.
 */
export function instrumentHandlers(handlers: PDServer, options: InstrumentOptions): PDServer {
  const { metrics, log, authorize } = options;
  const validators = requestValidators(options.limits) as Record<string, ((req: unknown) => void) | undefined>;
  const out: Record<string, unknown> = {};
  for (const [key, { path }] of Object.entries(PDService) as Array<[keyof PDServer, { readonly path: string }]>) {
    const method = path.slice(path.lastIndexOf("/") + 1);
    const rpc = metrics?.rpc(method);
    if (key === "tsoStream") {
      out[key] = wrapTsoStream(handlers.tsoStream, method, options, rpc);
      continue;
    }
    const inner = handlers[key] as unknown as UnaryHandler;
    const validate = validators[key];
    const heartbeat = HEARTBEATS[key];
    const onResult =
      metrics === undefined
        ? undefined
        : key === "tso"
          ? (res: unknown) => metrics.timestamps(Number((res as TsoResponse).count))
          : key === "allocId"
            ? (res: unknown) => metrics.ids(Number((res as { count: bigint }).count))
            : undefined;
    const wrapped: UnaryHandler = (call, cb) => {
      const t0 = performance.now();
      const refused = authorize?.(call);
      if (refused !== undefined) {
        rpc?.done(refused.code ?? status.PERMISSION_DENIED, (performance.now() - t0) / 1000);
        cb(refused, null);
        return;
      }
      if (validate !== undefined) {
        try {
          validate(call.request);
        } catch (err) {
          const e = toServiceError(err, method, log);
          finish(e, undefined);
          cb(e, null);
          return;
        }
      }
      function finish(err: Partial<ServiceError> | null | undefined, res: unknown): void {
        if (rpc !== undefined) rpc.done(err ? (err.code ?? status.UNKNOWN) : status.OK, (performance.now() - t0) / 1000);
        if (err) {
          if (heartbeat !== undefined) {
            const reason = pdCode(err);
            metrics?.heartbeat(heartbeat, reason);
            // Debug, not info: stale heartbeats are routine during splits, and the metric counts them.
            log.debug({ method, reason, detail: err.details }, "heartbeat rejected");
          }
        } else {
          if (heartbeat !== undefined) metrics?.heartbeat(heartbeat, undefined);
          onResult?.(res);
        }
      }
      inner(call, (err, res, ...rest) => {
        finish(err, res);
        (cb as (...a: unknown[]) => void)(err, res, ...rest);
      });
    };
    out[key] = wrapped;
  }
  return out as unknown as PDServer;
}

/** The stream counts as one RPC when it ends; each response feeds the timestamp metrics. */
function wrapTsoStream(
  inner: PDServer["tsoStream"],
  method: string,
  { metrics, authorize }: InstrumentOptions,
  rpc: RpcMetrics | undefined,
): PDServer["tsoStream"] {
  return (call: ServerDuplexStream<TsoRequest, TsoResponse>) => {
    const t0 = performance.now();
    const refused = authorize?.(call);
    if (refused !== undefined) {
      rpc?.done(refused.code ?? status.PERMISSION_DENIED, (performance.now() - t0) / 1000);
      call.emit("error", refused);
      return;
    }
    if (metrics !== undefined) {
      const write = call.write.bind(call) as (chunk: TsoResponse, ...rest: unknown[]) => boolean;
      (call as unknown as { write: typeof write }).write = (chunk, ...rest) => {
        metrics.timestamps(Number(chunk.count));
        return write(chunk, ...rest);
      };
    }
    if (rpc !== undefined) {
      let done = false;
      const end = (code: number) => {
        if (done) return;
        done = true;
        rpc.done(code, (performance.now() - t0) / 1000);
      };
      call.once("finish", () => end(status.OK));
      call.once("error", (err: Partial<ServiceError>) => end(err?.code ?? status.UNKNOWN));
      call.once("cancelled", () => end(status.CANCELLED));
    }
    inner(call);
  };
}
