import { randomUUID } from "node:crypto";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll } from "vitest";
import { type EtcdCluster, startEtcdCluster } from "./etcd-cluster.js";

/** One etcd member shared by the tests of a file (or describe block), plus a raw client for inspecting keys. */
export interface SharedEtcd {
  readonly etcd: EtcdCluster;
  readonly raw: Etcd3;
}

/**
 * Starts one real etcd member before the tests of the enclosing scope and
 * stops it after them. Read the fields inside tests (they are set in beforeAll).
 */
export function useSharedEtcd(): SharedEtcd {
  const shared = {} as { etcd: EtcdCluster; raw: Etcd3 };
  beforeAll(async () => {
    shared.etcd = await startEtcdCluster({ members: 1 });
    shared.raw = new Etcd3({ hosts: [...shared.etcd.endpoints] });
  });
  afterAll(async () => {
    shared.raw?.close();
    await shared.etcd?.stop();
  });
  return shared;
}

/** A cluster id no other test uses, so tests on one etcd never see each other's keys. */
export const freshClusterId = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;
