import { type ChannelCredentials, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { ConfigWarning } from "@nokv/nokv-config";
import type { OperatorInfo, SchedulerInfo, SchedulingConfig, SchedulingConfigPatch } from "@nokv/pd-model";
import {
  decodePdError,
  operatorInfoFromWire,
  PDSchedulingClient,
  schedulerInfoFromWire,
  schedulingConfigFromWire,
  schedulingPatchToWire,
  type SchedulingConfig as WireSchedulingConfig,
} from "@nokv/pd-proto";
import { clientTlsFromFlags } from "../config/tls-files.js";
import { type ClientFlags, resolveClientAddr } from "./client-options.js";

/**
 * The scheduling control calls `pd-cli` makes (`pb.PDScheduling`). A small
 * client of its own on the generated code: `@nokv/pd-client` does not offer
 * these calls yet; when it does, this file goes and the verbs use it.
 */
export interface SchedulingClient {
  listOperators(history: boolean): Promise<OperatorInfo[]>;
  listSchedulers(): Promise<SchedulerInfo[]>;
  setSchedulerPaused(name: string, paused: boolean): Promise<SchedulerInfo>;
  getConfig(): Promise<SchedulingConfig>;
  setConfig(patch: Omit<SchedulingConfigPatch, "paused">): Promise<SchedulingConfig>;
  close(): void;
}

/** A failed control call: the PD error code from the trailer (or the gRPC status name) and the message. */
export class SchedulingCallError extends Error {
  override readonly name = "SchedulingCallError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function channelCredentials(tls: Awaited<ReturnType<typeof clientTlsFromFlags>>): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  const buf = (v: Uint8Array | string | undefined) => (v === undefined ? null : Buffer.from(v));
  return credentials.createSsl(buf(tls.caCert), buf(tls.key), buf(tls.cert));
}

/**
 * A client over the endpoints of the flags (`--pd`, the config, or the
 * default), with their TLS settings. Each call tries the endpoints in turn
 * and follows a `NOT_LEADER` redirect to the leader, within `--timeout`.
 */
export async function schedulingClientFromFlags(flags: ClientFlags, onConfigWarning?: (w: ConfigWarning) => void): Promise<SchedulingClient> {
  const [addr, tls] = await Promise.all([resolveClientAddr(flags, onConfigWarning), clientTlsFromFlags(flags)]);
  const creds = channelCredentials(tls);
  const endpoints = addr.split(",").map((a) => a.trim()).filter((a) => a !== "");
  const open = new Map<string, PDSchedulingClient>();
  const client = (endpoint: string) => {
    let c = open.get(endpoint);
    if (c === undefined) {
      c = new PDSchedulingClient(endpoint, creds);
      open.set(endpoint, c);
    }
    return c;
  };
  const deadline = () => Date.now() + flags.timeout;

  async function call<Res>(method: string, req: unknown): Promise<Res> {
    const until = deadline();
    let last: ServiceError | undefined;
    const queue = [...endpoints];
    const tried = new Set<string>();
    while (queue.length > 0) {
      const endpoint = queue.shift()!;
      if (tried.has(endpoint)) continue;
      tried.add(endpoint);
      try {
        return await new Promise<Res>((resolve, reject) =>
          (client(endpoint) as unknown as Record<string, Function>)[method]!.call(
            client(endpoint),
            req,
            new Metadata(),
            { deadline: until },
            (err: ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)),
          ),
        );
      } catch (err) {
        const e = err as ServiceError;
        last = e;
        const pd = decodePdError(e);
        if (pd.code === "NOT_LEADER" && pd.leaderAddr !== undefined) queue.unshift(pd.leaderAddr);
        else if (e.code !== status.UNAVAILABLE) break;
      }
    }
    const pd = last === undefined ? undefined : decodePdError(last);
    throw new SchedulingCallError(pd?.code ?? (last === undefined ? "UNAVAILABLE" : status[last.code] ?? "UNKNOWN"), last?.details ?? `no PD at ${addr}`);
  }

  return {
    async listOperators(history) {
      const res = await call<{ operators: Parameters<typeof operatorInfoFromWire>[0][] }>("listOperators", { history });
      return res.operators.map(operatorInfoFromWire);
    },
    async listSchedulers() {
      const res = await call<{ schedulers: Parameters<typeof schedulerInfoFromWire>[0][] }>("listSchedulers", {});
      return res.schedulers.map(schedulerInfoFromWire);
    },
    async setSchedulerPaused(name, paused) {
      const res = await call<{ scheduler: Parameters<typeof schedulerInfoFromWire>[0] }>("setSchedulerPaused", { name, paused });
      return schedulerInfoFromWire(res.scheduler);
    },
    async getConfig() {
      return schedulingConfigFromWire((await call<{ config: WireSchedulingConfig }>("getSchedulingConfig", {})).config);
    },
    async setConfig(patch) {
      return schedulingConfigFromWire((await call<{ config: WireSchedulingConfig }>("setSchedulingConfig", schedulingPatchToWire(patch))).config);
    },
    close() {
      for (const c of open.values()) c.close();
    },
  };
}
