import type { RegionConfig } from "@nokv/nokv-config";
import type { Region } from "@nokv/pd-client";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The UTF-8 bytes of `text`: how NoKV keys are written in configs and tests. */
export function key(text: string): Uint8Array {
  return encoder.encode(text);
}

/** `bytes` as text, for assertion messages. */
export function keyText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** The region a store would report for a bootstrap region of `raft_config.json`. */
export function regionFromConfig(rc: RegionConfig): Region {
  return {
    id: rc.id,
    startKey: key(rc.startKey),
    endKey: key(rc.endKey),
    epoch: { version: rc.epoch.version, confVersion: rc.epoch.confVersion },
    peers: rc.peers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
  };
}

/** A region with plain-text keys (UTF-8), for readable tests; `confVersion` defaults to 1. */
export function region(init: {
  id: bigint;
  start: string;
  end: string;
  version: bigint;
  confVersion?: bigint;
  peers: ReadonlyArray<{ storeId: bigint; peerId: bigint }>;
}): Region {
  return {
    id: init.id,
    startKey: key(init.start),
    endKey: key(init.end),
    epoch: { version: init.version, confVersion: init.confVersion ?? 1n },
    peers: init.peers.map((p) => ({ ...p })),
  };
}

/** A plain, comparable view of a region (keys as text) for `toEqual`. */
export function show(r: Region | undefined): unknown {
  if (r === undefined) return undefined;
  return {
    id: r.id,
    start: keyText(r.startKey),
    end: keyText(r.endKey),
    version: r.epoch.version,
    confVersion: r.epoch.confVersion,
    peers: r.peers.map((p) => [p.storeId, p.peerId]),
  };
}
