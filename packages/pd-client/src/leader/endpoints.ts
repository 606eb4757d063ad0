import { connectivityState, credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import { PDClient } from "@nokv/pd-proto";
import { invalidArgument, type PdClientError } from "./errors.js";

/**
 * Channel options the client sets unless the caller overrides them. grpc-js
 * otherwise backs reconnects off up to 120 s, which would keep a gateway away
 * from a restarted PD for minutes.
 */
const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 5000,
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

/**
 * The PD endpoints of one client and a lazily created grpc-js client per
 * endpoint. One endpoint is "current": calls go there. A `NOT_LEADER` answer
 * naming the leader moves "current" to the leader (added to the set if it is
 * new); any other retryable failure moves it to the next endpoint.
 */
export class EndpointSet {
  private readonly list: string[];
  private readonly clients = new Map<string, PDClient>();
  private currentIndex = 0;
  private readonly credentials: ChannelCredentials;
  private readonly channelOptions: ChannelOptions;

  constructor(endpoints: readonly string[], credentials?: ChannelCredentials, channelOptions?: ChannelOptions) {
    this.list = [...endpoints];
    this.credentials = credentials ?? grpcCredentials.createInsecure();
    this.channelOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...channelOptions };
  }

  /** All known endpoints, leaders learned from redirects included. */
  get all(): readonly string[] {
    return this.list;
  }

  /** The endpoint calls currently go to. */
  get current(): string {
    return this.list[this.currentIndex]!;
  }

  /** The grpc-js client of `endpoint`, created on first use. */
  client(endpoint: string): PDClient {
    let c = this.clients.get(endpoint);
    if (c === undefined) {
      c = new PDClient(endpoint, this.credentials, this.channelOptions);
      this.clients.set(endpoint, c);
    }
    return c;
  }

  /** Makes `endpoint` current (adding it if new). */
  use(endpoint: string): void {
    let i = this.list.indexOf(endpoint);
    if (i < 0) {
      this.list.push(endpoint);
      i = this.list.length - 1;
    }
    this.currentIndex = i;
  }

  /** Whether the channel to `endpoint` is connected right now. */
  isConnected(endpoint: string): boolean {
    const c = this.clients.get(endpoint);
    return c !== undefined && c.getChannel().getConnectivityState(false) === connectivityState.READY;
  }

  /**
   * Reacts to a failed attempt on `endpoint`. Returns true when it followed a
   * leader redirect (the next attempt may go at once, without backoff).
   */
  onFailure(endpoint: string, err: PdClientError): boolean {
    if (err.code === "NOT_LEADER" && err.leaderAddr !== undefined && err.leaderAddr.trim() !== "") {
      const leader = err.leaderAddr.trim();
      if (leader !== endpoint) {
        this.use(leader);
        return true;
      }
    }
    if (err.retryable && this.list.length > 1 && this.current === endpoint) {
      this.currentIndex = (this.currentIndex + 1) % this.list.length;
    }
    return false;
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
