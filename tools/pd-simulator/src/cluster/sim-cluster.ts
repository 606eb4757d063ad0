import type { ExecutableOperationKind, Operation, PdAdapter, Region, RegionHeartbeatExtras, StoreStats } from "@nokv/pd-adapter";
import { Random } from "../engine/random.js";
import { endKeyAt, KEY_SPACE, keyAt } from "./keys.js";

const MIB = 1n << 20n;

/** How the simulated stores and their raft groups behave. */
export interface SimClusterOptions {
  readonly stores: number;
  readonly regions: number;
  readonly replicas: number;
  /** Initial size of a region; each gets ±`sizeJitter` of it. Default 96 MiB, jitter 0. */
  readonly regionSizeBytes: bigint;
  readonly sizeJitter: number;
  readonly capacityBytes: bigint;
  /** Kinds every store executes; undefined: NoKV Go stores (no capabilities, no heartbeat extras). */
  readonly capabilities: readonly ExecutableOperationKind[] | undefined;
  readonly storeHeartbeatMs: number;
  /** A leader's region heartbeat even when nothing changed (0: only on change). */
  readonly regionHeartbeatMs: number;
  /** How long raft takes to elect a new leader when one dies. */
  readonly electionMs: number;
  /** How long a store takes to carry out an operation (propose and commit). */
  readonly opDelayMs: number;
  /** An added peer catches up in `catchUpBaseMs + size / snapshotBytesPerMs`. */
  readonly catchUpBaseMs: number;
  readonly snapshotBytesPerMs: number;
  /** A region at least this large splits in two (0: never). */
  readonly splitSizeBytes: bigint;
  /** Initial regions are placed on stores 1..placeOn only. Default all. */
  readonly placeOn: number;
  /** Initial leaders: each region's first replica ("spread"), or every region's replica on store 1 ("store-1"). */
  readonly leaders: "spread" | "store-1";
  readonly seed: number;
}

/** A violation of an invariant, with when it happened. */
export interface Violation {
  readonly atMs: number;
  readonly invariant: "live-majority" | "add-on-store-not-up" | "two-operators-on-region" | "operator-did-not-end";
  readonly detail: string;
}

interface SimRegion {
  readonly id: bigint;
  start: bigint;
  end: bigint | undefined;
  version: bigint;
  confVer: bigint;
  voters: Map<bigint, bigint>;
  learners: Map<bigint, bigint>;
  /** Peers catching up: peer id → when they will have. */
  pending: Map<bigint, number>;
  leader: bigint | undefined;
  size: bigint;
  written: bigint;
  adds: number;
  activeOperator: bigint | undefined;
}

/**
 * A simulated store. It talks to PD as a TypeScript store would: through its
 * own `@nokv/pd-adapter` (created with the store's capabilities), which
 * sends its heartbeats and delivers PD's operations typed, validated and
 * de-duplicated.
 */
export interface SimStore {
  readonly id: bigint;
  caps: ReadonlySet<ExecutableOperationKind> | undefined;
  alive: boolean;
  diedAtMs: number;
  lastHeartbeatMs: number;
  nextHeartbeatMs: number;
  readonly capacity: bigint;
  readonly adapter: PdAdapter;
  /** The adapter's `invalid` count already counted as received and refused. */
  invalidSeen: number;
  regions: number;
  leaders: number;
  used: bigint;
  written: bigint;
}

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A region heartbeat a store owes PD: from the store leading the region, with what it reports beside it. */
export interface SimRegionHeartbeat {
  readonly store: SimStore;
  readonly region: Region;
  /** Undefined for a store without capabilities (a NoKV Go store reports nothing beside the region). */
  readonly extras: RegionHeartbeatExtras | undefined;
}

/** How the cluster reaches PD: ids, and an adapter per store. */
export interface SimPd {
  /** A run of `count` new ids from PD's allocator; resolves to the first. */
  allocIds(count: bigint): Promise<bigint>;
  /** The adapter of a new store, sending `capabilities` (undefined: a NoKV Go store). */
  createAdapter(capabilities: readonly ExecutableOperationKind[] | undefined): PdAdapter;
}

/** What the cluster asks of PD's view (to judge invariants by what PD could know). */
export interface PdView {
  /** Whether PD sees the store as up now. */
  storeUp(storeId: bigint): boolean;
  /** Whether PD has operator `id` on the region in flight. */
  operatorInFlight(regionId: bigint, id: bigint): boolean;
}

/**
 * The ground truth of a simulated cluster: stores and the raft groups of
 * its regions. Stores carry out PD's operations after `opDelayMs` (only as
 * the region's leader, only when the epoch matches, only with a live
 * majority: what raft would commit); an added peer catches up in time
 * proportional to the region's size; a dead store's leaderships move to a
 * live voter after an election; regions split as writes grow them.
 *
 * Invariants are checked on every change: no region without a live
 * majority, no peer added on a store PD does not see as up, never two
 * operators on one region.
 */
export class SimCluster {
  readonly o: SimClusterOptions;
  readonly stores = new Map<bigint, SimStore>();
  readonly regions = new Map<bigint, SimRegion>();
  readonly violations: Violation[] = [];
  /** Majorities lost only because a store died after PD last heard from it (PD could not know). */
  raced = 0;
  readonly #peersOf = new Map<bigint, Set<bigint>>();
  /** Regions not in normal form: wrong voter count, a learner, a pending peer, or a voter on a dead store. */
  readonly #abnormal = new Set<bigint>();
  readonly #dirty = new Set<bigint>();
  readonly #lastReported = new Map<bigint, number>();
  #queue: Pending[] = [];
  #seq = 0;
  readonly #rand: Random;
  #now = 0;
  #ids: { next: bigint; end: bigint } = { next: 0n, end: 0n };
  readonly #pdLink: SimPd;
  readonly #pd: PdView;
  readonly counts = { opsReceived: 0, opsApplied: 0, opsRefused: 0, splits: 0, withOperatorId: 0, leaderTransfers: 0 };

  constructor(o: SimClusterOptions, link: SimPd, pd: PdView) {
    this.o = o;
    this.#rand = new Random(o.seed);
    this.#pdLink = link;
    this.#pd = pd;
  }

  get now(): number {
    return this.#now;
  }

  /** Creates the stores and regions (ids from PD), and marks every region for a first heartbeat. */
  async bootstrap(): Promise<void> {
    for (let i = 1; i <= this.o.stores; i++) this.addStore();
    const replicas = this.o.replicas;
    const first = await this.#pdLink.allocIds(BigInt(this.o.regions * (1 + replicas)));
    let id = first;
    const step = KEY_SPACE / BigInt(this.o.regions);
    const placeOn = Math.min(this.o.placeOn, this.o.stores);
    for (let i = 0; i < this.o.regions; i++) {
      const voters = new Map<bigint, bigint>();
      for (let j = 0; j < replicas; j++) voters.set(id++, BigInt(((i + j) % placeOn) + 1));
      const jitter = this.o.sizeJitter === 0 ? 0 : (this.#rand.next() * 2 - 1) * this.o.sizeJitter;
      const size = BigInt(Math.max(1, Math.round(Number(this.o.regionSizeBytes) * (1 + jitter))));
      const leader = this.o.leaders === "store-1" ? ([...voters].find(([, s]) => s === 1n)?.[0] ?? [...voters.keys()][0]) : [...voters.keys()][0];
      const r: SimRegion = {
        id: id++,
        start: BigInt(i) * step,
        end: i === this.o.regions - 1 ? undefined : BigInt(i + 1) * step,
        version: 1n,
        confVer: 1n,
        voters,
        learners: new Map(),
        pending: new Map(),
        leader,
        size,
        written: 0n,
        adds: 0,
        activeOperator: undefined,
      };
      this.regions.set(r.id, r);
      for (const [, s] of voters) this.#link(r, s);
      this.#account(r, +1);
      this.#dirty.add(r.id);
    }
  }

  /** Adds an empty store (it heartbeats from the next round on). */
  addStore(): SimStore {
    const id = BigInt(this.stores.size + 1);
    const s: SimStore = {
      id,
      caps: this.o.capabilities === undefined ? undefined : new Set(this.o.capabilities),
      alive: true,
      diedAtMs: 0,
      lastHeartbeatMs: this.#now,
      nextHeartbeatMs: this.#now + ((Number(id) - 1) * this.o.storeHeartbeatMs) / Math.max(1, this.o.stores),
      capacity: this.o.capacityBytes,
      adapter: this.#pdLink.createAdapter(this.o.capabilities),
      invalidSeen: 0,
      regions: 0,
      leaders: 0,
      used: 0n,
      written: 0n,
    };
    this.stores.set(id, s);
    return s;
  }

  /** The store dies: no heartbeats, its peers stop; its regions elect new leaders after an election. */
  kill(storeId: bigint): void {
    const s = this.stores.get(storeId)!;
    if (!s.alive) return;
    s.alive = false;
    s.diedAtMs = this.#now;
    for (const id of this.#peersOf.get(storeId) ?? []) {
      const r = this.regions.get(id)!;
      this.#refresh(r);
      if (!this.#hasLiveMajority(r)) {
        this.#violate("live-majority", `region ${r.id}: lost its live majority when store ${storeId} died`);
      }
      if (r.leader !== undefined && this.#storeOf(r, r.leader) === storeId) {
        this.#at(this.#now + this.o.electionMs, () => this.#elect(r));
      }
      this.#dirty.add(r.id);
    }
  }

  /** The store comes back: it heartbeats again and its peers catch up. */
  revive(storeId: bigint): void {
    const s = this.stores.get(storeId)!;
    if (s.alive) return;
    s.alive = true;
    s.nextHeartbeatMs = this.#now;
    for (const id of this.#peersOf.get(storeId) ?? []) {
      const r = this.regions.get(id)!;
      for (const [p, at] of r.pending) if (this.#storeOf(r, p) === storeId) this.#catchUp(r, p, Math.max(at, this.#now));
      this.#refresh(r);
      this.#dirty.add(r.id);
    }
  }

  /** Runs everything due at or before `t`, in order. */
  runUntil(t: number): void {
    this.#now = t;
    this.#queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    while (this.#queue.length > 0 && this.#queue[0]!.at <= t) {
      const due = this.#queue.shift()!;
      due.run();
    }
  }

  #at(at: number, run: () => void): void {
    this.#queue.push({ at, seq: this.#seq++, run });
  }

  // --- heartbeats -----------------------------------------------------------

  /** The stores whose heartbeat is due at `t`, in id order. */
  storesDue(t: number): SimStore[] {
    return [...this.stores.values()].filter((s) => s.alive && s.nextHeartbeatMs <= t);
  }

  /** A store's heartbeat stats (a Go store sends the original five fields only; its adapter adds the capabilities). */
  storeHeartbeat(s: SimStore): StoreStats {
    s.lastHeartbeatMs = this.#now;
    s.nextHeartbeatMs += this.o.storeHeartbeatMs;
    if (s.nextHeartbeatMs <= this.#now) s.nextHeartbeatMs = this.#now + this.o.storeHeartbeatMs;
    const used = s.used > s.capacity ? s.capacity : s.used;
    const base = { storeId: s.id, regionNum: BigInt(s.regions), leaderNum: BigInt(s.leaders), capacity: s.capacity, available: s.capacity - used };
    if (s.caps === undefined) return base;
    const written = s.written;
    s.written = 0n;
    return { ...base, usedSize: used, bytesWritten: written, keysWritten: written / 1024n };
  }

  /** The heartbeats regions owe PD: changed ones (and, with a periodic interval, those due), from live leaders. */
  regionHeartbeatsDue(): SimRegionHeartbeat[] {
    if (this.o.regionHeartbeatMs > 0) {
      for (const r of this.regions.values()) {
        if ((this.#lastReported.get(r.id) ?? -Infinity) + this.o.regionHeartbeatMs <= this.#now) this.#dirty.add(r.id);
      }
    }
    const out: SimRegionHeartbeat[] = [];
    for (const id of this.#dirty) {
      const r = this.regions.get(id);
      if (r === undefined) {
        this.#dirty.delete(id);
        continue;
      }
      const leaderStore = r.leader === undefined ? undefined : this.stores.get(this.#storeOf(r, r.leader)!);
      if (leaderStore === undefined || !leaderStore.alive) continue; // no leader to report it yet
      this.#dirty.delete(id);
      this.#lastReported.set(id, this.#now);
      out.push(this.#heartbeatOf(r, leaderStore));
    }
    return out;
  }

  #heartbeatOf(r: SimRegion, leader: SimStore): SimRegionHeartbeat {
    const peers = [...r.voters, ...r.learners].map(([peerId, storeId]) => ({ storeId, peerId }));
    const region: Region = {
      id: r.id,
      startKey: keyAt(r.start),
      endKey: endKeyAt(r.end),
      epoch: { version: r.version, confVersion: r.confVer },
      peers,
    };
    if (leader.caps === undefined) return { store: leader, region, extras: undefined };
    const written = r.written;
    r.written = 0n;
    const extras: RegionHeartbeatExtras = {
      leaderPeerId: r.leader!,
      approximateSize: r.size,
      approximateKeys: r.size / 1024n,
      bytesWritten: written,
      keysWritten: written / 1024n,
      downPeers: peers
        .filter((p) => !this.stores.get(p.storeId)!.alive)
        .map((p) => ({ peer: p, downSeconds: BigInt(Math.floor((this.#now - this.stores.get(p.storeId)!.diedAtMs) / 1000)) })),
      pendingPeers: peers.filter((p) => r.pending.has(p.peerId)),
      learnerPeerIds: [...r.learners.keys()],
    };
    return { store: leader, region, extras };
  }

  // --- operations -------------------------------------------------------------

  /**
   * What a store does with the operations its adapter delivered after a
   * heartbeat (`adapter.plan()`: typed, validated, each step once): checks
   * the invariants, then carries out each step after `opDelayMs`. What the
   * adapter dropped as invalid counts as received and refused.
   */
  receive(s: SimStore, ops: readonly Operation[]): void {
    const invalid = s.adapter.stats().invalid;
    this.counts.opsReceived += invalid - s.invalidSeen;
    this.counts.opsRefused += invalid - s.invalidSeen;
    s.invalidSeen = invalid;
    for (const op of ops) {
      this.counts.opsReceived++;
      if (op.operatorId !== undefined) this.counts.withOperatorId++;
      if (op.type === "leader-transfer") this.counts.leaderTransfers++;
      const r = this.regions.get(op.regionId);
      if (op.operatorId !== undefined && r !== undefined) {
        // One operator per region: a new operator id means the old one ended at PD.
        if (r.activeOperator !== undefined && r.activeOperator !== op.operatorId && this.#pd.operatorInFlight(r.id, r.activeOperator)) {
          this.#violate("two-operators-on-region", `region ${r.id}: operator ${op.operatorId} arrived while ${r.activeOperator} is in flight`);
        }
        r.activeOperator = op.operatorId;
      }
      if ((op.type === "add-learner" || op.type === "add-peer") && !this.#pd.storeUp(op.storeId)) {
        this.#violate("add-on-store-not-up", `region ${op.regionId}: peer ${op.peerId} added on store ${op.storeId}, which PD does not see as up`);
      }
      this.#at(this.#now + this.o.opDelayMs, () => {
        if (!this.#apply(s, op)) {
          // Not carried out (not the leader any more, another epoch, no quorum): PD's repeat must be delivered again.
          s.adapter.forgetOperation(op);
          this.counts.opsRefused++;
        }
      });
    }
  }

  /** Carries out one step as raft would; false when it cannot (not the leader, stale epoch, no quorum…). */
  #apply(s: SimStore, op: Operation): boolean {
    const r = this.regions.get(op.regionId);
    if (r === undefined || !s.alive || r.leader === undefined || this.#storeOf(r, r.leader) !== s.id) return false;
    if (op.type === "leader-transfer") {
      const st = r.voters.get(op.targetPeerId);
      if (st === undefined || !this.stores.get(st)!.alive || r.pending.has(op.targetPeerId)) return false;
      this.#setLeader(r, op.targetPeerId);
      this.counts.opsApplied++;
      this.#dirty.add(r.id);
      return true;
    }
    if (op.regionEpoch.confVersion !== r.confVer || op.regionEpoch.version !== r.version) return false;
    // Raft commits a membership change only with a live majority.
    if (!this.#hasLiveMajority(r)) return false;
    switch (op.type) {
      case "add-learner":
      case "add-peer": {
        if (this.#storeOf(r, op.peerId) !== undefined || this.#holds(r, op.storeId)) return false;
        (op.type === "add-learner" ? r.learners : r.voters).set(op.peerId, op.storeId);
        this.#link(r, op.storeId);
        this.#accountPeer(op.storeId, r, +1);
        this.#catchUp(r, op.peerId, this.#now + this.o.catchUpBaseMs + Number(r.size) / this.o.snapshotBytesPerMs);
        r.adds++;
        break;
      }
      case "promote-learner": {
        const st = r.learners.get(op.peerId);
        if (st === undefined || r.pending.has(op.peerId)) return false;
        r.learners.delete(op.peerId);
        r.voters.set(op.peerId, st);
        break;
      }
      case "remove-peer": {
        const st = this.#storeOf(r, op.peerId);
        if (st === undefined || op.peerId === r.leader) return false;
        r.voters.delete(op.peerId);
        r.learners.delete(op.peerId);
        r.pending.delete(op.peerId);
        this.#unlink(r, st);
        this.#accountPeer(st, r, -1);
        break;
      }
    }
    r.confVer++;
    this.counts.opsApplied++;
    if (!this.#hasLiveMajority(r)) {
      // PD acted on what it knew; a store that died since it last heard from it is a race, not a PD fault.
      const unseen = [...r.voters.values()].some((st) => !this.stores.get(st)!.alive && this.#pd.storeUp(st));
      if (unseen) this.raced++;
      else this.#violate("live-majority", `region ${r.id}: no live majority after ${op.type} of peer ${op.peerId}`);
    }
    this.#refresh(r);
    this.#dirty.add(r.id);
    return true;
  }

  #catchUp(r: SimRegion, peerId: bigint, at: number): void {
    r.pending.set(peerId, at);
    this.#at(at, () => {
      const st = this.#storeOf(r, peerId);
      // A peer on a dead store cannot receive its snapshot; it catches up once the store is back.
      if (st === undefined || !r.pending.has(peerId) || !this.stores.get(st)!.alive || this.regions.get(r.id) !== r) return;
      r.pending.delete(peerId);
      this.#refresh(r);
      this.#dirty.add(r.id);
    });
  }

  #elect(r: SimRegion): void {
    if (this.regions.get(r.id) !== r) return;
    const cur = r.leader === undefined ? undefined : this.#storeOf(r, r.leader);
    if (cur !== undefined && this.stores.get(cur)!.alive) return;
    if (!this.#hasLiveMajority(r)) {
      this.#setLeader(r, undefined);
      return;
    }
    const candidates = [...r.voters].filter(([p, st]) => this.stores.get(st)!.alive && !r.pending.has(p));
    const [p] = candidates[this.#rand.int(candidates.length)]!;
    this.#setLeader(r, p);
    this.#dirty.add(r.id);
  }

  // --- writes and splits ------------------------------------------------------

  /**
   * Writes `bytes` to `count` regions chosen by `pick` (a position in
   * [0, 1) of the key space): their size grows; a region past the split size
   * splits (ids from PD).
   */
  async write(count: number, bytes: bigint, pick: (rand: Random) => number): Promise<void> {
    let ordered = [...this.regions.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
    for (let i = 0; i < count; i++) {
      const pos = BigInt(Math.floor(pick(this.#rand) * 2 ** 52)) << 12n;
      let lo = 0;
      let hi = ordered.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (ordered[mid]!.start <= pos) lo = mid;
        else hi = mid - 1;
      }
      const r = ordered[lo]!;
      r.size += bytes;
      r.written += bytes;
      for (const st of this.#storesOf(r)) {
        const s = this.stores.get(st)!;
        s.used += bytes;
        s.written += bytes;
      }
      this.#dirty.add(r.id);
      if (this.o.splitSizeBytes > 0n && r.size >= this.o.splitSizeBytes && r.leader !== undefined && r.pending.size === 0) {
        await this.#split(r);
        ordered = [...this.regions.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
      }
    }
  }

  async #split(r: SimRegion): Promise<void> {
    const end = r.end ?? KEY_SPACE;
    if (end - r.start < 2n) return;
    const peers = [...r.voters, ...r.learners];
    if (this.#ids.end - this.#ids.next < BigInt(peers.length + 1)) {
      const n = 10_000n;
      this.#ids = { next: await this.#pdLink.allocIds(n), end: 0n };
      this.#ids.end = this.#ids.next + n;
    }
    const mid = r.start + (end - r.start) / 2n;
    const map = new Map<bigint, bigint>(peers.map(([p]) => [p, this.#ids.next++]));
    const right: SimRegion = {
      id: this.#ids.next++,
      start: mid,
      end: r.end,
      version: r.version + 1n,
      confVer: r.confVer,
      voters: new Map([...r.voters].map(([p, s]) => [map.get(p)!, s])),
      learners: new Map([...r.learners].map(([p, s]) => [map.get(p)!, s])),
      pending: new Map(),
      leader: r.leader === undefined ? undefined : map.get(r.leader),
      size: r.size / 2n,
      written: 0n,
      adds: 0,
      activeOperator: undefined,
    };
    this.#account(r, -1);
    r.end = mid;
    r.version++;
    r.size -= right.size;
    this.#account(r, +1);
    this.regions.set(right.id, right);
    for (const st of this.#storesOf(right)) this.#link(right, st);
    this.#account(right, +1);
    this.#refresh(right);
    this.counts.splits++;
    this.#dirty.add(r.id);
    this.#dirty.add(right.id);
  }

  // --- bookkeeping ------------------------------------------------------------

  #storeOf(r: SimRegion, peerId: bigint): bigint | undefined {
    return r.voters.get(peerId) ?? r.learners.get(peerId);
  }

  #storesOf(r: SimRegion): bigint[] {
    return [...r.voters.values(), ...r.learners.values()];
  }

  #holds(r: SimRegion, storeId: bigint): boolean {
    return this.#storesOf(r).includes(storeId);
  }

  #liveVoters(r: SimRegion): number {
    let n = 0;
    for (const [p, s] of r.voters) if (this.stores.get(s)!.alive && !r.pending.has(p)) n++;
    return n;
  }

  #hasLiveMajority(r: SimRegion): boolean {
    return r.voters.size > 0 && this.#liveVoters(r) >= Math.floor(r.voters.size / 2) + 1;
  }

  #link(r: SimRegion, storeId: bigint): void {
    let set = this.#peersOf.get(storeId);
    if (set === undefined) {
      set = new Set();
      this.#peersOf.set(storeId, set);
    }
    set.add(r.id);
  }

  #unlink(r: SimRegion, storeId: bigint): void {
    this.#peersOf.get(storeId)?.delete(r.id);
  }

  /** Adds (+1) or takes away (−1) a whole region's peers and leader from the stores' totals. */
  #account(r: SimRegion, sign: 1 | -1): void {
    for (const st of this.#storesOf(r)) this.#accountPeer(st, r, sign);
    if (r.leader !== undefined) this.stores.get(this.#storeOf(r, r.leader)!)!.leaders += sign;
  }

  #accountPeer(storeId: bigint, r: SimRegion, sign: 1 | -1): void {
    const s = this.stores.get(storeId)!;
    s.regions += sign;
    s.used += BigInt(sign) * r.size;
  }

  #setLeader(r: SimRegion, peerId: bigint | undefined): void {
    if (r.leader !== undefined) this.stores.get(this.#storeOf(r, r.leader)!)!.leaders--;
    r.leader = peerId;
    if (peerId !== undefined) this.stores.get(this.#storeOf(r, peerId)!)!.leaders++;
  }

  #refresh(r: SimRegion): void {
    const normal =
      r.voters.size === this.o.replicas &&
      r.learners.size === 0 &&
      r.pending.size === 0 &&
      [...r.voters.values()].every((st) => this.stores.get(st)!.alive);
    if (normal) this.#abnormal.delete(r.id);
    else this.#abnormal.add(r.id);
  }

  #violate(invariant: Violation["invariant"], detail: string): void {
    this.violations.push({ atMs: this.#now, invariant, detail });
  }

  /** Records a violation found outside the cluster (an operator that outlived its timeouts). */
  violation(invariant: Violation["invariant"], detail: string): void {
    this.#violate(invariant, detail);
  }

  // --- measures ---------------------------------------------------------------

  /** Regions not back to `replicas` caught-up voters on live stores (learners or pending peers count as not back). */
  get notFullyReplicated(): number {
    return this.#abnormal.size;
  }

  /** Regions with fewer caught-up voters on live stores than `replicas`. */
  underReplicated(): number {
    let n = 0;
    for (const id of this.#abnormal) if (this.#liveVoters(this.regions.get(id)!) < this.o.replicas) n++;
    return n;
  }

  /** Peers per live store (learners included). */
  regionCounts(): Map<bigint, number> {
    const m = new Map<bigint, number>();
    for (const s of this.stores.values()) if (s.alive) m.set(s.id, s.regions);
    return m;
  }

  /** Leaders per live store. */
  leaderCounts(): Map<bigint, number> {
    const m = new Map<bigint, number>();
    for (const s of this.stores.values()) if (s.alive) m.set(s.id, s.leaders);
    return m;
  }

  /** The most peers ever added to one region. */
  maxAddsPerRegion(): number {
    let m = 0;
    for (const r of this.regions.values()) if (r.adds > m) m = r.adds;
    return m;
  }

  /** Regions with a peer on the store. */
  regionsOn(storeId: bigint): number {
    return this.#peersOf.get(storeId)?.size ?? 0;
  }
}
