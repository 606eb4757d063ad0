import { PdError } from "@nokv/pd-core";
import type { ICompare, IKeyValue } from "etcd3";
import { createRevisionIs } from "../connection/txn.js";
import { type LeaderFence, type LeaderGuard, parseLeaderValue } from "../election/leader-guard.js";

/**
 * The store's side of leader fencing: which term may write, the compare
 * every write carries, and what a failed compare means.
 *
 * A term may write only after its own `load` (which read the state at a
 * revision where the leader key was already ours); every write then compares
 * the leader key's create revision with the term's, so once the term is over
 * no write of it can apply, however late the member learns it. Without a
 * guard the store writes unconditionally.
 */
export class TermFence {
  readonly #guard: LeaderGuard | undefined;
  readonly #description: string;
  /** The leader term (create revision) whose `load` this store has done. */
  #loadedTerm: string | undefined;

  constructor(guard: LeaderGuard | undefined, description: string) {
    this.#guard = guard;
    this.#description = description;
  }

  /** Records a load: it opens the guard's current term for writes if etcd showed the leader key of that very term. */
  loaded(leaderKv: IKeyValue | undefined): void {
    const fence = this.#guard?.fence();
    this.#loadedTerm =
      fence !== undefined && leaderKv?.create_revision === fence.createRevision ? fence.createRevision : undefined;
  }

  /**
   * The fence of the current term, after checking the term may write;
   * undefined without a guard.
   *
   * @throws PdError `NOT_LEADER` (with `leaderAddr` when known) on a follower,
   *   `UNAVAILABLE` when the term has not loaded yet.
   */
  forWrite(): LeaderFence | undefined {
    const guard = this.#guard;
    if (guard === undefined) return undefined;
    const fence = guard.fence();
    if (fence === undefined) {
      const leaderAddr = guard.leaderAddr();
      throw new PdError(
        "NOT_LEADER",
        `${this.#description}: this member is not the leader${leaderAddr ? `; leader is at ${leaderAddr}` : ""}`,
        leaderAddr === undefined ? undefined : { leaderAddr },
      );
    }
    if (this.#loadedTerm !== fence.createRevision) {
      throw new PdError(
        "UNAVAILABLE",
        `${this.#description}: leader term ${fence.createRevision} has not loaded its state yet; call load() after winning the election`,
      );
    }
    return fence;
  }

  /** The compares that keep a write inside `fence`'s term (none without a guard). */
  compare(fence: LeaderFence | undefined): ICompare[] {
    return fence === undefined ? [] : [createRevisionIs(fence.key, fence.createRevision)];
  }

  /** True when `leaderKv`, read in the write's failure branch, shows that `fence`'s term is over. */
  isLost(fence: LeaderFence | undefined, leaderKv: IKeyValue | undefined): fence is LeaderFence {
    return fence !== undefined && leaderKv?.create_revision !== fence.createRevision;
  }

  /** Builds the NOT_LEADER error of a failed fence and tells the guard that the term is over. */
  failed(fence: LeaderFence, leaderKv: IKeyValue | undefined): PdError {
    const current = leaderKv === undefined ? undefined : parseLeaderValue(leaderKv.value);
    this.#guard?.fenceLost(fence, current);
    return new PdError(
      "NOT_LEADER",
      `${this.#description}: leader term ${fence.createRevision} is over${
        current ? `; leader is ${current.name} at ${current.advertiseAddr}` : ""
      }; nothing was written`,
      current === undefined ? undefined : { leaderAddr: current.advertiseAddr },
    );
  }
}
