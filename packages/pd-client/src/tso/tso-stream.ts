import { Metadata, status as GrpcStatus, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import type { PDClient, TsoRequest, TsoResponse } from "@nokv/pd-proto";

/**
 * How long a stream may sit with nothing in flight before the client
 * half-closes it, in ms. An open stream keeps the process alive and holds up
 * a graceful server shutdown; an idle one is not worth that.
 */
export const TSO_STREAM_IDLE_MS = 1000;

/**
 * The rejection of every request on a stream the server does not offer
 * (`UNIMPLEMENTED`: an older PD). The server processed none of them, so the
 * caller may send them again as unary `Tso` RPCs.
 */
export const TSO_STREAM_UNSUPPORTED: unique symbol = Symbol("TsoStream unsupported");

/** A grpc-js-shaped error, so that the client maps stream failures exactly like unary ones. */
function streamError(code: GrpcStatus, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

/** One request on the stream, waiting for its answer. */
interface Waiting {
  readonly deadlineMs: number;
  readonly resolve: (res: TsoResponse) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * One `TsoStream` call to one endpoint. Requests go out in order and the
 * server answers them in order, so the oldest waiting request owns the next
 * answer. Whatever ends the stream early (an error status, the server ending
 * it, a deadline, `cancel`) rejects every waiting request and marks the
 * stream {@link TsoStream.finished}: it is never reused, so an answer can
 * never be matched to a request of another stream. The client opens a new
 * one for the next batch.
 *
 * Deadlines: one timer watches the earliest deadline of the waiting
 * requests. When it passes, the late requests fail with `DEADLINE_EXCEEDED`,
 * the stream is cancelled and the others fail with a retryable
 * `UNAVAILABLE` (values PD may have reserved for them are skipped, never
 * handed out twice).
 */
export class TsoStream {
  /** Set once the stream may take no more requests. */
  finished = false;
  readonly #call: ClientDuplexStream<TsoRequest, TsoResponse>;
  readonly #queue: Waiting[] = [];
  #head = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** The deadline `#deadlineTimer` fires at (epoch ms). */
  #timerDeadlineMs = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #sentSinceIdleCheck = 0;

  constructor(
    client: PDClient,
    readonly endpoint: string,
  ) {
    // Wait for the connection like unary calls do; the oldest request's
    // deadline bounds the wait.
    this.#call = client.tsoStream(new Metadata({ waitForReady: true }));
    this.#call.on("data", (res: TsoResponse) => this.#onData(res));
    this.#call.on("error", (err: ServiceError) => this.#onError(err));
    this.#call.on("status", () => {
      // The server ended the stream. Anything still waiting will get no answer.
      this.#fail(() => streamError(GrpcStatus.UNAVAILABLE, `TsoStream to ${endpoint} ended by the server`));
    });
    this.#idleTimer = setInterval(() => this.#checkIdle(), TSO_STREAM_IDLE_MS);
    this.#idleTimer.unref();
  }

  /** Requests waiting for an answer. */
  get inFlight(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Sends one request for `count` timestamps; resolves to PD's answer, or
   * rejects with a grpc-js `ServiceError` (or {@link TSO_STREAM_UNSUPPORTED}).
   * `signal` rejects this request only: its answer is then dropped.
   */
  request(count: bigint, deadlineMs: number, signal: AbortSignal | undefined): Promise<TsoResponse> {
    if (this.finished) return Promise.reject(streamError(GrpcStatus.UNAVAILABLE, "TsoStream already closed"));
    this.#sentSinceIdleCheck++;
    const answer = new Promise<TsoResponse>((resolve, reject) => {
      this.#queue.push({ deadlineMs, resolve, reject });
    });
    if (this.#deadlineTimer === undefined || deadlineMs < this.#timerDeadlineMs) this.#armDeadline();
    this.#call.write({ count });
    if (signal === undefined) return answer;
    // The request stays in the stream's queue (its answer must still be
    // consumed in order); only this caller stops waiting.
    return new Promise<TsoResponse>((resolve, reject) => {
      const onAbort = (): void => reject(streamError(GrpcStatus.CANCELLED, "aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
      answer.then(
        (res) => {
          signal.removeEventListener("abort", onAbort);
          resolve(res);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
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
  cancel(err: unknown): void {
    this.#fail(() => err);
    this.#call.cancel();
  }

  #onData(res: TsoResponse): void {
    const w = this.#queue[this.#head];
    if (w === undefined) {
      this.cancel(streamError(GrpcStatus.INTERNAL, "TsoStream answered a request that was never sent"));
      return;
    }
    this.#queue[this.#head] = undefined as unknown as Waiting;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
      if (this.#deadlineTimer !== undefined) {
        clearTimeout(this.#deadlineTimer);
        this.#deadlineTimer = undefined;
      }
    } else if (w.deadlineMs === this.#timerDeadlineMs) {
      this.#armDeadline();
    }
    w.resolve(res);
  }

  #onError(err: ServiceError): void {
    if (err.code === GrpcStatus.UNIMPLEMENTED) {
      this.#fail(() => TSO_STREAM_UNSUPPORTED);
      return;
    }
    this.#fail(() => err);
  }

  /** Watches the earliest deadline among the waiting requests. */
  #armDeadline(): void {
    let earliest = Infinity;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const d = this.#queue[i]!.deadlineMs;
      if (d < earliest) earliest = d;
    }
    if (this.#deadlineTimer !== undefined) {
      if (this.#timerDeadlineMs === earliest) return;
      clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
    if (earliest === Infinity) return;
    this.#timerDeadlineMs = earliest;
    this.#deadlineTimer = setTimeout(() => this.#onDeadline(), Math.max(0, earliest - Date.now()));
  }

  /**
   * A waiting request passed its deadline. Answers come in order, so none
   * can be dropped alone: the stream is cancelled, the late requests fail
   * with `DEADLINE_EXCEEDED` and the others with a retryable `UNAVAILABLE`.
   */
  #onDeadline(): void {
    this.#deadlineTimer = undefined;
    const now = Date.now();
    const waiting = this.#queue.slice(this.#head);
    this.#fail(() => undefined, false);
    for (const w of waiting) {
      w.reject(
        w.deadlineMs <= now
          ? streamError(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded waiting for the TsoStream answer")
          : streamError(GrpcStatus.UNAVAILABLE, "TsoStream reset after another request on it timed out"),
      );
    }
    this.#call.cancel();
  }

  /** Marks the stream finished and rejects everything waiting (unless `reject` is false), oldest first. */
  #fail(errorFor: () => unknown, reject = true): void {
    this.finished = true;
    this.#stopIdleTimer();
    if (this.#deadlineTimer !== undefined) {
      clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
    const waiting = this.#queue.slice(this.#head);
    this.#queue.length = 0;
    this.#head = 0;
    if (reject) for (const w of waiting) w.reject(errorFor());
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
