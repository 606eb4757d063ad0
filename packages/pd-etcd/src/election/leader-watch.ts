import type { Etcd3, IKeyValue } from "etcd3";
import { etcdRequest } from "../connection/etcd-connection.js";
import { openWatch, type Watch } from "../connection/watch-stream.js";
import type { ReportFailure } from "./lease.js";
import { FailureStreak } from "./failure-streak.js";
import { parseLeaderValue, type PdMember } from "./leader-guard.js";

const RETRY_MS = 200;

/** The leader key as last seen: who it names, and the create revision that identifies its term. */
export interface ObservedLeader {
  /** The member the key names; undefined when its value is not a leader document. */
  readonly member: PdMember | undefined;
  readonly createRevision: string;
}

/** Decimal revision → bigint (`"0"` for absent). */
export const rev = (r: string | undefined): bigint => BigInt(r ?? "0");

/**
 * Sleeps `ms`; `wake` receives a function that ends the sleep early (the
 * loops hand it to whoever may need to interrupt them).
 */
export async function delay(ms: number, wake?: (resolve: () => void) => void): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake?.(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * What every member knows about the leader key: read once, then followed by
 * a watch from the revision after that read (on a stream of its own that is
 * given up when its etcd member goes silent), re-read and re-watched after
 * any failure. News older than what was already seen is ignored, so answers
 * of transactions (which also report the key) and watch events can be fed in
 * any order.
 */
export class LeaderWatch {
  readonly #client: Etcd3;
  readonly #key: string;
  readonly #timeoutMs: number;
  readonly #report: ReportFailure;
  readonly #onChange: () => void;
  readonly #listeners = new Set<(leader: PdMember | undefined) => void>();
  readonly #vacancyWaiters = new Set<{ after: bigint; resolve: () => void }>();
  #observed: ObservedLeader | undefined;
  /** Revision of the newest event reflected in {@link #observed}. */
  #observedRev = -1n;
  #stop: () => void = () => {};
  #loop: Promise<void> | undefined;

  /**
   * @param onChange called after every accepted observation, before the
   *   listeners: the election checks there whether its own term survived.
   */
  constructor(init: { client: Etcd3; key: string; timeoutMs: number; report: ReportFailure; onChange: () => void }) {
    this.#client = init.client;
    this.#key = init.key;
    this.#timeoutMs = init.timeoutMs;
    this.#report = init.report;
    this.#onChange = init.onChange;
  }

  /** The leader key as last seen; undefined when there is none. */
  get observed(): ObservedLeader | undefined {
    return this.#observed;
  }

  /** The revision of the newest observation (-1 before the first). */
  get revision(): bigint {
    return this.#observedRev;
  }

  /** Calls `listener` whenever the leader's term or address changes (undefined: none). Returns the unsubscribe function. */
  onLeaderChange(listener: (leader: PdMember | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the leader from etcd (a linearizable read). Throws the client's error. */
  async read(): Promise<PdMember | undefined> {
    const res = await etcdRequest(this.#client, this.#timeoutMs, (o) => this.#client.kv.range({ key: Buffer.from(this.#key) }, o));
    const kv = res.kvs[0];
    return kv === undefined ? undefined : parseLeaderValue(kv.value);
  }

  /** Records what etcd said about the leader key at `revision` (`kv` undefined: absent). */
  observe(kv: IKeyValue | undefined, revision: bigint): void {
    this.observeLeader(
      kv === undefined || kv.create_revision === undefined || kv.create_revision === "0"
        ? undefined
        : { member: parseLeaderValue(kv.value), createRevision: kv.create_revision },
      revision,
    );
  }

  /** Records the leader as known at `revision`; older news is ignored. */
  observeLeader(next: ObservedLeader | undefined, revision: bigint): void {
    if (revision < this.#observedRev) return;
    this.#observedRev = revision;
    const prev = this.#observed;
    this.#observed = next;
    this.#onChange();
    if (next === undefined) {
      for (const w of [...this.#vacancyWaiters]) {
        if (revision > w.after) {
          this.#vacancyWaiters.delete(w);
          w.resolve();
        }
      }
    }
    if (prev?.createRevision !== next?.createRevision || prev?.member?.advertiseAddr !== next?.member?.advertiseAddr) {
      for (const l of this.#listeners) {
        try {
          l(next?.member);
        } catch {
          // A listener's failure is its own.
        }
      }
    }
  }

  /**
   * Resolves once the key has been seen absent at a revision above
   * `revision` (resigned, or its lease expired), or when woken through the
   * function handed to `setWake`.
   */
  vacancy(revision: bigint, setWake: (wake: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { after: revision, resolve };
      setWake(() => {
        this.#vacancyWaiters.delete(waiter);
        resolve();
      });
      if (this.#observed === undefined && this.#observedRev > revision) {
        resolve();
        return;
      }
      this.#vacancyWaiters.add(waiter);
    });
  }

  /**
   * Starts following the key; resolves after the first read, rejects with
   * the client's error when that read fails (nothing keeps running then).
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#loop = this.#follow((err) => (err === undefined ? resolve() : reject(err)));
    });
  }

  /** Stops following the key. */
  async stop(): Promise<void> {
    this.#stop();
    await this.#loop;
    for (const w of this.#vacancyWaiters) w.resolve();
    this.#vacancyWaiters.clear();
  }

  async #follow(firstRead: (err?: unknown) => void): Promise<void> {
    let stop = false;
    let interrupt: () => void = () => {};
    let watch: Watch | undefined;
    this.#stop = () => {
      stop = true;
      watch?.stop();
      interrupt();
    };
    let first = true;
    const streak = new FailureStreak();
    while (!stop) {
      try {
        const res = await etcdRequest(this.#client, this.#timeoutMs, (o) => this.#client.kv.range({ key: Buffer.from(this.#key) }, o));
        streak.succeeded();
        this.observe(res.kvs[0], rev(res.header.revision));
        if (first) {
          first = false;
          firstRead();
        }
        if (stop) break;
        watch = openWatch(this.#client, {
          key: Buffer.from(this.#key),
          startRevision: rev(res.header.revision) + 1n,
          onEvents: (events) => {
            for (const e of events) this.observe(e.kind === "put" ? e.kv : undefined, rev(e.kv.mod_revision));
          },
        });
        const end = await watch.ended;
        watch = undefined;
        // A silent member, a broken stream or a compaction: read again, then watch from there.
        if (end.kind !== "stopped" && streak.failed()) {
          this.#report(`watch ended (${end.kind})`, end.kind === "failed" ? end.error : undefined);
        }
      } catch (err) {
        if (first) {
          firstRead(err);
          return;
        }
        if (streak.failed()) this.#report("cannot read the leader key", err);
        await delay(RETRY_MS, (wake) => {
          interrupt = wake;
        });
      }
    }
  }
}
