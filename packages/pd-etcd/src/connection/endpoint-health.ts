import { performance } from "node:perf_hooks";
import { GRPCDeadlineExceededError, type IOptions, isRecoverableError } from "etcd3";

/** Consecutive recoverable failures (refused, reset) after which an endpoint is skipped. */
export const HOST_FAILURES_TO_SKIP = 3;
/** How long an endpoint that keeps failing is skipped, in ms. */
export const HOST_SKIP_MS = 1000;
/** How long an endpoint that did not answer in time is skipped the first time, in ms; doubled per repeat. */
export const HUNG_SKIP_MS = 1000;
/** The longest skip of an endpoint that keeps hanging, in ms. */
export const HUNG_SKIP_MAX_MS = 8000;

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions["faultHandling"]>["host"]>>;

/** What the client handed out on one endpoint (a stream) is tagged with that endpoint. */
const HOST_OF = Symbol("nokv.etcd.host");

interface EndpointState {
  failures: number;
  hangs: number;
  skipUntil: number;
}

/**
 * Which etcd members answer, as one client sees them: the member a request
 * or stream goes to is chosen by the etcd client among those not skipped.
 *
 * A member that refuses or resets (a dead process) is skipped for
 * {@link HOST_SKIP_MS} after {@link HOST_FAILURES_TO_SKIP} failures in a
 * row. A member that does not answer in time — a request past its attempt
 * deadline, a keepalive or watch stream that went silent — is what a paused
 * or overloaded member looks like; it is skipped at once, for
 * {@link HUNG_SKIP_MS}, doubling while it keeps hanging (up to
 * {@link HUNG_SKIP_MAX_MS}), so that the next attempt goes to a member that
 * answers. An answer clears it. A member is never skipped when every other
 * one is skipped too: with nothing better to try, trying is better than
 * waiting.
 *
 * Every elapsed-time decision is taken on `nowMs`, the monotonic clock by
 * default, so a wall clock stepped back never keeps a member skipped.
 */
export class EndpointHealth {
  readonly #states = new Map<string, EndpointState>();
  readonly #nowMs: () => number;

  constructor(endpoints: readonly string[], nowMs: () => number = () => performance.now()) {
    this.#nowMs = nowMs;
    for (const e of endpoints) this.#states.set(hostKey(e), { failures: 0, hangs: 0, skipUntil: Number.NEGATIVE_INFINITY });
  }

  /** The fault policy etcd3 runs every call and stream of `endpoint` through. */
  policy(endpoint: string): HostPolicy {
    const host = hostKey(endpoint);
    const state = this.#state(host);
    const policy = {
      execute: async <T>(fn: (context: { signal: AbortSignal; attempt: number }) => T | Promise<T>): Promise<T> => {
        if (this.isSkipped(host)) {
          throw new Error(`etcd endpoint ${host} skipped: it failed or did not answer recently`);
        }
        try {
          const result = await fn({ signal: new AbortController().signal, attempt: 0 });
          // A stream "succeeds" as soon as it is opened; whoever reads it reports silence later.
          if (typeof result === "object" && result !== null && Object.isExtensible(result)) {
            Object.defineProperty(result, HOST_OF, { value: host, configurable: true });
          }
          if (!isStream(result)) this.answered(host);
          return result;
        } catch (err) {
          if (err instanceof GRPCDeadlineExceededError) this.hung(host);
          else if (err instanceof Error && isRecoverableError(err) && ++state.failures >= HOST_FAILURES_TO_SKIP) {
            state.failures = 0;
            state.skipUntil = Math.max(state.skipUntil, this.#nowMs() + HOST_SKIP_MS);
          }
          throw err;
        }
      },
    };
    return policy as unknown as HostPolicy;
  }

  /** True when `host` (`host:port`) is skipped now: it failed or hung recently and another member is not skipped. */
  isSkipped(host: string): boolean {
    const now = this.#nowMs();
    const state = this.#states.get(host);
    if (state === undefined || now >= state.skipUntil) return false;
    for (const [other, s] of this.#states) if (other !== host && now >= s.skipUntil) return true;
    return false;
  }

  /** `host` answered: it is healthy again. */
  answered(host: string): void {
    const state = this.#states.get(host);
    if (state === undefined) return;
    state.failures = 0;
    state.hangs = 0;
    state.skipUntil = Number.NEGATIVE_INFINITY;
  }

  /** `host` did not answer in time (a request past its deadline, a silent stream): skip it for a while. */
  hung(host: string): void {
    const state = this.#state(host);
    const skipMs = Math.min(HUNG_SKIP_MAX_MS, HUNG_SKIP_MS * 2 ** Math.min(state.hangs, 10));
    state.hangs++;
    state.failures = 0;
    state.skipUntil = Math.max(state.skipUntil, this.#nowMs() + skipMs);
  }

  /** The endpoint (`host:port`) a stream or result came from, when it came through a policy of this kind. */
  static hostOf(value: unknown): string | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    return (value as { [HOST_OF]?: string })[HOST_OF];
  }

  #state(host: string): EndpointState {
    let s = this.#states.get(host);
    if (s === undefined) {
      s = { failures: 0, hangs: 0, skipUntil: Number.NEGATIVE_INFINITY };
      this.#states.set(host, s);
    }
    return s;
  }
}

/** `http://127.0.0.1:2379` → `127.0.0.1:2379`, as etcd3 names its hosts. */
export function hostKey(endpoint: string): string {
  return endpoint.replace(/^https?:\/\//, "");
}

function isStream(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { on?: unknown }).on === "function" &&
    typeof (value as { cancel?: unknown }).cancel === "function";
}
