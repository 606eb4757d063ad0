import {
  Client,
  connectivityState,
  credentials as grpcCredentials,
  Metadata,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { invalidArgument } from "../errors.js";

/**
 * Channel options the client sets unless the caller overrides them. grpc-js
 * otherwise backs reconnects off up to 120 s, which would keep a gateway
 * away from a restarted PD for minutes; at most 1 s between attempts costs
 * one SYN a second per dead endpoint.
 */
const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
};

/**
 * Normalises `addr` / `endpoints` into a non-empty, duplicate-free list.
 * `addr` may hold several comma-separated endpoints. Throws
 * `INVALID_ARGUMENT` when nothing usable is left.
 */
export function parseEndpoints(addr: string | undefined, endpoints: readonly string[] | undefined): string[] {
  const raw: string[] = [];
  if (addr !== undefined) {
    if (typeof addr !== "string") throw invalidArgument("addr must be a string");
    raw.push(...addr.split(","));
  }
  if (endpoints !== undefined) {
    if (!Array.isArray(endpoints)) throw invalidArgument("endpoints must be an array of strings");
    for (const e of endpoints) {
      if (typeof e !== "string") throw invalidArgument("endpoints must be an array of strings");
      raw.push(e);
    }
  }
  const out: string[] = [];
  for (const r of raw) {
    const e = r.trim();
    if (e !== "" && !out.includes(e)) out.push(e);
  }
  if (out.length === 0) throw invalidArgument("empty PD address: pass `addr` or `endpoints` (host:port)");
  return out;
}

/** What one unary attempt sends: a method path and its codecs. */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (value: Buffer) => Res;
}

/** How one unary attempt behaves on the wire. */
export interface UnaryAttemptOptions {
  /** Absolute grpc-js deadline. */
  readonly deadline: Date;
  /**
   * Wait for a connection (grpc wait-for-ready) instead of failing at once
   * while the channel is in transient failure. PD calls fail fast (a dead
   * endpoint must not eat the deadline); health checks wait.
   */
  readonly waitForReady: boolean;
  /** Cancels the attempt; its listener is removed when the attempt settles. */
  readonly signals: readonly (AbortSignal | undefined)[];
}

/**
 * The grpc-js channels of one client, one per endpoint, created on first
 * use with the client's credentials. Built on the grpc-js this package
 * resolves, which is the application's own (it is a peer dependency), so
 * the application's `ChannelCredentials` and options are accepted as they are.
 */
export class Channels {
  readonly #clients = new Map<string, Client>();
  readonly #credentials: ChannelCredentials;
  readonly #options: ChannelOptions;
  #closed = false;

  constructor(credentials: ChannelCredentials | undefined, channelOptions: ChannelOptions | undefined) {
    this.#credentials = credentials ?? grpcCredentials.createInsecure();
    this.#options = { ...DEFAULT_CHANNEL_OPTIONS, ...channelOptions };
  }

  /** The grpc-js client of `endpoint`, created on first use. */
  client(endpoint: string): Client {
    let c = this.#clients.get(endpoint);
    if (c === undefined) {
      c = new Client(endpoint, this.#credentials, this.#options);
      if (this.#closed) c.close();
      this.#clients.set(endpoint, c);
    }
    return c;
  }

  /** Whether the channel to `endpoint` is connected right now. */
  isReady(endpoint: string): boolean {
    const c = this.#clients.get(endpoint);
    return c !== undefined && c.getChannel().getConnectivityState(false) === connectivityState.READY;
  }

  /**
   * One unary attempt. Rejects with the raw grpc-js `ServiceError` (the
   * caller maps it: only it knows whether an abort or close caused it).
   * Every listener it adds is removed when it settles.
   */
  unary<Req, Res>(endpoint: string, method: UnaryMethod<Req, Res>, request: Req, options: UnaryAttemptOptions): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      let call: ClientUnaryCall | undefined = undefined;
      const cancel = (): void => call?.cancel();
      call = this.client(endpoint).makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new Metadata({ waitForReady: options.waitForReady }),
        { deadline: options.deadline },
        (err: ServiceError | null, res?: Res) => {
          for (const s of options.signals) s?.removeEventListener("abort", cancel);
          if (err) reject(err);
          else resolve(res as Res);
        },
      );
      for (const s of options.signals) {
        if (s === undefined) continue;
        if (s.aborted) call.cancel();
        else s.addEventListener("abort", cancel, { once: true });
      }
    });
  }

  /** Closes every channel; channels asked for afterwards are closed at once. */
  close(): void {
    this.#closed = true;
    for (const c of this.#clients.values()) c.close();
  }
}
