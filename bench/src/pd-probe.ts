/**
 * `pd-cli pd` composed exactly as the CLI does (`startPd`), plus an
 * event-loop delay monitor the benchmark reads over IPC. Run as a child
 * process: `node dist/pd-probe.js [WORKDIR]`; prints the CLI's lines,
 * `listening on HOST:PORT` among them. IPC messages: `"reset"` clears the
 * histogram; `"read"` answers `{ p50Ms, p99Ms, maxMs, meanMs, regions }`.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startPd } from "@nokv/pd-cli";
import { pino } from "pino";

const workdir = process.argv[2];
const log = pino({ level: "warn" }, pino.destination(2));
const server = await startPd(
  { addr: "127.0.0.1:0", scope: "host", ...(workdir !== undefined && { workdir }) },
  log,
  (line) => process.stdout.write(`${line}\n`),
);
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
process.on("message", (msg) => {
  if (msg === "reset") {
    delay.reset();
    process.send?.("reset-done");
  } else if (msg === "read") {
    process.send?.({
      p50Ms: delay.percentile(50) / 1e6,
      p99Ms: delay.percentile(99) / 1e6,
      maxMs: delay.max / 1e6,
      meanMs: delay.mean / 1e6,
      regions: server.cluster.regions.size,
    });
  }
});
const stop = (): void => {
  delay.disable();
  void server.close().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
