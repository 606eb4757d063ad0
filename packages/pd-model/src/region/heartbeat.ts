import type { Region, RegionPeer } from "./region.js";

/** A peer its leader has not heard from, and for how long (seconds). */
export interface DownPeer {
  readonly peer: RegionPeer;
  readonly downSeconds: bigint;
}

/**
 * What a region heartbeat says beside the region itself: what its leader
 * knows of it. Added after NoKV's original contract; NoKV's Go stores send
 * none of it. Undefined means unknown, and PD falls back (leaders from the
 * stores' leader counts, one region as one unit of size).
 *
 * `downPeers`, `pendingPeers` and `learnerPeerIds` travel together (one
 * optional message on the wire): when they are given, an empty list means
 * "none"; when they are undefined, the sender did not say.
 */
export interface RegionHeartbeatExtras {
  /** The peer (one of the region's) that leads it. */
  readonly leaderPeerId?: bigint;
  /** Approximate bytes of the region's data. */
  readonly approximateSize?: bigint;
  /** Approximate keys of the region's data. */
  readonly approximateKeys?: bigint;
  /** Bytes written since the previous heartbeat. */
  readonly bytesWritten?: bigint;
  /** Keys written since the previous heartbeat. */
  readonly keysWritten?: bigint;
  /** Peers the leader has not heard from for a while. */
  readonly downPeers?: readonly DownPeer[];
  /** Peers behind the leader's log (catching up). Not live for a majority. */
  readonly pendingPeers?: readonly RegionPeer[];
  /** Ids of the region's peers that are learners; every other peer votes. */
  readonly learnerPeerIds?: readonly bigint[];
}

/** A region heartbeat: the region and what its leader knows of it. */
export interface RegionHeartbeat extends RegionHeartbeatExtras {
  readonly region: Region;
}
