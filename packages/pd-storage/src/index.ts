/**
 * `@nokv/pd-storage`: PD's persistence. The {@link Store} contract and its
 * backends: memory (tests, no `--workdir`) and local-file (`--workdir`).
 */
export { deleteRegion, saveRegion } from "./store.js";
export type { Store } from "./store.js";
export { MemoryStore, createMemoryStore } from "./memory/memory-store.js";
export { LocalFileStore, openLocalFileStore } from "./local-file/local-file-store.js";
export type { LocalFileStoreOptions, LocalFileStoreStats, RecoveryReport } from "./local-file/local-file-store.js";
export { STATE_FILE, formatAllocatorState, parseAllocatorState } from "./local-file/allocator-state-file.js";
