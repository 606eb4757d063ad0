import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { Cluster, Leadership } from "@nokv/pd-core";
import type { Logger } from "pino";
import { toServiceError } from "../status.js";

/** A request's domain work on the leader's cluster model: sync or async. */
export type LeaderHandler<Req, Res> = (req: Req, cluster: Cluster) => Res | Promise<Res>;

/**
 * The unary handlers of a service served by the leader only: each adapts a
 * sync-or-async domain handler to a grpc-js callback, asks the leadership
 * first (a follower answers `NOT_LEADER` with the leader's address) and maps
 * every failure through {@link toServiceError}.
 */
export function leaderUnary(leadership: Pick<Leadership, "serving">, log: Logger) {
  return function unary<Req, Res>(method: string, handle: LeaderHandler<Req, Res>) {
    return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
      let out: Res | Promise<Res>;
      try {
        out = handle(call.request, leadership.serving());
      } catch (err) {
        cb(toServiceError(err, method, log), null);
        return;
      }
      if (out instanceof Promise) {
        out.then(
          (res) => cb(null, res),
          (err: unknown) => cb(toServiceError(err, method, log), null),
        );
      } else {
        cb(null, out);
      }
    };
  };
}
