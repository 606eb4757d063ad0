import { performance } from "node:perf_hooks";
import type { Etcd3, IDuplexStream, IKeyValue, IWatchRequest, IWatchResponse } from "etcd3";
import { attemptTimeoutOf, reportSilent } from "./etcd-connection.js";

/** One change a watch delivers: a put (the new key-value) or a delete (the key and the revision of the delete). */
export interface WatchEvent {
  readonly kind: "put" | "delete";
  readonly kv: IKeyValue;
}

/** Why a watch ended. */
export type WatchEnd =
  /** {@link Watch.stop} was called. */
  | { readonly kind: "stopped" }
  /** The stream failed or ended, or etcd canceled the watcher. */
  | { readonly kind: "failed"; readonly error: unknown }
  /** The member did not answer a liveness probe in time (it is reported to the endpoint health). */
  | { readonly kind: "silent"; readonly afterMs: number }
  /** The start revision was compacted: changes since then can no longer be replayed. */
  | { readonly kind: "compacted"; readonly compactRevision: bigint };

/** Options of {@link openWatch}. */
export interface WatchOptions {
  /** The key, or the first key of the range. */
  readonly key: Buffer;
  /** The end of the range (exclusive); absent: `key` only. */
  readonly rangeEnd?: Buffer;
  /** The first revision to deliver. */
  readonly startRevision: bigint;
  /**
   * The events of one watch response, in revision order; a response never
   * splits a revision. `headerRevision` is etcd's revision when it sent them.
   * Called synchronously; a throw ends the watch (`failed`).
   */
  readonly onEvents: (events: readonly WatchEvent[], headerRevision: bigint) => void;
  /** How often the stream is probed (a progress request) while nothing arrives, in ms. Default: the client's attempt timeout. */
  readonly probeIntervalMs?: number;
  /** How long a probe or the creation may go unanswered before the member counts as silent, in ms. Default: the client's attempt timeout. */
  readonly silenceMs?: number;
}

/** A running watch: one stream, one watcher. */
export interface Watch {
  /** Resolves once the watch has ended, with why; never rejects. */
  readonly ended: Promise<WatchEnd>;
  /** Ends the watch (`stopped`). Idempotent. */
  stop(): void;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * Watches a key or a range from a revision on a stream of its own, and
 * notices when the member behind it goes silent.
 *
 * etcd3's own watcher multiplexes every watch of a client on one stream and
 * reconnects by itself; a member that hangs (SIGSTOP, a stuck disk) neither
 * errors nor answers, so such a watch waits for ever. Here every
 * `probeIntervalMs` without news the stream is sent a progress request;
 * when neither that nor anything else is answered within `silenceMs`, the
 * member is reported silent (the next stream goes elsewhere) and the watch
 * ends with `silent`. The owner decides where to resume: it knows what it
 * has applied. The probe's answer is used only as a sign of life — etcd 3.4
 * answers progress requests even for watchers still replaying history, so
 * its revision is not a promise that everything before it was delivered.
 */
export function openWatch(client: Etcd3, options: WatchOptions): Watch {
  const probeMs = options.probeIntervalMs ?? attemptTimeoutOf(client);
  const silenceMs = options.silenceMs ?? attemptTimeoutOf(client);
  let resolveEnded!: (end: WatchEnd) => void;
  const ended = new Promise<WatchEnd>((resolve) => {
    resolveEnded = resolve;
  });
  let over = false;
  let stream: Stream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastNewsAt = performance.now();
  /** When a probe (or the create request) was sent and not answered yet. */
  let waitingSince: number | undefined = performance.now();
  let created = false;

  const end = (why: WatchEnd): void => {
    if (over) return;
    over = true;
    clearInterval(timer);
    const s = stream;
    stream = undefined;
    if (s !== undefined) {
      if (why.kind === "silent") reportSilent(client, s);
      s.on("error", () => undefined);
      s.cancel();
    }
    resolveEnded(why);
  };

  const tick = (): void => {
    const s = stream;
    if (over || s === undefined) return;
    const now = performance.now();
    if (waitingSince !== undefined) {
      if (now - waitingSince >= silenceMs) end({ kind: "silent", afterMs: Math.round(now - waitingSince) });
      return;
    }
    if (created && now - lastNewsAt >= probeMs) {
      waitingSince = now;
      s.write({ progress_request: {} });
    }
  };

  const onData = (res: IWatchResponse): void => {
    if (over) return;
    lastNewsAt = performance.now();
    waitingSince = undefined;
    if (res.created) created = true;
    const compacted = BigInt(res.compact_revision || "0");
    if (compacted > 0n) {
      end({ kind: "compacted", compactRevision: compacted });
      return;
    }
    if (res.canceled) {
      end({ kind: "failed", error: new Error(`etcd canceled the watch: ${res.cancel_reason || "no reason given"}`) });
      return;
    }
    if (res.events.length === 0) return;
    const events: WatchEvent[] = res.events.map((e) => ({ kind: String(e.type).toLowerCase() === "delete" ? "delete" : "put", kv: e.kv }));
    try {
      options.onEvents(events, BigInt(res.header?.revision ?? "0"));
    } catch (err) {
      end({ kind: "failed", error: err });
    }
  };

  void (async () => {
    let s: Stream;
    try {
      s = await client.watchClient.watch();
    } catch (err) {
      end({ kind: "failed", error: err });
      return;
    }
    if (over) {
      s.on("error", () => undefined);
      s.cancel();
      return;
    }
    stream = s;
    s.on("data", onData);
    s.on("error", (err: Error) => end({ kind: "failed", error: err }));
    s.on("end", () => end({ kind: "failed", error: new Error("etcd ended the watch stream") }));
    waitingSince = performance.now();
    s.write({
      create_request: {
        key: options.key,
        ...(options.rangeEnd !== undefined && { range_end: options.rangeEnd }),
        start_revision: options.startRevision.toString(),
      },
    });
    timer = setInterval(tick, Math.max(10, Math.min(probeMs, silenceMs) / 4));
    timer.unref();
  })();

  return { ended, stop: () => end({ kind: "stopped" }) };
}
