import { spawnSync } from "node:child_process";

/** Whether `strace` can run here (installed by `scripts/ensure-strace.sh`), and if not, why. */
export function probeStrace(): { ok: boolean; reason: string } {
  const r = spawnSync("strace", ["-f", "-qq", "-o", "/dev/null", "-e", "trace=none", "--", process.execPath, "-e", ""], { encoding: "utf8" });
  if (r.error !== undefined) return { ok: false, reason: `strace is not installed (${r.error.message}); scripts/ensure-strace.sh installs it` };
  if (r.status !== 0) return { ok: false, reason: `strace cannot trace here: ${r.stderr.trim()}` };
  return { ok: true, reason: "" };
}

/**
 * A launch wrapper that runs pd-cli under strace and delays every call of
 * `syscalls` on `path` (file descriptors of it included) by `delayMs`
 * before it runs; the calls it traces go to `traceFile`.
 */
export function delaySyscallsOn(path: string, syscalls: readonly string[], delayMs: number, traceFile: string): string[] {
  const set = syscalls.join(",");
  // --seccomp-bpf: only the traced calls stop the process, so pd-cli runs at nearly full speed otherwise.
  return ["strace", "-f", "--seccomp-bpf", "-qq", "-o", traceFile, "-P", path, "-e", `trace=${set}`, "-e", `inject=${set}:delay_enter=${delayMs * 1000}`, "--"];
}
