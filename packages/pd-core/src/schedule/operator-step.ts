import type { ExecutableOperationKind } from "@nokv/pd-model";
import type { RegionStats } from "./region-stats.js";

/** Hand the region's leadership from one voter to another. Executed by the leader. */
export interface TransferLeaderStep {
  readonly type: "transfer-leader";
  readonly fromStoreId: bigint;
  readonly fromPeerId: bigint;
  readonly toStoreId: bigint;
  readonly toPeerId: bigint;
}

/** Add a peer (allocated by PD) on a store as a learner, or as a voter (`add-peer`). */
export interface AddPeerStep {
  readonly type: "add-learner" | "add-peer";
  readonly storeId: bigint;
  readonly peerId: bigint;
}

/** Make a learner a voter. */
export interface PromoteLearnerStep {
  readonly type: "promote-learner";
  readonly storeId: bigint;
  readonly peerId: bigint;
}

/** Remove a peer from the region. */
export interface RemovePeerStep {
  readonly type: "remove-peer";
  readonly storeId: bigint;
  readonly peerId: bigint;
}

/** One step of an operator; each is one operation a store carries out. */
export type OperatorStep = TransferLeaderStep | AddPeerStep | PromoteLearnerStep | RemovePeerStep;

/** How long steps may take before their operator times out. */
export interface StepTimeouts {
  /** A leader transfer. */
  readonly transferTimeoutMs: number;
  /** Least time an added peer gets to catch up (TiKV: 10 min). */
  readonly addPeerTimeoutMs: number;
  /** More time per MiB of region data for an added peer (TiKV: 6 s). */
  readonly addPeerTimeoutPerMiBMs: number;
  /** A promotion or a removal (TiKV: 60 s). */
  readonly fastStepTimeoutMs: number;
}

/** The operation kind a store executes for the step. */
export function stepOperationKind(step: OperatorStep): ExecutableOperationKind {
  return step.type === "transfer-leader" ? "leader-transfer" : step.type;
}

/** Whether the step changes the region's membership (and so its conf version, by one). */
export function isConfChange(step: OperatorStep): boolean {
  return step.type !== "transfer-leader";
}

/** `add learner 42 on store 4`: for people (pd-cli, logs). */
export function describeStep(step: OperatorStep): string {
  switch (step.type) {
    case "transfer-leader":
      return `transfer leader from store ${step.fromStoreId} to store ${step.toStoreId}`;
    case "add-learner":
      return `add learner ${step.peerId} on store ${step.storeId}`;
    case "add-peer":
      return `add peer ${step.peerId} on store ${step.storeId}`;
    case "promote-learner":
      return `promote learner ${step.peerId} on store ${step.storeId}`;
    case "remove-peer":
      return `remove peer ${step.peerId} on store ${step.storeId}`;
  }
}

/** The step's timeout for a region of `weightMiB`, from when it became current. */
export function stepTimeoutMs(step: OperatorStep, weightMiB: number, t: StepTimeouts): number {
  switch (step.type) {
    case "transfer-leader":
      return t.transferTimeoutMs;
    case "add-learner":
    case "add-peer":
      return Math.max(t.addPeerTimeoutMs, weightMiB * t.addPeerTimeoutPerMiBMs);
    default:
      return t.fastStepTimeoutMs;
  }
}

/**
 * Whether the region, as last reported, shows the step done (TiKV's
 * `IsFinish`): the leader on the target store; the added peer present with
 * the right role and caught up; the learner a voter; the peer gone.
 */
export function isStepFinished(step: OperatorStep, s: RegionStats): boolean {
  switch (step.type) {
    case "transfer-leader":
      return s.leaderStoreId === step.toStoreId;
    case "add-learner":
    case "add-peer": {
      const p = s.region.peers.find((x) => x.peerId === step.peerId);
      if (p === undefined || p.storeId !== step.storeId || s.pending.has(step.peerId)) return false;
      return step.type === "add-learner" ? s.learners.has(step.peerId) : !s.learners.has(step.peerId);
    }
    case "promote-learner":
      return s.region.peers.some((p) => p.peerId === step.peerId) && !s.learners.has(step.peerId);
    case "remove-peer":
      return !s.region.peers.some((p) => p.peerId === step.peerId);
  }
}

/**
 * Whether the region's membership already shows the step's change (TiKV's
 * `ConfVerChanged`): the added peer is listed (caught up or not), the
 * learner votes, the peer is gone. A leader transfer changes no membership.
 */
export function isConfChangeApplied(step: OperatorStep, s: RegionStats): boolean {
  switch (step.type) {
    case "transfer-leader":
      return false;
    case "add-learner":
    case "add-peer":
      return s.region.peers.some((p) => p.peerId === step.peerId && p.storeId === step.storeId);
    case "promote-learner":
      return s.region.peers.some((p) => p.peerId === step.peerId) && !s.learners.has(step.peerId);
    case "remove-peer":
      return !s.region.peers.some((p) => p.peerId === step.peerId);
  }
}

/**
 * Why the step can no longer take effect on the region as reported (TiKV's
 * `CheckInProgress`), or undefined: another peer sits on the store a peer is
 * to be added to; the learner to promote or the peer to hand leadership to
 * is gone (or a learner); the peer to remove leads the region.
 */
export function stepStaleReason(step: OperatorStep, s: RegionStats): string | undefined {
  switch (step.type) {
    case "transfer-leader": {
      const to = s.region.peers.find((p) => p.peerId === step.toPeerId && p.storeId === step.toStoreId);
      if (to === undefined) return `peer ${step.toPeerId} to lead is gone`;
      if (s.learners.has(step.toPeerId)) return `peer ${step.toPeerId} to lead is a learner`;
      return undefined;
    }
    case "add-learner":
    case "add-peer": {
      const other = s.region.peers.find((p) => p.storeId === step.storeId && p.peerId !== step.peerId);
      return other === undefined ? undefined : `store ${step.storeId} already holds peer ${other.peerId}`;
    }
    case "promote-learner":
      return s.region.peers.some((p) => p.peerId === step.peerId) ? undefined : `learner ${step.peerId} is gone`;
    case "remove-peer":
      return s.leaderPeerId === step.peerId ? `peer ${step.peerId} to remove leads the region` : undefined;
  }
}
