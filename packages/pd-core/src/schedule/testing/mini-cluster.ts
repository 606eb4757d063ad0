import { EXECUTABLE_OPERATION_KINDS, type ExecutableOperationKind, type Region, type RegionHeartbeatExtras, type SchedulerOperation } from "@nokv/pd-model";
import { type Cluster, type ClusterOptions, createCluster } from "../../cluster/cluster.js";
import { quorum } from "../replica-safety.js";

// Test harness: a cluster of stores that carry out what PD sends them at
// once (an added peer catches up by the next round), over a ground truth of
// regions, with the safety invariants checked on every change. The
// simulator package does this with real time scales and gRPC; this one is
// small enough for unit tests of pd-core.

const MIB = 1n << 20n;

interface TruthRegion {
  readonly id: bigint;
  readonly start: number;
  version: bigint;
  confVer: bigint;
  voters: Map<bigint, bigint>;
  learners: Map<bigint, bigint>;
  pending: Set<bigint>;
  leader: bigint;
  size: bigint;
  moves: number;
}

interface TruthStore {
  readonly id: bigint;
  caps: readonly ExecutableOperationKind[] | undefined;
  alive: boolean;
  diedAtMs: number;
  capacity: bigint;
}

/** Options of {@link MiniCluster}. */
export interface MiniClusterOptions {
  readonly stores: number;
  readonly regions: number;
  readonly replicas?: number;
  /** Capabilities of every store; undefined = NoKV Go stores. Default: every kind. */
  readonly caps?: readonly ExecutableOperationKind[] | undefined;
  readonly regionSize?: bigint;
  readonly capacity?: bigint;
  readonly cluster?: Partial<ClusterOptions>;
  /** Stores the regions are placed on at first (round-robin); default all. */
  readonly placeOn?: number;
}

export class MiniCluster {
  cluster: Cluster;
  now = 1_000_000;
  readonly stores = new Map<bigint, TruthStore>();
  readonly regions = new Map<bigint, TruthRegion>();
  readonly violations: string[] = [];
  /** Majorities lost to a store that died after PD last heard from it (PD could not know). */
  readonly raced: string[] = [];
  /** Every operation any store received, with the store. */
  readonly received: Array<{ readonly storeId: bigint; readonly op: SchedulerOperation }> = [];
  #nextId = 1_000_000n;
  readonly #dirty = new Set<bigint>();
  readonly #options: MiniClusterOptions;

  constructor(options: MiniClusterOptions) {
    this.#options = options;
    this.cluster = this.#newCluster();
    const replicas = options.replicas ?? 3;
    const caps = "caps" in options ? options.caps : EXECUTABLE_OPERATION_KINDS;
    for (let i = 1; i <= options.stores; i++) {
      this.stores.set(BigInt(i), { id: BigInt(i), caps, alive: true, diedAtMs: 0, capacity: options.capacity ?? 1n << 40n });
    }
    const placeOn = options.placeOn ?? options.stores;
    for (let i = 0; i < options.regions; i++) {
      const voters = new Map<bigint, bigint>();
      for (let j = 0; j < replicas; j++) voters.set(this.#id(), BigInt(((i + j) % placeOn) + 1));
      const id = this.#id();
      this.regions.set(id, {
        id,
        start: i,
        version: 1n,
        confVer: 1n,
        voters,
        learners: new Map(),
        pending: new Set(),
        leader: [...voters.keys()][0]!,
        size: options.regionSize ?? 96n * MIB,
        moves: 0,
      });
      this.#dirty.add(id);
    }
  }

  #newCluster(): Cluster {
    return createCluster({
      persistence: { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} },
      nowMs: () => this.now,
      monotonicMs: () => this.now,
      liveness: { disconnectedAfterMs: 20_000, downAfterMs: 60_000 },
      idStart: 10_000_000n,
      ...this.#options.cluster,
    });
  }

  #id(): bigint {
    return this.#nextId++;
  }

  /** A fresh PD (a restart or a new leader): no operators, nothing known of regions until they heartbeat. */
  restartPd(): void {
    this.cluster = this.#newCluster();
    for (const id of this.regions.keys()) this.#dirty.add(id);
  }

  addStore(caps: readonly ExecutableOperationKind[] | undefined = EXECUTABLE_OPERATION_KINDS): bigint {
    const id = BigInt(this.stores.size + 1);
    this.stores.set(id, { id, caps, alive: true, diedAtMs: 0, capacity: this.#options.capacity ?? 1n << 40n });
    return id;
  }

  kill(storeId: bigint): void {
    const s = this.stores.get(storeId)!;
    s.alive = false;
    s.diedAtMs = this.now;
    for (const r of this.regions.values()) {
      if (!r.voters.has(r.leader) || this.#storeOf(r, r.leader) !== storeId) continue;
      // Raft elects a live, caught-up voter when a majority is live.
      const next = [...r.voters].find(([p, st]) => this.stores.get(st)!.alive && !r.pending.has(p));
      if (next !== undefined && this.#liveVoters(r) >= quorum(r.voters.size)) {
        r.leader = next[0];
        this.#dirty.add(r.id);
      }
    }
  }

  revive(storeId: bigint): void {
    this.stores.get(storeId)!.alive = true;
  }

  #storeOf(r: TruthRegion, peerId: bigint): bigint | undefined {
    return r.voters.get(peerId) ?? r.learners.get(peerId);
  }

  #liveVoters(r: TruthRegion): number {
    let n = 0;
    for (const [p, s] of r.voters) if (this.stores.get(s)!.alive && !r.pending.has(p)) n++;
    return n;
  }

  /** The region as a store reports it, with what its leader knows. */
  view(r: TruthRegion): { region: Region; extras: RegionHeartbeatExtras } {
    const peers = [...r.voters, ...r.learners].map(([peerId, storeId]) => ({ storeId, peerId }));
    const region: Region = {
      id: r.id,
      startKey: Uint8Array.of(Math.floor(r.start / 256), r.start % 256),
      endKey: Uint8Array.of(Math.floor((r.start + 1) / 256), (r.start + 1) % 256),
      epoch: { version: r.version, confVersion: r.confVer },
      peers,
    };
    const down = peers
      .filter((p) => !this.stores.get(p.storeId)!.alive)
      .map((p) => ({ peer: p, downSeconds: BigInt(Math.floor((this.now - this.stores.get(p.storeId)!.diedAtMs) / 1000)) }));
    return {
      region,
      extras: {
        leaderPeerId: r.leader,
        approximateSize: r.size,
        downPeers: down,
        pendingPeers: peers.filter((p) => r.pending.has(p.peerId)),
        learnerPeerIds: [...r.learners.keys()],
      },
    };
  }

  /** Sends the heartbeats of changed regions whose leader is alive (NoKV Go stores send no extras). */
  async flushRegions(): Promise<void> {
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    await Promise.all(
      dirty.map((id) => {
        const r = this.regions.get(id)!;
        const leaderStore = this.stores.get(this.#storeOf(r, r.leader)!)!;
        if (!leaderStore.alive) return undefined;
        const v = this.view(r);
        return this.cluster.regionHeartbeat(v.region, leaderStore.caps === undefined ? undefined : v.extras);
      }),
    );
  }

  /** One heartbeat round: every live store in id order, its operations carried out at once; pending learners catch up. */
  async round(advanceMs = 10_000): Promise<number> {
    this.now += advanceMs;
    for (const r of this.regions.values()) {
      if (r.pending.size > 0) {
        r.pending.clear();
        this.#dirty.add(r.id);
      }
    }
    await this.flushRegions();
    let received = 0;
    for (const s of [...this.stores.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (!s.alive) continue;
      const ops = this.cluster.storeHeartbeat(this.#stats(s));
      received += ops.length;
      for (const op of ops) {
        this.received.push({ storeId: s.id, op });
        this.#apply(s, op);
      }
      await this.flushRegions();
    }
    return received;
  }

  /** Rounds until `done()` or `maxRounds`; returns the rounds run. */
  async runUntil(done: () => boolean, maxRounds: number, advanceMs = 10_000): Promise<number> {
    for (let i = 0; i < maxRounds; i++) {
      if (done()) return i;
      await this.round(advanceMs);
    }
    return maxRounds;
  }

  #stats(s: TruthStore) {
    let regionNum = 0n;
    let leaderNum = 0n;
    let used = 0n;
    for (const r of this.regions.values()) {
      const on = [...r.voters, ...r.learners].some(([, st]) => st === s.id);
      if (!on) continue;
      regionNum++;
      used += r.size;
      if (this.#storeOf(r, r.leader) === s.id) leaderNum++;
    }
    return {
      storeId: s.id,
      regionNum,
      leaderNum,
      capacity: s.capacity,
      available: s.capacity - used,
      ...(s.caps !== undefined && { capabilities: s.caps }),
    };
  }

  #apply(s: TruthStore, op: SchedulerOperation): void {
    const r = this.regions.get(op.regionId);
    if (r === undefined) return;
    if (this.#storeOf(r, r.leader) !== s.id) return; // not the leader: a real store refuses
    if (op.kind !== "leader-transfer" && op.regionEpoch !== undefined && op.regionEpoch.confVersion !== r.confVer) return;
    // Raft commits a membership change only with a live majority; without one the change never happens.
    if (op.kind !== "leader-transfer" && this.#liveVoters(r) < quorum(r.voters.size)) return;
    switch (op.kind) {
      case "leader-transfer": {
        // Raft hands leadership only to a live voter that has caught up.
        const st = r.voters.get(op.targetPeerId);
        if (st === undefined || !this.stores.get(st)!.alive || r.pending.has(op.targetPeerId)) return;
        r.leader = op.targetPeerId;
        break;
      }
      case "add-learner":
      case "add-peer":
        // "Up" is PD's word for a store it hears from: a store that died a moment ago still is.
        if (this.cluster.storeLiveness(op.targetStoreId!) !== "up") this.violations.push(`peer added on store ${op.targetStoreId}, which is not up`);
        if ([...r.voters.values(), ...r.learners.values()].includes(op.targetStoreId!)) return;
        (op.kind === "add-learner" ? r.learners : r.voters).set(op.targetPeerId, op.targetStoreId!);
        r.pending.add(op.targetPeerId);
        r.confVer++;
        r.moves++;
        break;
      case "promote-learner": {
        const st = r.learners.get(op.targetPeerId);
        if (st === undefined) return;
        r.learners.delete(op.targetPeerId);
        r.voters.set(op.targetPeerId, st);
        r.confVer++;
        break;
      }
      case "remove-peer":
        if (op.targetPeerId === r.leader) {
          this.violations.push(`region ${r.id}: asked to remove its leader`);
          return;
        }
        if (!r.voters.delete(op.targetPeerId) && !r.learners.delete(op.targetPeerId)) return;
        r.pending.delete(op.targetPeerId);
        r.confVer++;
        break;
      default:
        return;
    }
    if (this.#liveVoters(r) < quorum(r.voters.size)) {
      const what = `region ${r.id}: no live majority after ${op.kind} (${this.#liveVoters(r)} of ${r.voters.size} voters live)`;
      // A store of the region died so recently that PD still (rightly) sees it up: PD acted on the truth it could know.
      const unseen = [...r.voters.values()].some((st) => !this.stores.get(st)!.alive && this.cluster.storeLiveness(st) === "up");
      (unseen ? this.raced : this.violations).push(what);
    }
    this.#dirty.add(r.id);
  }

  /** Regions (on live stores) per store. */
  regionCounts(): Map<bigint, number> {
    const m = new Map<bigint, number>();
    for (const s of this.stores.values()) if (s.alive) m.set(s.id, 0);
    for (const r of this.regions.values()) for (const st of [...r.voters.values(), ...r.learners.values()]) if (m.has(st)) m.set(st, m.get(st)! + 1);
    return m;
  }

  /** Leaders per live store. */
  leaderCounts(): Map<bigint, number> {
    const m = new Map<bigint, number>();
    for (const s of this.stores.values()) if (s.alive) m.set(s.id, 0);
    for (const r of this.regions.values()) {
      const st = this.#storeOf(r, r.leader)!;
      if (m.has(st)) m.set(st, m.get(st)! + 1);
    }
    return m;
  }

  /** Regions with fewer than `n` voters on live stores, or with learners. */
  notFullyReplicated(n: number): number {
    let k = 0;
    for (const r of this.regions.values()) {
      const live = [...r.voters.values()].filter((st) => this.stores.get(st)!.alive).length;
      if (live !== n || r.voters.size !== n || r.learners.size > 0) k++;
    }
    return k;
  }
}
