import { setMaxListeners } from "node:events";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { decodePdError, membersFromWire, PDService, type GetMembersRequest, type GetMembersResponse } from "@nokv/pd-proto";
import type { PdMembers } from "@nokv/pd-model";
import { isServiceError, type PdClientError } from "../errors.js";
import type { Channels, UnaryMethod } from "./endpoints.js";

/** How often a leaderless client asks every member who leads, in ms. */
export const LEADER_PROBE_INTERVAL_MS = 50;

/** How long one member may take to answer that question, in ms. */
export const LEADER_PROBE_TIMEOUT_MS = 500;

const GET_MEMBERS = PDService.getMembers as unknown as UnaryMethod<GetMembersRequest, GetMembersResponse>;

/** What the tracker concluded from a failed attempt. */
export type FailureOutcome =
  /** A new leader is known: send again at once. */
  | "redirected"
  /** No usable leader right now: wait for {@link LeaderTracker.changed}. */
  | "wait"
  /** The endpoint is alive and still the best bet: back off and send again. */
  | "backoff";

/** Counters of a tracker. */
export interface LeaderTrackerCounters {
  leaderChanges: number;
  leaderProbes: number;
}

/**
 * Which PD endpoint calls go to, kept current actively (as tikv/pd's client
 * keeps its leader):
 *
 * - **answers**: an endpoint that serves a leader-only call is the leader;
 * - **redirects**: `NOT_LEADER` names the leader in `pd-leader-addr`;
 * - **members**: when the leader is lost or unknown, every endpoint is asked
 *   `GetMembers` every {@link LEADER_PROBE_INTERVAL_MS}, and the member that
 *   names itself leader (or the one most members name) wins; the member list
 *   also teaches the client endpoints it was not given;
 * - **dead endpoints**: an endpoint that refuses connections or drops them is
 *   marked down; no call goes there, and no redirect is followed there, until
 *   it answers a probe again. Calls fail fast on it (no wait-for-ready), so a
 *   dead leader costs a round trip, not a share of the deadline.
 *
 * Callers with no usable endpoint wait on {@link LeaderTracker.changed}
 * instead of spending attempts: a leader kill is a delay, not an error.
 * Against a PD without `GetMembers` (NoKV's Go PD) the tracker falls back to
 * trying the endpoints in turn.
 */
export class LeaderTracker {
  readonly #channels: Channels;
  readonly #endpoints: string[];
  /** The endpoint believed to serve, when known. */
  #leader: string | undefined;
  /** Set when members were asked and none names a usable leader: callers wait. */
  #leaderless = false;
  /** Rotation position when no leader is known (and no member answers GetMembers). */
  #rotation = 0;
  readonly #down = new Set<string>();
  #generation = 0;
  readonly #waiters = new Set<() => void>();
  #probing: Promise<void> | undefined;
  #learnedMembers = false;
  readonly #closed = new AbortController();
  readonly counters: LeaderTrackerCounters = { leaderChanges: 0, leaderProbes: 0 };

  constructor(endpoints: readonly string[], channels: Channels) {
    // Every waiting caller listens to it (and stops listening when it wakes).
    setMaxListeners(0, this.#closed.signal);
    this.#endpoints = [...endpoints];
    this.#channels = channels;
  }

  /** Every endpoint known: those given, then leaders and members learned. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** Bumped by every change that may let a waiting caller go on. */
  get generation(): number {
    return this.#generation;
  }

  /** The endpoint believed to lead, if any. */
  get leader(): string | undefined {
    return this.#leader;
  }

  /**
   * Where the next attempt goes: the leader; without one, the next endpoint
   * not known to be down; `undefined` when there is none or the members were
   * asked and name no usable leader — then wait for {@link changed}.
   */
  target(): string | undefined {
    const leader = this.#leader;
    if (leader !== undefined && !this.#down.has(leader)) return leader;
    if (this.#leaderless) {
      this.#probe();
      return undefined;
    }
    const n = this.#endpoints.length;
    for (let i = 0; i < n; i++) {
      const e = this.#endpoints[(this.#rotation + i) % n]!;
      if (!this.#down.has(e)) return e;
    }
    this.#probe();
    return undefined;
  }

  /** `endpoint` served a leader-only call: it leads. */
  confirm(endpoint: string): void {
    this.#up(endpoint);
    if (this.#leader !== endpoint) this.#setLeader(endpoint);
    if (!this.#learnedMembers) {
      // Learn the other members once, in the background, so that a client
      // given one address can fail over to the others.
      this.#learnedMembers = true;
      void this.#probeRound(false);
    }
  }

  /**
   * Reacts to a failed attempt on `endpoint`. `unreachable` says the
   * endpoint gave no answer at all (connection refused or dropped, or no
   * answer in time while others could serve).
   */
  report(endpoint: string, err: PdClientError, unreachable: boolean): FailureOutcome {
    if (unreachable) {
      this.#markDown(endpoint);
      if (this.#leader === endpoint) this.#lose();
      else if (this.#leader === undefined) this.#rotation += 1;
      return "wait";
    }
    this.#up(endpoint);
    if (err.code !== "NOT_LEADER") return "backoff";
    const named = err.leaderAddr?.trim();
    if (named !== undefined && named !== "" && named !== endpoint) {
      this.#learn(named);
      if (!this.#down.has(named)) {
        if (this.#leader !== named) this.#setLeader(named);
        return "redirected";
      }
    }
    // The leader it names is dead (its lease has not run out yet), or it
    // names none: ask the members and wait.
    if (this.#leader === endpoint || this.#leader === undefined || this.#down.has(this.#leader)) this.#lose();
    return "wait";
  }

  /**
   * Resolves once {@link generation} differs from `generation`, or at
   * `untilMs` (monotonic), or when `signal` aborts or the tracker closes,
   * whichever comes first. Keeps the members probed meanwhile.
   */
  changed(generation: number, untilMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#generation !== generation || this.#closed.signal.aborted || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", done);
        this.#closed.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, untilMs - performance.now()));
      this.#waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
      this.#closed.signal.addEventListener("abort", done, { once: true });
      this.#probe();
    });
  }

  /** Stops probing and wakes every waiter. */
  close(): void {
    this.#closed.abort();
  }

  #bump(): void {
    this.#generation += 1;
    for (const wake of [...this.#waiters]) wake();
  }

  #learn(endpoint: string): void {
    if (!this.#endpoints.includes(endpoint)) this.#endpoints.push(endpoint);
  }

  #setLeader(endpoint: string): void {
    this.#learn(endpoint);
    this.#leader = endpoint;
    this.#leaderless = false;
    this.counters.leaderChanges += 1;
    this.#bump();
  }

  #lose(): void {
    if (this.#leader !== undefined) {
      this.#leader = undefined;
      this.#bump();
    }
    this.#leaderless = true;
    this.#probe();
  }

  #markDown(endpoint: string): void {
    if (!this.#down.has(endpoint)) {
      this.#down.add(endpoint);
      this.#bump();
    }
  }

  #up(endpoint: string): void {
    if (this.#down.delete(endpoint)) this.#bump();
  }

  /** Starts the probe loop unless it runs. */
  #probe(): void {
    if (this.#probing !== undefined || this.#closed.signal.aborted) return;
    this.#probing = this.#probeLoop().finally(() => {
      this.#probing = undefined;
    });
  }

  /** Probes until a usable leader is known, or nobody waits any more. */
  async #probeLoop(): Promise<void> {
    for (;;) {
      await this.#probeRound(true);
      const settled = this.#leader !== undefined && !this.#down.has(this.#leader);
      const rotating = this.#leader === undefined && !this.#leaderless && this.#endpoints.some((e) => !this.#down.has(e));
      if (settled || rotating || this.#waiters.size === 0 || this.#closed.signal.aborted) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#closed.signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, LEADER_PROBE_INTERVAL_MS);
        this.#closed.signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  /**
   * Asks every endpoint `GetMembers` at once. With `choose`, the answers may
   * set the leader; otherwise they only teach endpoints.
   */
  async #probeRound(choose: boolean): Promise<void> {
    const endpoints = [...this.#endpoints];
    const answers = await Promise.all(endpoints.map((e) => this.#askMembers(e)));
    if (this.#closed.signal.aborted) return;
    const votes = new Map<string, number>();
    let selfClaimed: string | undefined;
    let supported = 0;
    let unsupported = 0;
    for (let i = 0; i < endpoints.length; i++) {
      const endpoint = endpoints[i]!;
      const a = answers[i]!;
      if (a === "unreachable") continue;
      this.#up(endpoint);
      if (a === "unsupported") {
        unsupported += 1;
        continue;
      }
      supported += 1;
      for (const m of a.members) if (m.advertiseAddr !== "") this.#learn(m.advertiseAddr);
      const named = a.leader?.advertiseAddr;
      if (named === undefined || named === "") continue;
      if (named === endpoint) selfClaimed ??= endpoint;
      votes.set(named, (votes.get(named) ?? 0) + 1);
    }
    if (!choose) return;
    let chosen = selfClaimed;
    if (chosen === undefined) {
      let best = 0;
      for (const [addr, n] of votes) {
        if (!this.#down.has(addr) && n > best) {
          chosen = addr;
          best = n;
        }
      }
    }
    if (chosen !== undefined && !this.#down.has(chosen)) {
      if (this.#leader !== chosen || this.#leaderless) this.#setLeader(chosen);
    } else if (supported === 0 && unsupported > 0 && this.#leaderless) {
      // No member answers GetMembers (NoKV's Go PD): try the endpoints in turn.
      this.#leaderless = false;
      this.#bump();
    }
  }

  /** One fail-fast `GetMembers` on `endpoint`. */
  async #askMembers(endpoint: string): Promise<PdMembers | "unreachable" | "unsupported"> {
    this.counters.leaderProbes += 1;
    try {
      const res = await this.#channels.unary(endpoint, GET_MEMBERS, {}, {
        deadline: new Date(Date.now() + LEADER_PROBE_TIMEOUT_MS),
        waitForReady: false,
        signals: [this.#closed.signal],
      });
      return membersFromWire(res);
    } catch (err) {
      if (!isServiceError(err)) return "unreachable";
      const decoded = decodePdError(err);
      if (decoded.code === undefined && (decoded.status === GrpcStatus.UNAVAILABLE || decoded.status === GrpcStatus.DEADLINE_EXCEEDED || decoded.status === GrpcStatus.CANCELLED)) {
        return "unreachable";
      }
      // It answered, with something other than a member list (an older PD
      // answers UNIMPLEMENTED): alive, but no help finding the leader.
      return "unsupported";
    }
  }
}
