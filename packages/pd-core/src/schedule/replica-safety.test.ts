import type { Region } from "@nokv/pd-model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { OperatorStep } from "./operator-step.js";
import { RegionStatsIndex } from "./region-stats.js";
import { keepsLiveMajority, quorum } from "./replica-safety.js";

const index = new RegionStatsIndex();
function stats(voters: number, learners: number[] = [], pending: number[] = []) {
  const peers = Array.from({ length: voters + learners.length }, (_, i) => ({ storeId: BigInt(i + 1), peerId: BigInt(100 + i) }));
  const region: Region = { id: 1n, startKey: new Uint8Array(), endKey: new Uint8Array(), epoch: { version: 1n, confVersion: 1n }, peers };
  return index.put(region, {
    leaderPeerId: 100n,
    learnerPeerIds: learners.map((i) => BigInt(100 + i)),
    pendingPeers: pending.map((i) => peers[i]!),
  });
}

describe("live majority", () => {
  it("needs floor(n/2)+1 votes", () => {
    expect([1, 2, 3, 4, 5].map(quorum)).toEqual([1, 2, 2, 3, 3]);
  });

  it("allows replacing one dead voter of three through a learner, and nothing with two dead", () => {
    const s = stats(3);
    const replace: OperatorStep[] = [
      { type: "add-learner", storeId: 9n, peerId: 900n },
      { type: "promote-learner", storeId: 9n, peerId: 900n },
      { type: "remove-peer", storeId: 3n, peerId: 102n },
    ];
    const oneDead = (_s: unknown, store: bigint) => store !== 3n;
    expect(keepsLiveMajority(s, replace, oneDead)).toBe(true);
    const twoDead = (_s: unknown, store: bigint) => store === 1n || store === 9n;
    expect(keepsLiveMajority(s, replace, twoDead)).toBe(false);
    // Adding a voter directly while one of three is dead: 4 voters, 2 live.
    expect(keepsLiveMajority(s, [{ type: "add-peer", storeId: 9n, peerId: 900n }], oneDead)).toBe(false);
    // Removing a live voter of three while another is dead leaves 1 of 2.
    expect(keepsLiveMajority(s, [{ type: "remove-peer", storeId: 1n, peerId: 100n }], oneDead)).toBe(false);
    // A transfer to a dead or pending voter is refused.
    expect(keepsLiveMajority(s, [{ type: "transfer-leader", fromStoreId: 1n, fromPeerId: 100n, toStoreId: 3n, toPeerId: 102n }], oneDead)).toBe(false);
    expect(keepsLiveMajority(stats(3, [], [2]), [{ type: "transfer-leader", fromStoreId: 1n, fromPeerId: 100n, toStoreId: 3n, toPeerId: 102n }], (st, store, peer) => !st.pending.has(peer) && store > 0n)).toBe(false);
  });

  it("never accepts steps after which a simulated membership lacks a live majority (property)", () => {
    const step = fc.oneof(
      fc.record({ type: fc.constantFrom("add-learner" as const, "add-peer" as const), storeId: fc.bigInt({ min: 1n, max: 6n }), peerId: fc.bigInt({ min: 100n, max: 106n }) }),
      fc.record({ type: fc.constantFrom("promote-learner" as const, "remove-peer" as const), storeId: fc.bigInt({ min: 1n, max: 6n }), peerId: fc.bigInt({ min: 100n, max: 106n }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }), fc.array(step, { maxLength: 4 }), fc.func(fc.boolean()), (voters, dead, steps, live) => {
        const s = stats(voters);
        const isLive = (_st: unknown, store: bigint, peer: bigint) => !dead.includes(Number(store) - 1) && live(String(peer));
        if (!keepsLiveMajority(s, steps, isLive)) return;
        // Replay: live voters ≥ quorum after every step.
        const m = new Map<bigint, { voter: boolean; live: boolean }>();
        for (const p of s.region.peers) m.set(p.peerId, { voter: true, live: isLive(s, p.storeId, p.peerId) });
        for (const st of steps) {
          if (st.type === "add-learner") m.set(st.peerId, { voter: false, live: true });
          else if (st.type === "add-peer") m.set(st.peerId, { voter: true, live: false });
          else if (st.type === "promote-learner") {
            const x = m.get(st.peerId);
            if (x) x.voter = true;
          } else m.delete(st.peerId);
          const vs = [...m.values()].filter((x) => x.voter);
          expect(vs.filter((x) => x.live).length).toBeGreaterThanOrEqual(quorum(vs.length));
        }
      }),
    );
  });
});
