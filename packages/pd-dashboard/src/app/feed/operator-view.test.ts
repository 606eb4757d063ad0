import { type OperatorInfo, operatorToTikvJson, type TikvOperatorJson } from "@nokv/pd-model";
import { describe, expect, it } from "vitest";
import { operatorViews } from "./operator-view.js";

// The page reads what the server writes: pd-model's encoder on one side, its
// decoder on the other. These views are built from the encoder's output, as
// JSON text, the way the page receives it.

const base: OperatorInfo = {
  id: 2n ** 53n + 1n, // a JSON number would round it
  regionId: 9_007_199_254_740_995n,
  kind: "replace-down-replica",
  priority: "high",
  state: "running",
  steps: ["add learner 41 on store 4", "promote learner 41 on store 4", "remove peer 13 on store 3"],
  currentStep: 1,
  regionEpoch: { version: 2n, confVersion: 5n },
  createdAtMs: 1_700_000_000_000n,
  ageMs: 2_500n,
  reason: "",
};
const wire = (ops: readonly OperatorInfo[]) => JSON.parse(JSON.stringify(ops.map(operatorToTikvJson))) as TikvOperatorJson[];

describe("the page's operators", () => {
  it("shows an operator in flight with its kind, its steps done so far, its start and age, ids exact", () => {
    const { views, unreadable } = operatorViews(wire([base]));
    expect(unreadable).toBe(0);
    expect(views).toEqual([
      {
        key: "9007199254740993",
        regionId: 9_007_199_254_740_995n,
        kind: "replace-down-replica",
        status: "running",
        reason: "",
        steps: [
          { text: "add learner 41 on store 4", done: true },
          { text: "promote learner 41 on store 4", done: false },
          { text: "remove peer 13 on store 3", done: false },
        ],
        startedAtMs: 1_700_000_000_000n,
        endedAtMs: undefined,
        ageMs: 2_500n,
      },
    ]);
  });

  it("shows an ended operator with how it ended, why, and when", () => {
    const { views } = operatorViews(
      wire([
        { ...base, state: "success", currentStep: 3 },
        { ...base, id: 7n, state: "timeout", reason: "step 2 did not take effect in time" },
        { ...base, id: 8n, state: "cancelled", currentStep: 0, reason: "region 5 changed epoch" },
      ]),
    );
    expect(views.map((v) => [v.status, v.steps.map((s) => s.done), v.endedAtMs, v.reason])).toEqual([
      ["success", [true, true, true], 1_700_000_002_500n, ""],
      ["timeout", [true, false, false], 1_700_000_002_500n, "step 2 did not take effect in time"],
      ["cancelled", [false, false, false], 1_700_000_002_500n, "region 5 changed epoch"],
    ]);
  });

  it("skips and counts an entry it cannot read, keeping the others", () => {
    const list = wire([base, { ...base, id: 3n }]);
    const broken = [{ ...list[0]!, region_id: 12 as unknown as string }, list[1]!];
    const { views, unreadable } = operatorViews(broken);
    expect(unreadable).toBe(1);
    expect(views.map((v) => v.key)).toEqual(["3"]);
  });
});
