import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { PdError } from "@nokv/pd-core";
import { storageError } from "@nokv/pd-storage";
import type { IKeyValue, IRequestOp, ITxnResponse } from "etcd3";
import { getOp, modRevisionIs, putOp, rangeResult, txn } from "../connection/txn.js";
import type { LeaderFence } from "../election/leader-guard.js";
import type { StoreContext } from "./store-context.js";

const IN_DOUBT_RETRY_MS = 100;

/** A catalog write whose answer was lost: it may or may not have applied. */
interface InDoubt {
  /** The commit revision the unanswered write compared against. */
  readonly base: string;
  /** The token it would have written. */
  readonly token: string;
  /** The token of our fencing write, the same for every attempt to settle this doubt. */
  readonly fenceToken: string;
  readonly cause: unknown;
}

type Outcome = "committed" | "not-committed";

/**
 * The compare-and-swap chain of the region catalog. Every region write
 * compares `catalog/commit`'s mod revision with the one this store last saw
 * and replaces its value with a unique token, so the catalog's writes form a
 * chain: a write applies only on top of the state this store loaded or last
 * wrote.
 *
 * A write whose answer is lost (a timeout, an etcd member dying) is settled
 * by reading the chain back (our token: committed) or by moving the chain
 * past it with a fencing token (then it can never apply); a retried or
 * delayed duplicate can never apply twice. A write found committed after it
 * was reported failed, or a catalog changed by another writer, breaks the
 * chain: every region write is refused (`STORAGE`) until `load` resets it.
 */
export class CatalogChain {
  readonly #ctx: StoreContext;
  readonly #instance = randomUUID();
  #seq = 0;
  /** Mod revision of `catalog/commit` after our last load or write; undefined: not known yet. */
  #rev: string | undefined;
  #inDoubt: InDoubt | undefined;
  /** Set when our view of the catalog can no longer be trusted; cleared by `load`. */
  #broken: PdError | undefined;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** True when the chain's head revision is not known yet (no load, no write). */
  get unknown(): boolean {
    return this.#rev === undefined;
  }

  /** After a load at which `catalog/commit` had mod revision `revision` ("0": absent): the loaded state is the base now. */
  reset(revision: string): void {
    this.#rev = revision;
    this.#inDoubt = undefined;
    this.#broken = undefined;
  }

  /**
   * Before a region write: refuses a broken chain and settles an unanswered
   * earlier write.
   *
   * @throws PdError `STORAGE` when the chain is broken or the doubt turns out
   *   committed (load again) or cannot be settled yet; `NOT_LEADER` when the
   *   term ended meanwhile.
   */
  async ensureUsable(fence: LeaderFence | undefined): Promise<void> {
    if (this.#broken !== undefined) throw this.#broken;
    if (this.#inDoubt === undefined) return;
    const outcome = await this.#settle(fence);
    if (outcome === "committed") {
      this.#broken = new PdError(
        "STORAGE",
        `${this.#ctx.description}: an earlier region write reported as failed did commit; load() again before writing`,
      );
      throw this.#broken;
    }
  }

  /**
   * Reads `catalog/commit` and `catalog/pending` at one revision. Without a
   * known head (no load yet: a store without a guard) adopts the chain as it
   * is now; with one, refuses a chain another writer moved. Returns the
   * pending batch's key-value, if there is one.
   *
   * @throws PdError `STORAGE` when etcd fails or another writer moved the chain.
   */
  async readHead(): Promise<IKeyValue | undefined> {
    const { client, keys, timeoutMs, description } = this.#ctx;
    let res: ITxnResponse;
    try {
      res = await txn(client, { compare: [], success: [getOp(keys.catalogCommit), getOp(keys.catalogPending)] }, timeoutMs);
    } catch (err) {
      throw storageError(`${description}: cannot read ${keys.catalogCommit}`, err);
    }
    const commitKv = rangeResult(res, 0);
    if (this.#rev === undefined) {
      this.#rev = commitKv?.mod_revision ?? "0";
    } else if ((commitKv?.mod_revision ?? "0") !== this.#rev) {
      this.#broken = new PdError(
        "STORAGE",
        `${description}: the region catalog was changed by another writer; load() again before writing`,
      );
      throw this.#broken;
    }
    return rangeResult(res, 1);
  }

  /**
   * One link of the chain: `ops` plus a new `catalog/commit` token, applied
   * only if the chain is where we left it (and the fence holds). Call
   * {@link ensureUsable} and know the head first.
   *
   * Resolves with the etcd revision at which the link applied.
   *
   * @throws PdError `NOT_LEADER` when the fence failed, `STORAGE` when etcd
   *   failed (nothing was written, or the outcome is still in doubt and the
   *   next write settles it first) or another writer moved the chain.
   */
  async commit(fence: LeaderFence | undefined, ops: readonly IRequestOp[]): Promise<bigint> {
    const { client, keys, timeoutMs, description } = this.#ctx;
    const base = this.#rev!;
    const token = this.#token();
    let res: ITxnResponse;
    try {
      res = await txn(
        client,
        {
          compare: [...this.#ctx.fence.compare(fence), modRevisionIs(keys.catalogCommit, base)],
          success: [...ops, putOp(keys.catalogCommit, token)],
          failure: [getOp(keys.leader), getOp(keys.catalogCommit)],
        },
        timeoutMs,
      );
    } catch (cause) {
      // The answer is lost: the write may or may not have applied.
      this.#inDoubt = { base, token, fenceToken: this.#token(), cause };
      let outcome: Outcome;
      try {
        outcome = await this.#settle(fence);
      } catch (err) {
        throw storageError(
          `${description}: region write failed (${(cause as Error)?.message ?? cause}); its outcome is not known yet`,
          err,
        );
      }
      if (outcome === "committed") return BigInt(this.#rev!);
      throw storageError(`${description}: region write failed; nothing was written`, cause);
    }
    if (res.succeeded) {
      this.#rev = res.header.revision;
      return BigInt(res.header.revision);
    }
    const commitKv = rangeResult(res, 1);
    if (commitKv !== undefined && commitKv.value.toString() === token) {
      // An earlier attempt of this very request (retried on another member) applied.
      this.#rev = commitKv.mod_revision;
      return BigInt(commitKv.mod_revision);
    }
    const leaderKv = rangeResult(res, 0);
    if (this.#ctx.fence.isLost(fence, leaderKv)) throw this.#ctx.fence.failed(fence, leaderKv);
    this.#broken = new PdError(
      "STORAGE",
      `${description}: the region catalog was changed by another writer; nothing was written; load() again before writing`,
    );
    throw this.#broken;
  }

  /**
   * Decides an unanswered write: a guarded write that moves the chain past
   * its base either succeeds (the write did not apply and now never can) or
   * finds the chain moved (our token: it applied). Retries until the request
   * deadline, measured on the monotonic clock; throws `STORAGE` (and keeps
   * the doubt for the next write) when etcd stays unreachable, `NOT_LEADER`
   * when the term ended meanwhile.
   */
  async #settle(fence: LeaderFence | undefined): Promise<Outcome> {
    const { client, keys, timeoutMs, description } = this.#ctx;
    const doubt = this.#inDoubt!;
    const deadline = performance.now() + timeoutMs;
    let lastError: unknown = doubt.cause;
    while (performance.now() < deadline) {
      let res: ITxnResponse;
      try {
        res = await txn(
          client,
          {
            compare: [...this.#ctx.fence.compare(fence), modRevisionIs(keys.catalogCommit, doubt.base)],
            success: [putOp(keys.catalogCommit, doubt.fenceToken)],
            failure: [getOp(keys.leader), getOp(keys.catalogCommit)],
          },
          Math.max(1, Math.ceil(deadline - performance.now())),
        );
      } catch (err) {
        lastError = err;
        await delay(IN_DOUBT_RETRY_MS);
        continue;
      }
      const commitKv = rangeResult(res, 1);
      const value = commitKv?.value.toString();
      if (res.succeeded || value === doubt.fenceToken) {
        this.#rev = res.succeeded ? res.header.revision : commitKv!.mod_revision;
        this.#inDoubt = undefined;
        return "not-committed";
      }
      if (value === doubt.token) {
        this.#rev = commitKv!.mod_revision;
        this.#inDoubt = undefined;
        return "committed";
      }
      const leaderKv = rangeResult(res, 0);
      this.#inDoubt = undefined;
      if (this.#ctx.fence.isLost(fence, leaderKv)) {
        // Whatever happened belongs to a term that is over; the next leader loads the truth.
        this.#broken = this.#ctx.fence.failed(fence, leaderKv);
        throw this.#broken;
      }
      this.#broken = new PdError(
        "STORAGE",
        `${description}: the region catalog was changed by another writer; load() again before writing`,
      );
      throw this.#broken;
    }
    throw storageError(`${description}: etcd did not answer while settling an unanswered region write`, lastError);
  }

  #token(): string {
    this.#seq++;
    return `${this.#instance}.${this.#seq}`;
  }
}
