import { PdError, type RegionEdit } from "@nokv/pd-core";
import { MAX_UINT64, type Region } from "@nokv/pd-model";
import { decodeEdits, storageError } from "@nokv/pd-storage";
import type { Etcd3, IKeyValue, IRangeResponse, ITxnResponse } from "etcd3";
import { etcdRequest } from "../connection/etcd-connection.js";
import { getOp, rangeResult, txn } from "../connection/txn.js";
import { type ClusterKeys, prefixRangeEnd } from "../keys/key-layout.js";
import { decodeRegionValue } from "./region-values.js";

/** What reading the catalog needs: the client, the keys, a time budget per request. */
export interface ReadContext {
  readonly client: Etcd3;
  readonly keys: ClusterKeys;
  /** Time budget of one request (all its attempts), in ms. */
  readonly timeoutMs: number;
  /** For error messages. */
  readonly description: string;
}

/**
 * The keys beside the regions, read together at one revision: whose term it
 * is, the allocator ceilings, the head of the catalog chain, a pending
 * batch and the scheduling configuration. `commitRevision` is the mod revision of `catalog/commit` ("0":
 * absent): every catalog change moves it, so two reads that see the same one
 * see the same catalog.
 */
export interface CatalogHead {
  /** The etcd revision the read saw. */
  readonly revision: bigint;
  readonly leaderKv: IKeyValue | undefined;
  readonly allocKv: IKeyValue | undefined;
  readonly commitKv: IKeyValue | undefined;
  readonly pendingKv: IKeyValue | undefined;
  /** The `scheduling` key (the scheduling configuration), undefined when none was ever saved. */
  readonly schedulingKv: IKeyValue | undefined;
  /** Mod revision of `catalog/commit` at {@link revision}, 0 when absent. */
  readonly commitRevision: bigint;
  /** The batch in `catalog/pending`, decoded; undefined when there is none. */
  readonly pending: RegionEdit[] | undefined;
}

/** The whole catalog at one revision: its head, and every region with a pending batch applied on top. */
export interface CatalogRead {
  readonly head: CatalogHead;
  readonly regions: Map<bigint, Region>;
}

/**
 * Reads the head of the catalog (one linearizable read-only transaction).
 *
 * @throws PdError `STORAGE` when etcd fails or `catalog/pending` is malformed.
 */
export async function readHead(ctx: ReadContext): Promise<CatalogHead> {
  const { res } = await readHeadWith(ctx, undefined);
  return headOf(ctx, res);
}

/**
 * Reads every region, a pending batch on top, and the head, all at one etcd
 * revision.
 *
 * Region keys are read in windows of region ids (20-digit keys sort by id),
 * sized to hold about `pageSize` regions each. etcd 3.4 collects every
 * revision of a range in its index before it applies a limit, so paging an
 * open-ended range costs O(n) per page — O(n²) for the catalog, minutes at
 * a million regions. A bounded window costs what it holds. The head
 * transaction counts the region keys at the same revision, which says when
 * the windows have seen them all, however sparse the ids.
 *
 * @throws PdError `STORAGE` naming the key of a malformed value, or when etcd
 *   fails; `UNAVAILABLE` when `cancelled()` turned true between two windows.
 */
export async function readCatalog(ctx: ReadContext, pageSize: number, cancelled: () => boolean = () => false): Promise<CatalogRead> {
  const { client, keys: k, timeoutMs, description } = ctx;
  const prefix = Buffer.from(k.regionPrefix);
  const prefixEnd = prefixRangeEnd(prefix);
  const { res: first } = await readHeadWith(ctx, { key: prefix, rangeEnd: prefixEnd });
  const head = headOf(ctx, first);
  const revision = first.header.revision;
  const total = Number(first.responses[5]?.response_range?.count ?? "0");
  const regions = new Map<bigint, Region>();
  const target = BigInt(pageSize);
  let lo = 0n;
  let width = target;
  while (regions.size < total && lo <= MAX_UINT64) {
    if (cancelled()) throw new PdError("UNAVAILABLE", `${description}: load cancelled`);
    const hi = lo + width;
    const end = hi > MAX_UINT64 ? prefixEnd : Buffer.from(k.region(hi));
    let from = Buffer.from(k.region(lo));
    let got = 0;
    for (;;) {
      let page: IRangeResponse;
      try {
        const key = from;
        page = await etcdRequest(client, timeoutMs, (o) => client.kv.range({ key, range_end: end, limit: pageSize * 4, revision }, o));
      } catch (err) {
        throw storageError(`${description}: load failed reading ${k.regionPrefix} at revision ${revision}`, err);
      }
      for (const kv of page.kvs) {
        const region = decodeRegionValue(k, kv);
        regions.set(region.id, region);
      }
      got += page.kvs.length;
      const last = page.kvs.at(-1);
      if (!page.more || last === undefined) break;
      from = Buffer.concat([last.key, Buffer.of(0)]);
    }
    lo = hi;
    // Ids are dense where PD allocated them and sparse elsewhere: follow the density.
    if (BigInt(got) < target / 2n) width *= 2n;
    else if (BigInt(got) > target * 2n && width > 1n) width /= 2n;
  }
  for (const e of head.pending ?? []) {
    if (e.kind === "put") regions.set(e.region.id, e.region);
    else regions.delete(e.regionId);
  }
  return { head, regions };
}

async function readHeadWith(
  ctx: ReadContext,
  regionCount: { key: Buffer; rangeEnd: Buffer } | undefined,
): Promise<{ res: ITxnResponse }> {
  const { client, keys: k, timeoutMs, description } = ctx;
  try {
    const res = await txn(
      client,
      {
        compare: [],
        success: [
          getOp(k.leader),
          getOp(k.alloc),
          getOp(k.catalogCommit),
          getOp(k.catalogPending),
          getOp(k.scheduling),
          ...(regionCount === undefined ? [] : [{ request_range: { key: regionCount.key, range_end: regionCount.rangeEnd, count_only: true } }]),
        ],
      },
      timeoutMs,
    );
    return { res };
  } catch (err) {
    throw storageError(`${description}: load failed`, err);
  }
}

function headOf(ctx: ReadContext, res: ITxnResponse): CatalogHead {
  const commitKv = rangeResult(res, 2);
  const pendingKv = rangeResult(res, 3);
  return {
    revision: BigInt(res.header.revision),
    leaderKv: rangeResult(res, 0),
    allocKv: rangeResult(res, 1),
    commitKv,
    pendingKv,
    schedulingKv: rangeResult(res, 4),
    commitRevision: BigInt(commitKv?.mod_revision ?? "0"),
    pending: pendingKv === undefined ? undefined : decodeEdits(pendingKv.value, `etcd key ${ctx.keys.catalogPending}`),
  };
}
