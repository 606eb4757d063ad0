import { type AllocatorState, PdError } from "@nokv/pd-core";
import { MAX_UINT64 } from "@nokv/pd-model";
import { formatFlatCheckpoints, parseAllocatorState, storageError } from "@nokv/pd-storage";
import type { IKeyValue, ITxnResponse } from "etcd3";
import { etcdRequest } from "../connection/etcd-connection.js";
import { getOp, modRevisionIs, putOp, rangeResult, txn } from "../connection/txn.js";
import type { LeaderFence } from "../election/leader-guard.js";
import type { StoreContext } from "./store-context.js";

const MAX_ATTEMPTS = 5;
const ZERO: AllocatorState = { idCurrent: 0n, tsCurrent: 0n };

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * Checks that both ceilings are uint64s.
 *
 * @throws PdError `INVALID_ARGUMENT` naming the field.
 */
export function checkAllocatorState(state: AllocatorState): void {
  for (const [name, v] of [["idCurrent", state.idCurrent], ["tsCurrent", state.tsCurrent]] as const) {
    if (typeof v !== "bigint" || v < 0n || v > MAX_UINT64) {
      throw new PdError("INVALID_ARGUMENT", `allocator state: ${name} ${String(v)} is not a uint64`);
    }
  }
}

/**
 * The allocator ceilings' compare-and-swap: `alloc` holds
 * `{"id_current":N,"ts_current":M}` with exact digits (PD_STATE.json's flat
 * shape). A save writes the field-wise maximum of the stored and the given
 * state, compared on the key's mod revision, so a stored ceiling never goes
 * down, whoever else wrote meanwhile: on a lost compare it reads the key
 * again and merges again (5 attempts).
 */
export class AllocatorCeilings {
  readonly #ctx: StoreContext;
  /** The stored state and the mod revision it was read or written at; undefined: read it first. */
  #known: { state: AllocatorState; rev: string } | undefined;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Decodes the `alloc` key-value read by a load (undefined: absent) and makes it the known state. */
  loaded(kv: IKeyValue | undefined): AllocatorState {
    const state = kv === undefined ? ZERO : this.#parse(kv);
    this.#known = { state, rev: kv?.mod_revision ?? "0" };
    return state;
  }

  /**
   * Makes `state` durable as the field-wise maximum with the stored state.
   *
   * @throws PdError `NOT_LEADER` when the fence failed (nothing written),
   *   `STORAGE` when etcd failed (the stored ceilings are then at least the
   *   previously acknowledged ones) or the key kept changing.
   */
  async save(fence: LeaderFence | undefined, state: AllocatorState): Promise<void> {
    const { client, keys, timeoutMs, description } = this.#ctx;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        this.#known ??= await this.#read();
      } catch (err) {
        throw storageError(`${description}: cannot read ${keys.alloc}`, err);
      }
      const stored = this.#known;
      const merged: AllocatorState = {
        idCurrent: maxBig(stored.state.idCurrent, state.idCurrent),
        tsCurrent: maxBig(stored.state.tsCurrent, state.tsCurrent),
      };
      let res: ITxnResponse;
      try {
        res = await txn(
          client,
          {
            compare: [...this.#ctx.fence.compare(fence), modRevisionIs(keys.alloc, stored.rev)],
            success: [putOp(keys.alloc, formatFlatCheckpoints(merged))],
            failure: [getOp(keys.leader), getOp(keys.alloc)],
          },
          timeoutMs,
        );
      } catch (err) {
        // Unknown outcome; either way the stored ceilings are at least the
        // acknowledged ones, which is all the allocators rely on.
        this.#known = undefined;
        throw storageError(`${description}: writing ${keys.alloc} failed`, err);
      }
      if (res.succeeded) {
        this.#known = { state: merged, rev: res.header.revision };
        this.#ctx.stats.allocatorWrites++;
        return;
      }
      const leaderKv = rangeResult(res, 0);
      if (this.#ctx.fence.isLost(fence, leaderKv)) throw this.#ctx.fence.failed(fence, leaderKv);
      // Changed since we read it (our own retried request, or a writer without a guard): merge again.
      const allocKv = rangeResult(res, 1);
      this.#known = allocKv === undefined ? { state: ZERO, rev: "0" } : { state: this.#parse(allocKv), rev: allocKv.mod_revision };
    }
    throw new PdError("STORAGE", `${description}: ${keys.alloc} kept changing under ${MAX_ATTEMPTS} attempts to raise it`);
  }

  async #read(): Promise<{ state: AllocatorState; rev: string }> {
    const { client, keys, timeoutMs } = this.#ctx;
    const res = await etcdRequest(client, timeoutMs, (o) => client.kv.range({ key: Buffer.from(keys.alloc) }, o));
    const kv = res.kvs[0];
    if (kv === undefined) return { state: ZERO, rev: "0" };
    return { state: this.#parse(kv), rev: kv.mod_revision };
  }

  #parse(kv: IKeyValue): AllocatorState {
    return parseAllocatorState(kv.value.toString("utf8"), `etcd key ${this.#ctx.keys.alloc}`);
  }
}
