import { readFileSync, statSync } from "node:fs";

/**
 * Whether some process holds a kernel lock (any kind: OFD, POSIX, flock) on
 * the file at `path`, as `/proc/locks` lists it. False when the file does
 * not exist.
 */
export function isLockedByKernel(path: string): boolean {
  let st: { dev: number; ino: number };
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  // Linux's dev_t encoding; /proc/locks prints MAJOR:MINOR:INODE with major and minor in hex.
  const major = Math.floor(st.dev / 256) & 0xfff;
  const minor = (st.dev & 0xff) | (Math.floor(st.dev / 4096) & ~0xff);
  const id = `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}:${st.ino}`;
  return readFileSync("/proc/locks", "utf8")
    .split("\n")
    .some((line) => line.split(/\s+/).includes(id));
}
