import type { LeaderTransferJson, LeaderTransfersJson } from "../../api-types.js";
import { u64 } from "../format.js";
import { getJson } from "./api.js";

/**
 * One scheduling operation as the page shows it, whatever PD reports: today
 * the scheduler's leader-transfer hints (`/pd/api/v1/leader-transfers`),
 * later full operators (`/pd/api/v1/operators`) with several steps.
 */
export interface OperatorView {
  readonly key: string;
  readonly regionId: bigint;
  readonly kind: string;
  readonly status: string;
  readonly steps: ReadonlyArray<{ readonly text: string; readonly done: boolean | undefined }>;
  /** Wall-clock ms. */
  readonly startedAtMs: bigint | undefined;
  readonly endedAtMs: bigint | undefined;
  readonly ageMs: number | undefined;
}

/** What the operators panel shows. */
export interface OperatorsState {
  /** Which API answered: full operators, or the leader-transfer hints. */
  readonly source: "operators" | "leader-transfers";
  readonly inFlight: readonly OperatorView[];
  readonly recent: readonly OperatorView[];
  /** Totals since PD started, by outcome. */
  readonly counters: Readonly<Record<string, number>>;
  readonly note: string;
}

/**
 * The shape expected from `GET /pd/api/v1/operators` once the scheduling
 * work lands (TiKV-like, uint64s as strings): operators in flight and
 * recently finished, each with its steps.
 */
export interface OperatorsJson {
  readonly operators: ReadonlyArray<OperatorJson>;
  readonly recent?: ReadonlyArray<OperatorJson>;
  readonly counters?: Readonly<Record<string, number>>;
}
export interface OperatorJson {
  readonly id: string;
  readonly region_id: string;
  readonly kind: string;
  readonly desc?: string;
  readonly status: string;
  readonly steps: ReadonlyArray<{ readonly desc: string; readonly done?: boolean }>;
  readonly created_at_ms?: string;
  readonly finished_at_ms?: string;
}

function fromOperator(o: OperatorJson, nowMs: number): OperatorView {
  const created = o.created_at_ms === undefined ? undefined : u64(o.created_at_ms);
  return {
    key: o.id,
    regionId: u64(o.region_id),
    kind: o.kind,
    status: o.status,
    steps: o.steps.map((s) => ({ text: s.desc, done: s.done })),
    startedAtMs: created,
    endedAtMs: o.finished_at_ms === undefined ? undefined : u64(o.finished_at_ms),
    ageMs: created === undefined ? undefined : nowMs - Number(created),
  };
}

function fromTransfer(t: LeaderTransferJson, status: string, endedAtMs?: string): OperatorView {
  return {
    key: `${t.region_id}@${t.issued_at_ms}`,
    regionId: u64(t.region_id),
    kind: "transfer-leader",
    status,
    steps: [{ text: `leader: store ${t.source_store_id} (peer ${t.source_peer_id}) → store ${t.target_store_id} (peer ${t.target_peer_id})`, done: endedAtMs === undefined ? false : status === "completed" }],
    startedAtMs: u64(t.issued_at_ms),
    endedAtMs: endedAtMs === undefined ? undefined : u64(endedAtMs),
    ageMs: t.age_ms,
  };
}

/**
 * Reads the scheduling state from the API the summary names
 * (`scheduling_api`): full operators once PD serves `/pd/api/v1/operators`,
 * else the leader-transfer hints.
 */
export async function readOperators(api: "operators" | "leader-transfers"): Promise<OperatorsState> {
  if (api === "operators") {
    const j = await getJson<OperatorsJson>("operators");
    const now = Date.now();
    return {
      source: "operators",
      inFlight: j.operators.map((o) => fromOperator(o, now)),
      recent: (j.recent ?? []).map((o) => fromOperator(o, now)),
      counters: j.counters ?? {},
      note: "",
    };
  }
  const j = await getJson<LeaderTransfersJson>("leader-transfers");
  return {
    source: "leader-transfers",
    inFlight: j.in_flight.map((t) => fromTransfer(t, "in flight")),
    recent: j.recent.map((t) => fromTransfer(t, t.outcome, t.ended_at_ms)),
    counters: j.counters,
    note: `Leader-transfer hints (timeout ${Math.round(j.limits.transfer_timeout_ms / 1000)} s, at most ${j.limits.max_in_flight_per_store} per store).`,
  };
}
