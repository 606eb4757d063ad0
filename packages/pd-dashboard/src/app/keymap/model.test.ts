import { describe, expect, it } from "vitest";
import type { CompactRegionJson } from "../../api-types.js";
import { buildSlots, type RegionRec, RegionSet, SlotKind } from "./model.js";

const hex = (s: string) => Buffer.from(s).toString("hex").toUpperCase();
function rec(id: number, start: string, end: string): RegionRec {
  return { id: BigInt(id), start: hex(start), end: hex(end), version: 1n, confVer: 1n, leaderStore: undefined, peers: [{ storeId: 1n, peerId: BigInt(id * 10) }] };
}
const kinds = (regions: RegionRec[]) => [...buildSlots(regions).kind].map((k) => ["R", "H", "O"][k]).join("");

describe("key-space slots", () => {
  it("a contiguous catalog from the empty key to +inf has no holes and no overlaps", () => {
    const s = buildSlots([rec(1, "", "g"), rec(2, "g", "p"), rec(3, "p", "")]);
    expect([...s.kind]).toEqual([SlotKind.Region, SlotKind.Region, SlotKind.Region]);
    expect(s.holes).toBe(0);
    expect(s.overlaps).toBe(0);
  });

  it("shows the holes: before the first region, between regions, and after a bounded last one", () => {
    const s = buildSlots([rec(1, "b", "g"), rec(2, "k", "p")]);
    expect(kinds(s.regions as RegionRec[])).toBe("HRHRH");
    expect(s.holes).toBe(3);
    expect([s.from[0], s.to[0]]).toEqual(["", hex("b")]);
    expect([s.from[2], s.to[2]]).toEqual([hex("g"), hex("k")]);
    expect([s.from[4], s.to[4]]).toEqual([hex("p"), ""]);
  });

  it("shows an overlap, with the range both regions claim", () => {
    const s = buildSlots([rec(1, "", "m"), rec(2, "g", "")]);
    expect(kinds(s.regions as RegionRec[])).toBe("ROR");
    expect([s.from[1], s.to[1]]).toEqual([hex("g"), hex("m")]);
    // A region nested in one that reaches +inf overlaps it entirely.
    const t = buildSlots([rec(1, "", ""), rec(2, "g", "k")]);
    expect(kinds(t.regions as RegionRec[])).toBe("ROR");
    expect([t.from[1], t.to[1]]).toEqual([hex("g"), hex("k")]);
  });

  it("an empty catalog is one hole over the whole key space", () => {
    const s = buildSlots([]);
    expect(s.count).toBe(1);
    expect([s.kind[0], s.from[0], s.to[0]]).toEqual([SlotKind.Hole, "", ""]);
  });

  it("hex strings sort as their bytes do (a prefix first, 0x7F before 0x80, 0xFF last)", () => {
    const keys = [[0xff], [0x80], [0x7f], [0x7f, 0x00], [], [0x09], [0x0a]].map((b) => Buffer.from(b));
    const byHex = [...keys].sort((a, b) => (a.toString("hex").toUpperCase() < b.toString("hex").toUpperCase() ? -1 : 1));
    expect(byHex).toEqual([...keys].sort(Buffer.compare));
  });
});

describe("the page's region set", () => {
  const page = (regions: CompactRegionJson[], seq = 3) => ({ generation: "g1", seq, count: regions.length, regions, has_more: false });

  it("fills elided end keys from the next region and keeps uint64 ids exact", () => {
    const set = new RegionSet();
    set.clear("g1", 3);
    set.addPage(page([
      ["18446744073709551615", "", null, "9007199254740993", "1", "", ["1", "18446744073709551614"]],
      ["2", "6D", "", "1", "1", "3", ["3", "21"]],
    ]));
    const [a, b] = set.sorted();
    expect(a!.id).toBe(18446744073709551615n);
    expect(a!.end).toBe("6D");
    expect(a!.version).toBe(9007199254740993n);
    expect(a!.peers[0]!.peerId).toBe(18446744073709551614n);
    expect(b!.leaderStore).toBe(3n);
    expect(set.slots().holes).toBe(0);
  });

  it("applies changes: a split replaces a region, a removal leaves a hole", () => {
    const set = new RegionSet();
    set.clear("g1", 0);
    set.addPage(page([["1", "", null, "1", "1", "", []], ["2", "6D", "", "1", "1", "", []]]));
    set.applyChanges({ generation: "g1", seq: 5, reset: false, regions: [["1", "", "64", "2", "1", "", []], ["3", "64", "6D", "2", "1", "", []]], removed: [] });
    expect(set.sorted().map((r) => r.id)).toEqual([1n, 3n, 2n]);
    expect(set.seq).toBe(5);
    set.applyChanges({ generation: "g1", seq: 6, reset: false, regions: [], removed: ["3"] });
    const s = set.slots();
    expect(s.holes).toBe(1);
    expect([s.from[1], s.to[1]]).toEqual(["64", "6D"]);
  });
});

describe("the map's view", () => {
  it("zooms around a point, and stays between one slot across the width and every slot", async () => {
    const { clampView, fitView, zoomAt } = await import("./render.js");
    const slots = buildSlots([rec(1, "", "g"), rec(2, "g", "p"), rec(3, "p", "")]);
    const fit = fitView(slots, 300);
    expect(fit).toEqual({ first: 0, perPx: 0.01 });
    const zoomed = clampView(zoomAt(fit, 150, 0.5), slots, 300);
    expect(zoomed.perPx).toBeCloseTo(0.005);
    expect(zoomed.first).toBeCloseTo(0.75); // the slot under x = 150 stays under it
    expect(clampView(zoomAt(fit, 150, 0.001), slots, 300).perPx).toBeCloseTo(1 / 300);
    expect(clampView(zoomAt(fit, 150, 10), slots, 300)).toEqual(fit);
    expect(clampView({ first: 2.5, perPx: 0.005 }, slots, 300).first).toBeCloseTo(1.5);
  });
});
