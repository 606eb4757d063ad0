import type { ExecutableOperationKind, OperatorInfo, OperatorKind, OperatorState, Region, RegionEpoch, SchedulerOperation } from "@nokv/pd-model";
import { hasDuplicatePeers } from "../region/region.js";
import { Operator, type OperatorPlan, outranks } from "./operator.js";
import { isStepFinished, type OperatorStep, stepOperationKind, stepStaleReason, type StepTimeouts, stepTimeoutMs } from "./operator-step.js";
import type { RegionStats } from "./region-stats.js";
import { keepsLiveMajority, type PeerLiveness } from "./replica-safety.js";

/** The events counted per operator kind: created, then one end state. */
export type OperatorEvent = "create" | Exclude<OperatorState, "created" | "running" | "unknown">;

/** Options of {@link OperatorController}. */
export interface OperatorControllerOptions {
  readonly timeouts: StepTimeouts;
  /** A step not seen to take effect is sent again after this long. */
  readonly resendIntervalMs: number;
  /** Ended operators kept for inspection. */
  readonly historySize: number;
  /** Monotonic ms: every elapsed-time decision. */
  readonly monoMs: () => number;
  /** Wall-clock ms: creation times for people. */
  readonly nowMs: () => number;
  /** Told when an operator ends, whatever the state (its region may need another look). */
  readonly onEnd?: (op: Operator) => void;
}

/** What the controller asks of the cluster while it works. */
export interface ControllerView {
  /** The scheduler's stats of a region, if indexed. */
  stats(regionId: bigint): RegionStats | undefined;
  /** The catalog's region, if any (legacy transfers are checked against it). */
  region(regionId: bigint): Region | undefined;
  /** Whether the store is up now. */
  isUp(storeId: bigint): boolean;
  /** Whether a peer is live (store up, not reported down or behind). */
  isPeerLive: PeerLiveness;
}

/** Counters of leader transfers in the shape of the `pd_scheduler_transfers_*` metrics. */
export interface TransferCounters {
  readonly issued: number;
  readonly completed: number;
  readonly expired: number;
  readonly cancelled: number;
}

const CONF_CHANGE_KINDS: readonly ExecutableOperationKind[] = ["add-peer", "add-learner", "promote-learner", "remove-peer"];

/**
 * The operator controller (TiKV's `operator.Controller`): at most one
 * operator per region, each handed to the store that must carry out its
 * current step on that store's heartbeat — the only channel NoKV's wire
 * has — and advanced, finished, timed out or cancelled from what region and
 * store heartbeats report.
 *
 * - Priorities: an operator of higher priority replaces the one on its
 *   region (state `replaced`); otherwise the newcomer is refused.
 * - Influence: the unfinished steps' effect on each store (region weight,
 *   leaders) is kept incrementally, so schedulers score stores as they will
 *   be, not as they were.
 * - History: the last `historySize` ended operators; counters by kind and event.
 *
 * Leader transfers planned for stores without capabilities (`legacy`)
 * follow the rules PD had before operators, exactly: sent once; done when
 * the source store reports fewer leaders or the target more (oldest first);
 * cancelled when the region changes epoch, loses a peer of the transfer,
 * reports duplicate peers or a store of it is not up; timed out after the
 * transfer timeout. A completed one is remembered as the region's leader
 * while the epoch holds.
 */
export class OperatorController {
  readonly #o: OperatorControllerOptions;
  /** By region, in creation order (Map iteration order is insertion order). */
  readonly #ops = new Map<bigint, Operator>();
  /** Store → regions whose current step it must carry out. */
  readonly #byExecutor = new Map<bigint, Set<bigint>>();
  /** Store → balance-leader operators in flight that involve it. */
  readonly #transfers = new Map<bigint, number>();
  /** Store → leaders unfinished steps will add (or take, negative). */
  readonly #leaderDelta = new Map<bigint, number>();
  /** Store → region weight unfinished steps will add (or take). */
  readonly #weightDelta = new Map<bigint, number>();
  readonly #history: OperatorInfo[] = [];
  readonly #counters = new Map<string, number>();
  readonly #lastLeaderNum = new Map<bigint, bigint>();
  readonly #ledBy = new Map<bigint, { readonly storeId: bigint; readonly epoch: RegionEpoch }>();
  #nextId: bigint;

  constructor(options: OperatorControllerOptions) {
    this.#o = options;
    // Unique across restarts and leader changes without touching the id
    // allocator (a store may use operator ids to drop repeats): the start
    // time in ms, times a million, plus a sequence.
    this.#nextId = BigInt(Math.max(1, Math.trunc(options.nowMs()))) * 1_000_000n;
  }

  /** Operators in flight. */
  get size(): number {
    return this.#ops.size;
  }

  /** The operator in flight on the region, if any. */
  get(regionId: bigint): Operator | undefined {
    return this.#ops.get(regionId);
  }

  /** Whether an operator is in flight on the region. */
  has(regionId: bigint): boolean {
    return this.#ops.has(regionId);
  }

  /** The operators in flight, oldest first. */
  list(): Operator[] {
    return [...this.#ops.values()];
  }

  /** Ended operators, newest first, at most `historySize`. */
  history(): OperatorInfo[] {
    return [...this.#history].reverse();
  }

  /** Operators by `kind` and event since start-up, as `[kind, event, count]`. */
  counters(): Array<readonly [OperatorKind, OperatorEvent, number]> {
    const out: Array<readonly [OperatorKind, OperatorEvent, number]> = [];
    for (const [key, n] of this.#counters) {
      const [kind, event] = key.split("/") as [OperatorKind, OperatorEvent];
      out.push([kind, event, n]);
    }
    return out;
  }

  /** One counter: operators of `kind` that reached `event`. */
  count(kind: OperatorKind, event: OperatorEvent): number {
    return this.#counters.get(`${kind}/${event}`) ?? 0;
  }

  /** The balance-leader counters under the names of PD's original transfer metrics. */
  transferCounters(): TransferCounters {
    const c = (e: OperatorEvent) => this.count("balance-leader", e);
    return { issued: c("create"), completed: c("success"), expired: c("timeout"), cancelled: c("cancelled") + c("replaced") };
  }

  /** Balance-leader operators in flight that involve the store, as source or target. */
  transfersInFlight(storeId: bigint): number {
    return this.#transfers.get(storeId) ?? 0;
  }

  /** Leader transfers in flight into (+) and out of (−) the store. */
  pendingLeaderDelta(storeId: bigint): number {
    return this.#leaderDelta.get(storeId) ?? 0;
  }

  /** Region weight unfinished steps will move onto (+) or off (−) the store. */
  pendingWeightDelta(storeId: bigint): number {
    return this.#weightDelta.get(storeId) ?? 0;
  }

  /**
   * Adds an operator for `region`, replacing one of lower priority. Returns
   * the operator, or undefined when one of equal or higher priority is in
   * flight (nothing changes then).
   */
  add(region: RegionStats | Region, plan: OperatorPlan, options: { legacy?: boolean; executorStoreId?: bigint } = {}): Operator | undefined {
    const r = "region" in region ? region.region : region;
    const old = this.#ops.get(r.id);
    if (old !== undefined) {
      if (!outranks(plan.priority, old.priority)) return undefined;
      this.#end(old, "replaced", `replaced by a ${plan.kind} operator`);
    }
    const now = this.#o.monoMs();
    const op = new Operator({
      id: this.#nextId++,
      regionId: r.id,
      plan,
      epoch: r.epoch,
      weight: "weight" in region ? region.weight : 1,
      legacy: options.legacy === true,
      createdAtMs: this.#o.nowMs(),
      createdMonoMs: now,
    });
    this.#ops.set(r.id, op);
    this.#bump(op.kind, "create");
    this.#influence(op, 0, +1);
    if (op.kind === "balance-leader") this.#countTransfer(op, +1);
    this.#setExecutor(op, options.executorStoreId);
    if (op.legacy) {
      // Sent by the caller, once, with the heartbeat that planned it.
      op.state = "running";
      op.sentStep = 0;
      op.lastSentMonoMs = now;
    }
    return op;
  }

  /** Ends the region's operator, if any, as cancelled (an admin or a removed region). */
  cancel(regionId: bigint, reason: string): boolean {
    const op = this.#ops.get(regionId);
    if (op === undefined) return false;
    this.#end(op, "cancelled", reason);
    return true;
  }

  /** Forgets a region that left the catalog: its operator is cancelled, its known leader dropped. */
  forgetRegion(regionId: bigint): void {
    this.cancel(regionId, "region removed");
    this.#ledBy.delete(regionId);
  }

  /**
   * A store heartbeat's leader count. For legacy transfers (whose regions
   * report no leader), a drop finishes the store's oldest outgoing ones and
   * a rise its oldest incoming ones, one per leader.
   */
  observeLeaderCount(storeId: bigint, leaderNum: bigint): void {
    const prev = this.#lastLeaderNum.get(storeId);
    this.#lastLeaderNum.set(storeId, leaderNum);
    if (prev === undefined || prev === leaderNum) return;
    const outgoing = leaderNum < prev;
    let left = outgoing ? prev - leaderNum : leaderNum - prev;
    for (const op of this.#ops.values()) {
      if (left === 0n) break;
      if (!op.legacy) continue;
      const t = op.steps[0] as Extract<OperatorStep, { type: "transfer-leader" }>;
      if ((outgoing ? t.fromStoreId : t.toStoreId) !== storeId) continue;
      this.#ledBy.set(op.regionId, { storeId: t.toStoreId, epoch: op.epoch });
      this.#influenceStep(op, t, -1);
      op.current = 1;
      this.#end(op, "success", "");
      left--;
    }
  }

  /**
   * The store a finished legacy transfer moved the region's leadership to,
   * while the region keeps the epoch it had then (a hint: elections PD does
   * not see can move it again).
   */
  knownLeaderStore(region: Region): bigint | undefined {
    const led = this.#ledBy.get(region.id);
    if (led === undefined) return undefined;
    if (led.epoch.version !== region.epoch.version || led.epoch.confVersion !== region.epoch.confVersion) {
      this.#ledBy.delete(region.id);
      return undefined;
    }
    return led.storeId;
  }

  /**
   * Runs on every store heartbeat, over every operator in creation order:
   * legacy transfers expire after the transfer timeout and are cancelled by
   * the rules above; other operators time out when their current step has
   * taken too long, and are cancelled when their region is gone or the store
   * a peer is being added to (or leadership handed to) is not up.
   */
  sweep(view: ControllerView): void {
    const now = this.#o.monoMs();
    for (const op of this.#ops.values()) {
      if (op.legacy) {
        const t = op.steps[0] as Extract<OperatorStep, { type: "transfer-leader" }>;
        if (now - op.createdMonoMs >= this.#o.timeouts.transferTimeoutMs) {
          this.#end(op, "timeout", "leader counts did not show the transfer in time");
          continue;
        }
        const r = view.region(op.regionId);
        const stale =
          r === undefined ||
          r.epoch.version !== op.epoch.version ||
          r.epoch.confVersion !== op.epoch.confVersion ||
          !r.peers.some((p) => p.peerId === t.fromPeerId && p.storeId === t.fromStoreId) ||
          !r.peers.some((p) => p.peerId === t.toPeerId && p.storeId === t.toStoreId) ||
          hasDuplicatePeers(r);
        if (stale || !view.isUp(t.fromStoreId) || !view.isUp(t.toStoreId)) {
          this.#end(op, "cancelled", stale ? "region changed" : "a store of the transfer is not up");
        }
        continue;
      }
      const step = op.currentStep;
      if (step === undefined) continue;
      if (now - op.stepStartedMonoMs >= stepTimeoutMs(step, op.weight, this.#o.timeouts)) {
        this.#end(op, "timeout", `step ${op.current} (${step.type}) did not take effect in time`);
        continue;
      }
      if (view.stats(op.regionId) === undefined) {
        this.#end(op, "cancelled", "region removed");
        continue;
      }
      const target = step.type === "transfer-leader" ? step.toStoreId : step.type === "add-learner" || step.type === "add-peer" ? step.storeId : undefined;
      if (target !== undefined && !view.isUp(target)) this.#end(op, "cancelled", `store ${target} is not up`);
    }
  }

  /**
   * A region heartbeat: the region's operator (not a legacy one) advances
   * past the steps the region shows done, succeeds when none is left, and is
   * cancelled when the region moved under it — its conf version went up by
   * more than its own finished steps explain (TiKV's rule), its peers are no
   * longer one per store, or its current step can no longer take effect.
   * The step then goes to the region's current leader.
   */
  onRegionHeartbeat(stats: RegionStats): void {
    const op = this.#ops.get(stats.region.id);
    if (op === undefined || op.legacy) return;
    if (stats.duplicatePeers) {
      this.#end(op, "cancelled", "region reports duplicate peers");
      return;
    }
    const before = op.current;
    while (op.current < op.steps.length && isStepFinished(op.steps[op.current]!, stats)) {
      this.#influenceStep(op, op.steps[op.current]!, -1);
      op.current++;
    }
    if (op.current >= op.steps.length) {
      this.#end(op, "success", "");
      return;
    }
    const stale = stepStaleReason(op.steps[op.current]!, stats);
    if (stale !== undefined) {
      this.#end(op, "cancelled", stale);
      return;
    }
    const moved = stats.region.epoch.confVersion - op.epoch.confVersion;
    if (moved > BigInt(op.confChangesDone(stats))) {
      this.#end(op, "cancelled", `conf version moved to ${stats.region.epoch.confVersion} under it (planned at ${op.epoch.confVersion})`);
      return;
    }
    if (op.current !== before) {
      op.stepStartedMonoMs = this.#o.monoMs();
      op.sentStep = -1;
    }
    // A new leader has not seen the step: it gets it on its next heartbeat.
    if (op.executorStoreId !== stats.leaderStoreId) op.sentStep = -1;
    this.#setExecutor(op, stats.leaderStoreId);
  }

  /**
   * The steps for `storeId` to carry out now: the current step of every
   * operator whose region it leads, if it executes that kind (`kinds`), the
   * step keeps a live majority as the region stands, and it was not sent in
   * the last resend interval. Each carries the operator id, the region's
   * current epoch and the target store.
   */
  dispatch(storeId: bigint, kinds: ReadonlySet<ExecutableOperationKind>, view: ControllerView): SchedulerOperation[] {
    const set = this.#byExecutor.get(storeId);
    if (set === undefined) return [];
    const now = this.#o.monoMs();
    const out: SchedulerOperation[] = [];
    for (const regionId of set) {
      const op = this.#ops.get(regionId);
      const step = op?.currentStep;
      if (op === undefined || op.legacy || step === undefined) continue;
      if (!kinds.has(stepOperationKind(step))) continue;
      if (op.sentStep === op.current && now - op.lastSentMonoMs < this.#o.resendIntervalMs) continue;
      const stats = view.stats(regionId);
      if (stats === undefined || stats.leaderStoreId !== storeId || stats.leaderPeerId === undefined) continue;
      // Checked again at every send: a store may have gone away since planning.
      if (!keepsLiveMajority(stats, [step], view.isPeerLive)) continue;
      out.push(toOperation(op, step, stats));
      op.sentStep = op.current;
      op.lastSentMonoMs = now;
      op.state = "running";
    }
    return out;
  }

  #end(op: Operator, state: Exclude<OperatorState, "created" | "running" | "unknown">, reason: string): void {
    if (this.#ops.get(op.regionId) !== op) return;
    this.#ops.delete(op.regionId);
    this.#influence(op, op.current, -1);
    if (op.kind === "balance-leader") this.#countTransfer(op, -1);
    this.#setExecutor(op, undefined);
    op.state = state;
    op.reason = reason;
    op.endedMonoMs = this.#o.monoMs();
    this.#bump(op.kind, state);
    this.#history.push(op.info(op.endedMonoMs));
    if (this.#history.length > this.#o.historySize) this.#history.splice(0, this.#history.length - this.#o.historySize);
    this.#o.onEnd?.(op);
  }

  #bump(kind: OperatorKind, event: OperatorEvent): void {
    const key = `${kind}/${event}`;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + 1);
  }

  #setExecutor(op: Operator, storeId: bigint | undefined): void {
    if (op.executorStoreId === storeId) return;
    if (op.executorStoreId !== undefined) {
      const s = this.#byExecutor.get(op.executorStoreId);
      s?.delete(op.regionId);
      if (s?.size === 0) this.#byExecutor.delete(op.executorStoreId);
    }
    op.executorStoreId = storeId;
    if (storeId !== undefined) {
      let s = this.#byExecutor.get(storeId);
      if (s === undefined) {
        s = new Set();
        this.#byExecutor.set(storeId, s);
      }
      s.add(op.regionId);
    }
  }

  #countTransfer(op: Operator, sign: 1 | -1): void {
    const t = op.steps[0];
    if (t?.type !== "transfer-leader") return;
    for (const s of [t.fromStoreId, t.toStoreId]) this.#transfers.set(s, (this.#transfers.get(s) ?? 0) + sign);
  }

  #influence(op: Operator, from: number, sign: 1 | -1): void {
    for (let i = from; i < op.steps.length; i++) this.#influenceStep(op, op.steps[i]!, sign);
  }

  #influenceStep(op: Operator, step: OperatorStep, sign: 1 | -1): void {
    const add = (m: Map<bigint, number>, s: bigint, v: number) => m.set(s, (m.get(s) ?? 0) + sign * v);
    switch (step.type) {
      case "transfer-leader":
        add(this.#leaderDelta, step.fromStoreId, -1);
        add(this.#leaderDelta, step.toStoreId, +1);
        return;
      case "add-learner":
      case "add-peer":
        add(this.#weightDelta, step.storeId, op.weight);
        return;
      case "remove-peer":
        add(this.#weightDelta, step.storeId, -op.weight);
        return;
      case "promote-learner":
        return;
    }
  }
}

function toOperation(op: Operator, step: OperatorStep, stats: RegionStats): SchedulerOperation {
  const base = { regionId: op.regionId, operatorId: op.id, regionEpoch: stats.region.epoch };
  if (step.type === "transfer-leader") {
    return { ...base, kind: "leader-transfer", sourcePeerId: step.fromPeerId, targetPeerId: step.toPeerId, targetStoreId: step.toStoreId };
  }
  return { ...base, kind: step.type, sourcePeerId: stats.leaderPeerId ?? 0n, targetPeerId: step.peerId, targetStoreId: step.storeId };
}

/** Kinds that change a region's membership; a leader must execute them all to be handed a move. */
export { CONF_CHANGE_KINDS };
