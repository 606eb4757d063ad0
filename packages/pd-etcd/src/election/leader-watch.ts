import type { Etcd3, IKeyValue } from "etcd3";
import { callOptions } from "../connection/etcd-connection.js";
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
 * a watch from the revision after that read, re-read and re-watched after
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
    const res = await this.#client.kv.range({ key: Buffer.from(this.#key) }, callOptions(this.#timeoutMs));
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
  }

  async #follow(firstRead: (err?: unknown) => void): Promise<void> {
    let stop = false;
    let interrupt: () => void = () => {};
    this.#stop = () => {
      stop = true;
      interrupt();
    };
    let first = true;
    const streak = new FailureStreak();
    while (!stop) {
      try {
        const res = await this.#client.kv.range({ key: Buffer.from(this.#key) }, callOptions(this.#timeoutMs));
        streak.succeeded();
        this.observe(res.kvs[0], rev(res.header.revision));
        if (first) {
          first = false;
          firstRead();
        }
        if (stop) break;
        const watcher = await this.#client
          .watch()
          .key(this.#key)
          .startRevision((rev(res.header.revision) + 1n).toString())
          .create();
        await new Promise<void>((resolve) => {
          interrupt = resolve;
          if (stop) resolve();
          watcher.on("put", (kv) => this.observe(kv, rev(kv.mod_revision)));
          watcher.on("delete", (kv) => this.observe(undefined, rev(kv.mod_revision)));
          watcher.on("error", (err) => {
            this.#report("watch failed", err);
            resolve();
          });
        });
        await watcher.cancel().catch(() => undefined);
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

/**
 * Resolves when the leader key is deleted after `revision` (resigned, or its
 * lease expired), when the watch fails (reported; the caller simply tries
 * again), or when interrupted through the function handed to `setWake`.
 */
export async function waitForVacancy(
  client: Etcd3,
  key: string,
  revision: string,
  setWake: (wake: () => void) => void,
  isStopped: () => boolean,
  report: ReportFailure,
): Promise<void> {
  const watcher = await client
    .watch()
    .key(key)
    .startRevision((rev(revision) + 1n).toString())
    .only("delete")
    .create();
  try {
    await new Promise<void>((resolve) => {
      setWake(resolve);
      if (isStopped()) resolve();
      watcher.on("delete", () => resolve());
      watcher.on("error", (err) => {
        report("watch for a vacancy failed", err);
        resolve();
      });
    });
  } finally {
    await watcher.cancel().catch(() => undefined);
  }
}
