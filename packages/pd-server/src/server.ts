import { Server, ServerCredentials, setLogger } from "@grpc/grpc-js";
import { type Cluster, createCluster } from "@nokv/pd-core";
import { PDService } from "@nokv/pd-proto";
import { createMemoryStore, type Store } from "@nokv/pd-storage";
import { type Logger, pino } from "pino";
import { createSoloLeadership } from "./leadership/leadership.js";
import { createPdHandlers } from "./service/pd-service.js";

/** Options of {@link createPdServer}. */
export interface PdServerOptions {
  /** `host:port` to listen on; port 0 picks a free one. Default `127.0.0.1:2379`. */
  readonly addr?: string;
  /** Persistence; default an in-memory store. The server closes it on `close()`. */
  readonly store?: Store;
  /** Lowest id to hand out (`--id-start`). Default 1. */
  readonly idStart?: bigint;
  /** Lowest timestamp to hand out (`--ts-start`). Default 1. */
  readonly tsStart?: bigint;
  /** Structured logger; default pino at level `warn` on stderr. */
  readonly logger?: Logger;
  /** How long `close()` lets in-flight calls finish before cancelling them, in ms. Default 5000. */
  readonly shutdownGraceMs?: number;
  /** Physical time the TSO ceiling runs ahead, in ms. Default 3000. */
  readonly tsoWindowMs?: number;
  /** Ids reserved per ceiling write. Default 1000. */
  readonly idWindow?: bigint;
  /** Member name reported by `GetMembers`. Default `pd`. */
  readonly name?: string;
}

/** A running PD server. */
export interface PdServer {
  /** The bound `host:port` (with the real port when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  /** The cluster model being served (read-only use: inspection, tests). */
  readonly cluster: Cluster;
  /** What was restored from storage at start-up. */
  readonly restored: { readonly regions: number; readonly idNext: bigint; readonly tsNext: bigint };
  /**
   * Graceful stop: refuses new calls, lets in-flight calls finish (up to the
   * grace period, then cancels them), waits for queued writes, closes the
   * store. Idempotent.
   */
  close(): Promise<void>;
}

function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(addr.trim());
  if (!m || m[1] === "") throw new Error(`invalid listen address ${JSON.stringify(addr)}: expected HOST:PORT`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in listen address ${JSON.stringify(addr)}`);
  return { host: m[1]!, port };
}

function bindReason(err: Error): string {
  if (/EADDRINUSE/.test(err.message)) return "address already in use";
  if (/EACCES/.test(err.message)) return "permission denied";
  if (/EADDRNOTAVAIL/.test(err.message)) return "address not available on this host";
  return err.message;
}

/**
 * Sends grpc-js's own diagnostics to `log` at debug level instead of raw
 * stderr lines, so a failed bind is reported once, by PD, in one line.
 */
export function routeGrpcLogs(log: Logger): void {
  setLogger({
    error: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
    warn: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
    info: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
    debug: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc-js"),
  } as unknown as Console);
}

/**
 * Starts PD: loads the store's snapshot into a cluster model, binds the gRPC
 * service `pb.PD` on `addr` and serves. Rejects (closing the store) when the
 * snapshot is unusable or the address cannot be bound; the message names it.
 */
export async function createPdServer(options: PdServerOptions = {}): Promise<PdServer> {
  const log = options.logger ?? pino({ level: "warn" });
  const store = options.store ?? createMemoryStore();
  const addr = options.addr ?? "127.0.0.1:2379";
  let server: Server | undefined;
  try {
    const { host } = splitHostPort(addr);
    const snapshot = await store.load();
    const cluster = createCluster({
      persistence: store,
      snapshot,
      ...(options.idStart !== undefined && { idStart: options.idStart }),
      ...(options.tsStart !== undefined && { tsStart: options.tsStart }),
      ...(options.tsoWindowMs !== undefined && { tsoWindowMs: options.tsoWindowMs }),
      ...(options.idWindow !== undefined && { idWindow: options.idWindow }),
      onBackgroundError: (err) => log.warn({ err }, "background allocator checkpoint failed; the next allocation retries it"),
    });
    let boundAddr = addr;
    const leadership = createSoloLeadership({ cluster, name: options.name ?? "pd", advertiseAddr: () => boundAddr });
    server = new Server();
    server.addService(PDService, createPdHandlers({ leadership, log }));
    const s = server;
    const port = await new Promise<number>((resolve, reject) =>
      s.bindAsync(addr, ServerCredentials.createInsecure(), (err, p) => (err ? reject(new Error(`cannot listen on ${addr}: ${bindReason(err)}`)) : resolve(p))),
    );
    const address = `${host}:${port}`;
    boundAddr = address;
    const restored = { regions: cluster.regions.size, idNext: cluster.ids.next, tsNext: cluster.tso.last + 1n };
    const graceMs = options.shutdownGraceMs ?? 5000;
    let closing: Promise<void> | undefined;
    return {
      address,
      port,
      cluster,
      restored,
      close() {
        closing ??= (async () => {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              s.forceShutdown();
              resolve();
            }, graceMs);
            s.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          });
          await cluster.flush();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    server?.forceShutdown();
    await store.close().catch(() => undefined);
    throw err;
  }
}
