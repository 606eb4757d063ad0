import type { SimCase } from "../runner.js";
import { addNodes } from "./add-nodes.js";
import { goStores } from "./go-stores.js";
import { hotWrite } from "./hot-write.js";
import { largeCluster } from "./large-cluster.js";
import { leaderImbalance } from "./leader-imbalance.js";
import { makeupDownReplicas } from "./makeup-down-replicas.js";
import { regionSplit } from "./region-split.js";
import { storeDown } from "./store-down.js";
import { storeDownProcess } from "./store-down-process.js";

/** Every case, in `pd-sim list` order. */
export const CASES: readonly SimCase[] = [
  addNodes,
  storeDown,
  makeupDownReplicas,
  regionSplit,
  leaderImbalance,
  goStores,
  hotWrite,
  largeCluster,
  storeDownProcess,
];

/** The case named `name`, if any. */
export function findCase(name: string): SimCase | undefined {
  return CASES.find((c) => c.name === name);
}
