// Types of the two functions PD uses from `fs-native-extensions` (which ships
// no declarations). On Linux, `tryLock` takes an open-file-description lock
// (fcntl F_OFD_SETLK): held until the descriptor is closed or the process
// dies, and refused to any other descriptor, even in the same process.
declare module "fs-native-extensions" {
  /** Takes an exclusive (default) or shared lock without waiting; false when another descriptor holds it. */
  export function tryLock(fd: number, offset?: number, length?: number, opts?: { shared?: boolean }): boolean;
  /** Releases a lock taken with {@link tryLock}. */
  export function unlock(fd: number, offset?: number, length?: number): void;
}
