/**
 * `@nokv/pd-storage`: PD's persistence. The {@link Store} contract and the
 * embedded backends: memory (tests, no `--workdir`) and local-file
 * (`--workdir`), plus the codecs other backends share (the etcd backend in
 * `@nokv/pd-etcd` stores regions and ceilings in these formats). The
 * contract's test suite is `@nokv/pd-storage/testing`.
 */
export { deleteRegion, saveRegion } from "./store.js";
export type { Store } from "./store.js";
export { storageError } from "./storage-error.js";
export { MemoryStore, createMemoryStore } from "./memory/memory-store.js";
export { LocalFileStore, describeRecovery, openLocalFileStore } from "./local-file/local-file-store.js";
export type {
  DroppedTail,
  ImportedCatalog,
  LocalFileStoreOptions,
  LocalFileStoreStats,
  RecoveryReport,
  StorageLog,
} from "./local-file/local-file-store.js";
export {
  STATE_FILE,
  formatAllocatorState,
  formatFlatCheckpoints,
  parseAllocatorState,
  parsePdStateFile,
} from "./local-file/pd-state-file.js";
export type { PdStateFile, PdStateShape, SkippedRegion } from "./local-file/pd-state-file.js";
export { decodeEdits, encodeEdits } from "./local-file/region-codec.js";
export { LOCK_FILE } from "./local-file/workdir-lock.js";
export { SCHEDULING_FILE, decodeSchedulingConfig, encodeSchedulingConfig } from "./scheduling/scheduling-config-codec.js";
