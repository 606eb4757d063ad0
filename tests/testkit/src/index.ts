/**
 * `@nokv/testkit`: the test utilities every workspace package shares, so
 * that no test reaches into another package's sources. Private; never
 * published.
 */
export { startEtcdCluster } from "./etcd/etcd-cluster.js";
export type { EtcdCluster } from "./etcd/etcd-cluster.js";
export { freshClusterId, useSharedEtcd } from "./etcd/shared-etcd.js";
export type { SharedEtcd } from "./etcd/shared-etcd.js";
export { waitUntil } from "./wait/wait-until.js";
export type { Ready } from "./wait/wait-until.js";
export { freePort } from "./net/free-port.js";
export { useTempDirs } from "./fs/temp-dirs.js";
export { codeOf } from "./errors/code-of.js";
export * from "./fake-pd/fake-pd.js";
/** Wire types a test scripts the fake PD with (tests of packages that never import the wire themselves). */
export { SchedulerOperationType } from "@nokv/pd-proto";
export type { SchedulerOperation as WireSchedulerOperation } from "@nokv/pd-proto";
