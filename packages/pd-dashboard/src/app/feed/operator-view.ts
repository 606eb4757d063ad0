import { type OperatorInfo, operatorFinishedAtMs, operatorFromTikvJson, type TikvOperatorJson } from "@nokv/pd-model";

/** One operator as the page shows it. */
export interface OperatorView {
  readonly key: string;
  readonly regionId: bigint;
  /** What planned it (`balance-region`, `replace-down-replica`, …). */
  readonly kind: string;
  /** PD's state word (`running`, `success`, `timeout`, …), as `pd-cli operators` prints it. */
  readonly status: string;
  /** Why it did not succeed; empty otherwise. */
  readonly reason: string;
  readonly steps: ReadonlyArray<{ readonly text: string; readonly done: boolean }>;
  /** Wall-clock ms. */
  readonly startedAtMs: bigint;
  readonly endedAtMs: bigint | undefined;
  /** How long it has run (in flight) or ran (ended), ms. */
  readonly ageMs: bigint;
}

/** The page's view of an operator in PD's domain shape. */
export function operatorView(op: OperatorInfo): OperatorView {
  return {
    key: op.id.toString(),
    regionId: op.regionId,
    kind: op.kind,
    status: op.state,
    reason: op.reason,
    // `currentStep` counts the steps that took effect (all of them after a success).
    steps: op.steps.map((text, i) => ({ text, done: i < op.currentStep })),
    startedAtMs: op.createdAtMs,
    endedAtMs: operatorFinishedAtMs(op),
    ageMs: op.ageMs,
  };
}

/**
 * The views of a list of operators as PD's status API answers
 * `/operators?object=1` (pd-model's one operator shape, decoded by
 * pd-model's codec). An entry that cannot be decoded is skipped and counted.
 */
export function operatorViews(list: readonly TikvOperatorJson[]): { readonly views: OperatorView[]; readonly unreadable: number } {
  const views: OperatorView[] = [];
  let unreadable = 0;
  for (const j of list) {
    try {
      views.push(operatorView(operatorFromTikvJson(j)));
    } catch {
      unreadable++;
    }
  }
  return { views, unreadable };
}
