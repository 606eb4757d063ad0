import { status as GrpcStatus, Metadata, type Client, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import { decodePdError, PDService, type TsoRequest, type TsoResponse } from "@nokv/pd-proto";
import type { Deadline } from "../call/deadline.js";
import { markUnreachable } from "../call/invoker.js";
import { fromServiceError, PdClientError } from "../errors.js";

/**
 * How long a stream may sit with nothing in flight before the client
 * half-closes it, in ms. An open stream keeps the process alive and holds up
 * a graceful server shutdown; an idle one is not worth that.
 */
export const TSO_STREAM_IDLE_MS = 1000;

/**
 * How long the oldest request on a stream may go unanswered before the
 * client judges the stream dead and resets it, in ms. This is the stream's
 * own health, independent of any caller's deadline: a caller whose deadline
 * passes stops waiting, but the stream (and everyone else on it) goes on.
 */
export const TSO_STREAM_TIMEOUT_MS = 2000;

const METHOD = "Tso";
const DEF = PDService.tsoStream;

/** One request on the stream, waiting for its answer in order. */
interface Waiting {
  readonly sentAtMs: number;
  /** Cleared once the caller stopped waiting: the answer is then consumed and dropped. */
  settle: ((res: TsoResponse | PdClientError) => void) | undefined;
}

/**
 * One `TsoStream` call to one endpoint. Requests go out in order and PD
 * answers them in order, so the oldest request owns the next answer. A
 * caller that stops waiting (its deadline, its signal) leaves its request in
 * the queue — its answer is still consumed in turn and dropped (the values
 * are skipped, never handed out twice) — so one caller's deadline never
 * touches another's request.
 *
 * The stream ends for everyone when PD ends it (a status, or the end of the
 * stream), when it has not answered the oldest request within
 * {@link TSO_STREAM_TIMEOUT_MS}, or on {@link TsoStream.cancel}; every
 * request still waiting then fails with a {@link PdClientError} built from
 * what happened (grpc-js's own error when there is one), and the stream is
 * never reused, so an answer can never be matched to a request of another
 * stream.
 */
export class TsoStream {
  /** Set once the stream may take no more requests. */
  finished = false;
  readonly endpoint: string;
  readonly #call: ClientDuplexStream<TsoRequest, TsoResponse>;
  readonly #queue: Waiting[] = [];
  #head = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #sentSinceIdleCheck = 0;
  #answered = false;

  constructor(client: Client, endpoint: string) {
    this.endpoint = endpoint;
    // Fail fast like unary attempts: a dead endpoint must not hold the batch.
    this.#call = client.makeBidiStreamRequest(DEF.path, DEF.requestSerialize, DEF.responseDeserialize, new Metadata({ waitForReady: false }));
    this.#call.on("data", (res: TsoResponse) => this.#onData(res));
    this.#call.on("error", (err: ServiceError) => this.#onError(err));
    this.#call.on("status", () => {
      // The server ended the stream. Anything still waiting will get no answer.
      this.#fail(new PdClientError(`pd ${METHOD}: TsoStream to ${endpoint} ended by the server`, {
        status: GrpcStatus.UNAVAILABLE,
        code: "UNAVAILABLE",
        retryable: true,
        method: METHOD,
        endpoint,
      }));
    });
    this.#idleTimer = setInterval(() => this.#checkIdle(), TSO_STREAM_IDLE_MS);
    this.#idleTimer.unref();
  }

  /** Requests waiting for an answer (including those whose caller stopped waiting). */
  get inFlight(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether PD answered anything on this stream (an older PD answers UNIMPLEMENTED at once instead). */
  get answered(): boolean {
    return this.#answered;
  }

  /**
   * Sends one request for `count` timestamps; resolves to PD's answer, or
   * rejects with a {@link PdClientError}: `DEADLINE_EXCEEDED` when the
   * caller's deadline passes (this caller only; retryable), `CANCELLED`-free
   * on its signal (the caller maps it), or the stream's failure.
   */
  request(count: bigint, deadline: Deadline): Promise<TsoResponse> {
    if (this.finished) {
      return Promise.reject(new PdClientError(`pd ${METHOD}: TsoStream to ${this.endpoint} already closed`, {
        status: GrpcStatus.UNAVAILABLE,
        code: "UNAVAILABLE",
        retryable: true,
        method: METHOD,
        endpoint: this.endpoint,
      }));
    }
    this.#sentSinceIdleCheck++;
    return new Promise<TsoResponse>((resolve, reject) => {
      const signal = deadline.signal;
      const stopWaiting = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        w.settle = undefined;
      };
      const w: Waiting = {
        sentAtMs: performance.now(),
        settle: (res) => {
          stopWaiting();
          if (res instanceof PdClientError) reject(res);
          else resolve(res);
        },
      };
      const onDeadline = (): void => {
        stopWaiting();
        reject(new PdClientError(`pd ${METHOD}: no answer on the TsoStream to ${this.endpoint} within the deadline`, {
          status: GrpcStatus.DEADLINE_EXCEEDED,
          code: "DEADLINE_EXCEEDED",
          retryable: true,
          method: METHOD,
          endpoint: this.endpoint,
        }));
      };
      // The caller maps an abort to CANCELLED with the signal's reason.
      const onAbort = (): void => {
        stopWaiting();
        reject(signal?.reason);
      };
      const timer = setTimeout(onDeadline, deadline.remainingMs());
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(w);
      this.#armWatchdog();
      this.#call.write({ count });
    });
  }

  /**
   * Half-closes the stream: no new requests, but answers to the ones in
   * flight still arrive (the server ends the stream after them).
   */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.#stopIdleTimer();
    this.#call.end();
  }

  /** Ends the stream at once; every waiting request rejects with `err`. */
  cancel(err: PdClientError): void {
    this.#fail(err);
    this.#call.cancel();
  }

  #onData(res: TsoResponse): void {
    this.#answered = true;
    const w = this.#queue[this.#head];
    if (w === undefined) {
      this.cancel(new PdClientError(`pd ${METHOD}: TsoStream to ${this.endpoint} answered a request that was never sent`, {
        status: GrpcStatus.INTERNAL,
        code: "INTERNAL",
        retryable: false,
        method: METHOD,
        endpoint: this.endpoint,
      }));
      return;
    }
    this.#queue[this.#head] = undefined as unknown as Waiting;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    this.#armWatchdog();
    w.settle?.(res);
  }

  #onError(raw: ServiceError): void {
    const err = fromServiceError(raw, METHOD, this.endpoint);
    // No answer at all from the endpoint: the invoker marks it down.
    if (decodePdError(raw).code === undefined && raw.code === GrpcStatus.UNAVAILABLE) markUnreachable(err);
    this.#fail(err);
  }

  /** Watches the oldest request: unanswered for TSO_STREAM_TIMEOUT_MS, the stream is judged dead. */
  #armWatchdog(): void {
    if (this.#watchdog !== undefined) {
      clearTimeout(this.#watchdog);
      this.#watchdog = undefined;
    }
    const oldest = this.#queue[this.#head];
    if (oldest === undefined || this.finished) return;
    const due = oldest.sentAtMs + TSO_STREAM_TIMEOUT_MS - performance.now();
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      this.cancel(markUnreachable(new PdClientError(`pd ${METHOD}: TsoStream to ${this.endpoint} answered nothing for ${TSO_STREAM_TIMEOUT_MS}ms; reset`, {
        status: GrpcStatus.UNAVAILABLE,
        code: "UNAVAILABLE",
        retryable: true,
        method: METHOD,
        endpoint: this.endpoint,
      })));
    }, Math.max(0, due));
    // Callers' own timers keep the process alive; the watchdog need not.
    this.#watchdog.unref();
  }

  /** Marks the stream finished and fails everything still waiting, oldest first. */
  #fail(err: PdClientError): void {
    this.finished = true;
    this.#stopIdleTimer();
    if (this.#watchdog !== undefined) {
      clearTimeout(this.#watchdog);
      this.#watchdog = undefined;
    }
    const waiting = this.#queue.slice(this.#head);
    this.#queue.length = 0;
    this.#head = 0;
    for (const w of waiting) w.settle?.(err);
  }

  #checkIdle(): void {
    if (this.#sentSinceIdleCheck === 0 && this.inFlight === 0) this.end();
    this.#sentSinceIdleCheck = 0;
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer !== undefined) {
      clearInterval(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }
}
