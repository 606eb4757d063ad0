import { PdError } from "@nokv/pd-core";
import type { SchedulingConfig } from "@nokv/pd-model";
import { decodeSchedulingConfig, encodeSchedulingConfig, storageError } from "@nokv/pd-storage";
import type { IKeyValue, ITxnResponse } from "etcd3";
import { etcdRequest } from "../connection/etcd-connection.js";
import { getOp, modRevisionIs, putOp, rangeResult, txn } from "../connection/txn.js";
import type { LeaderFence } from "../election/leader-guard.js";
import type { StoreContext } from "./store-context.js";

const MAX_ATTEMPTS = 5;

/**
 * The `scheduling` key's protocol: the scheduling configuration (max-replicas,
 * store limits, paused schedulers) in `SCHEDULING.json`'s format, replaced
 * whole by the leader.
 *
 * A save compares the leader's term (the fence) and the key's mod revision
 * as this store last saw it. The revision compare is what makes a retried
 * request safe: an attempt that reached a hung etcd member and is applied
 * late can never overwrite a newer configuration, because the key moved
 * since. On a lost compare with the term intact the key is read again: when
 * it already holds this configuration (an earlier attempt applied without
 * an answer) the save is done, otherwise it is tried again on top of what
 * is there (5 attempts).
 */
export class SchedulingRecord {
  readonly #ctx: StoreContext;
  /** The key's mod revision as last read or written ("0": absent); undefined: read it first. */
  #rev: string | undefined;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /**
   * Decodes the `scheduling` key-value read with the head (undefined: never
   * saved) and makes its revision the one writes build on.
   *
   * @throws PdError `STORAGE` naming the key when the value is malformed or of a newer version.
   */
  loaded(kv: IKeyValue | undefined): SchedulingConfig | undefined {
    this.#rev = kv?.mod_revision ?? "0";
    return kv === undefined ? undefined : this.#decode(kv);
  }

  /**
   * Makes `config` the stored configuration.
   *
   * @throws PdError `NOT_LEADER` when the fence failed (nothing written),
   *   `STORAGE` when etcd failed (the key then holds the old or the new
   *   configuration) or the key kept changing.
   */
  async save(fence: LeaderFence | undefined, config: SchedulingConfig): Promise<void> {
    const { client, keys, timeoutMs, description } = this.#ctx;
    const value = encodeSchedulingConfig(config);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        this.#rev ??= await this.#readRev();
      } catch (err) {
        throw storageError(`${description}: cannot read ${keys.scheduling}`, err);
      }
      let res: ITxnResponse;
      try {
        res = await txn(
          client,
          {
            compare: [...this.#ctx.fence.compare(fence), modRevisionIs(keys.scheduling, this.#rev)],
            success: [putOp(keys.scheduling, value)],
            failure: [getOp(keys.leader), getOp(keys.scheduling)],
          },
          timeoutMs,
        );
      } catch (err) {
        this.#rev = undefined;
        throw storageError(`${description}: writing ${keys.scheduling} failed`, err);
      }
      if (res.succeeded) {
        this.#rev = res.header.revision;
        return;
      }
      const leaderKv = rangeResult(res, 0);
      if (this.#ctx.fence.isLost(fence, leaderKv)) throw this.#ctx.fence.failed(fence, leaderKv);
      const stored = rangeResult(res, 1);
      this.#rev = stored?.mod_revision ?? "0";
      if (stored !== undefined && stored.value.toString("utf8") === value) return;
    }
    throw new PdError("STORAGE", `${description}: ${keys.scheduling} kept changing under ${MAX_ATTEMPTS} attempts to write it`);
  }

  async #readRev(): Promise<string> {
    const { client, keys, timeoutMs } = this.#ctx;
    const res = await etcdRequest(client, timeoutMs, (o) => client.kv.range({ key: Buffer.from(keys.scheduling) }, o));
    return res.kvs[0]?.mod_revision ?? "0";
  }

  #decode(kv: IKeyValue): SchedulingConfig {
    return decodeSchedulingConfig(kv.value.toString("utf8"), `etcd key ${this.#ctx.keys.scheduling}`);
  }
}
