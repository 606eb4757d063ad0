import { status as GrpcStatus } from "@grpc/grpc-js";
import { PDService, type TsoRequest, type TsoResponse } from "@nokv/pd-proto";
import { abortedError, PdClientError } from "../errors.js";
import type { Deadline } from "../call/deadline.js";
import type { Invoker } from "../call/invoker.js";
import { timestampRangeFromWire } from "../convert.js";
import type { Channels, UnaryMethod } from "../leader/endpoints.js";
import type { ClientMetrics } from "../metrics/client-metrics.js";
import type { TimestampRange } from "../types.js";
import { TsoStream } from "./tso-stream.js";

const METHOD = "Tso";
const UNARY_TSO = PDService.tso as unknown as UnaryMethod<TsoRequest, TsoResponse>;

/** Counters the transport keeps for `stats()`. */
export interface TsoTransportCounters {
  tsoRpcs: number;
  tsoStreamRequests: number;
  tsoStreams: number;
  tsoFallbacks: number;
}

/**
 * How timestamp requests travel: on one `TsoStream` to the leader (or unary
 * `Tso` where the stream is not offered or not wanted), with the invoker's
 * retries, leader tracking and deadlines — the stream fails with real
 * {@link PdClientError}s, so the retry engine needs no pretence that a
 * stream request is a unary call.
 *
 * Two promises are kept here, whatever the transport:
 * - a stream that is not on the current leader is half-closed and a new one
 *   opened there by the next request — after a failover, the first retry;
 * - no timestamp at or below one this client had already handed out when
 *   the request was sent is ever returned (`TIMESTAMP_FALLBACK`, counted in
 *   `tsoFallbacks`). Concurrent requests are not ordered among themselves
 *   (PD may grant them in any order); any request is ordered after every
 *   answer that came back before it was sent.
 */
export class TsoTransport {
  readonly #invoker: Invoker;
  readonly #channels: Channels;
  readonly #metrics: ClientMetrics;
  readonly #streaming: boolean;
  /** Endpoints that answered `TsoStream` with UNIMPLEMENTED: they get unary `Tso`. */
  readonly #unaryOnly = new Set<string>();
  #stream: TsoStream | undefined;
  /** The highest timestamp handed out so far (-1 before the first: 0 is a valid timestamp). */
  #highest = -1n;
  readonly counters: TsoTransportCounters = { tsoRpcs: 0, tsoStreamRequests: 0, tsoStreams: 0, tsoFallbacks: 0 };

  constructor(invoker: Invoker, channels: Channels, metrics: ClientMetrics, streaming: boolean) {
    this.#invoker = invoker;
    this.#channels = channels;
    this.#metrics = metrics;
    this.#streaming = streaming;
  }

  /**
   * Reserves `count` consecutive timestamps (the count was checked) before
   * the deadline, with retries. Latency is observed by the caller (one
   * observation per batch).
   */
  async request(count: bigint, deadline: Deadline): Promise<TimestampRange> {
    const floor = this.#highest;
    this.#metrics.observeTsoBatch(Number(count));
    const res = await this.#invoker.retrying(METHOD, deadline, "retryable", (endpoint, d) => this.#attempt(endpoint, count, d));
    const range = timestampRangeFromWire(res, count);
    if (range.first <= floor) {
      this.counters.tsoFallbacks += 1;
      throw new PdClientError(
        `pd ${METHOD}: PD answered timestamps ${range.first}..${range.first + range.count - 1n}, not above ${floor} which this client already handed out; refused (was PD restored from an older state?)`,
        { status: GrpcStatus.INTERNAL, code: "TIMESTAMP_FALLBACK", retryable: false, method: METHOD },
      );
    }
    const last = range.first + range.count - 1n;
    if (last > this.#highest) this.#highest = last;
    return range;
  }

  /** Ends the open stream; requests waiting on it fail with `err`. */
  close(err: PdClientError): void {
    this.#stream?.cancel(err);
    this.#stream = undefined;
  }

  async #attempt(endpoint: string, count: bigint, d: Deadline): Promise<TsoResponse> {
    this.counters.tsoRpcs += 1;
    if (!this.#streaming || this.#unaryOnly.has(endpoint)) return this.#invoker.unaryAttempt("tso", UNARY_TSO, endpoint, { count }, d);
    let stream = this.#stream;
    if (stream === undefined || stream.finished || stream.endpoint !== endpoint) {
      // Answers to requests still in flight on the old stream keep arriving.
      stream?.end();
      stream = new TsoStream(this.#channels.client(endpoint), endpoint);
      this.#stream = stream;
      this.#invoker.counters.rpcs += 1;
      this.counters.tsoStreams += 1;
    }
    this.counters.tsoStreamRequests += 1;
    try {
      return await stream.request(count, d);
    } catch (err) {
      if (err instanceof PdClientError && err.status === GrpcStatus.UNIMPLEMENTED && !stream.answered) {
        // An older PD: it processed nothing, so the same attempt goes unary.
        this.#unaryOnly.add(endpoint);
        this.counters.tsoRpcs += 1;
        return this.#invoker.unaryAttempt("tso", UNARY_TSO, endpoint, { count }, d);
      }
      if (!(err instanceof PdClientError) && d.signal?.aborted) throw abortedError(METHOD, d.signal);
      throw err;
    }
  }
}
