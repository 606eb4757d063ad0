import { type Cluster, type Leadership, type LeadershipHost, type MemberInfo, PdError, type RestoredState } from "@nokv/pd-core";
import { createMemoryStore, type Store } from "@nokv/pd-storage";

/** Options of {@link createSoloLeadership}. */
export interface SoloLeadershipOptions {
  /** Persistence; default an in-memory store. Closed with the leadership. */
  readonly store?: Store;
  /** Member name reported by `GetMembers` and `/health`. Default `pd`. */
  readonly name?: string;
  /** `host:port` clients dial for this member. Default: the address the server bound. */
  readonly advertiseAddr?: string;
}

/**
 * The single-process PD: always the leader of a cluster of one, serving one
 * store. It loads the store before the server listens (an unusable snapshot
 * stops the start, and no client ever sees a half-started PD), and closes
 * it once queued writes have settled.
 */
export class SoloLeadership implements Leadership {
  readonly name: string;
  readonly store: Store;
  readonly #advertiseAddr: string | undefined;
  #boundAddr: string | undefined;
  #cluster: Cluster | undefined;
  #closing: Promise<void> | undefined;

  /** @internal use {@link createSoloLeadership}. */
  constructor(options: SoloLeadershipOptions) {
    this.store = options.store ?? createMemoryStore();
    this.name = options.name ?? "pd";
    this.#advertiseAddr = options.advertiseAddr;
  }

  /** Where clients reach this member: the given address, else the bound one (undefined before the server listens). */
  get advertiseAddr(): string | undefined {
    return this.#advertiseAddr ?? this.#boundAddr;
  }

  async open(host: LeadershipHost): Promise<RestoredState> {
    const snapshot = await this.store.load();
    const cluster = host.createCluster(snapshot, this.store);
    this.#cluster = cluster;
    return {
      storage: this.store.description,
      regions: cluster.regions.size,
      duplicatePeerRegions: cluster.regions.duplicatePeerRegions,
      idNext: cluster.ids.next,
      tsNext: cluster.tso.last + 1n,
    };
  }

  async start(boundAddr: string): Promise<void> {
    this.#boundAddr = boundAddr;
  }

  serving(): Cluster {
    if (this.#cluster === undefined) throw new PdError("UNAVAILABLE", `${this.name}: not open yet`);
    return this.#cluster;
  }

  members(): { members: MemberInfo[]; leader: MemberInfo } {
    const me: MemberInfo = { name: this.name, advertiseAddr: this.advertiseAddr ?? "", isLeader: true };
    return { members: [me], leader: me };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#cluster?.flush();
      await this.store.close();
    })();
    return this.#closing;
  }
}

/** Creates the {@link SoloLeadership} of a single PD over `store` (default: in memory). */
export function createSoloLeadership(options: SoloLeadershipOptions = {}): SoloLeadership {
  return new SoloLeadership(options);
}
