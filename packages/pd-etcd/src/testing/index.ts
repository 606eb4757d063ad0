/**
 * `@nokv/pd-etcd/testing`: throwaway etcd clusters for tests and
 * benchmarks (real `etcd` processes on loopback ports, temporary data
 * directories; members can be killed, paused with SIGSTOP and restarted),
 * and `waitUntil`, the deadline-bounded condition wait the tests use
 * instead of sleeps. Needs the `etcd` binary (`apt-get install -y etcd-server`).
 */
export { startEtcdCluster } from "./etcd-cluster.js";
export type { EtcdCluster, EtcdClusterOptions } from "./etcd-cluster.js";
export { waitUntil } from "./wait-until.js";
