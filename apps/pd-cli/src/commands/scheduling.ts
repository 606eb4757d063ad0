import type { PdClient, SchedulingConfigChange } from "@nokv/pd-client";
import { type OperatorInfo, operatorToTikvJson, type SchedulingConfig, stringifyJson as toJson } from "@nokv/pd-model";
import { table } from "../format.js";
import type { ClientFlags } from "./client-options.js";
import type { VerbResult } from "./inspect.js";

// The scheduling verbs: pd-client's calls of `pb.PDScheduling` (the leader
// followed as for every call, the same TLS and --timeout), run through
// `withClient` like the inspection verbs.

const ok = (lines: readonly string[]): VerbResult => ({ lines, exitCode: 0 });

/** `12s`, `3m4s`, `1h2m`: an age for the table. */
export function formatAge(ms: bigint): string {
  const s = Number(ms / 1000n);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

function operatorRows(ops: readonly OperatorInfo[], history: boolean): string[] {
  const head = ["ID", "REGION", "KIND", "PRIORITY", "STATE", "STEP", "AGE", ...(history ? ["REASON"] : []), "STEPS"];
  return table(
    head,
    ops.map((op) => [
      op.id.toString(),
      op.regionId.toString(),
      op.kind,
      op.priority,
      op.state,
      `${Math.min(op.currentStep + 1, op.steps.length)}/${op.steps.length}`,
      formatAge(op.ageMs),
      ...(history ? [op.reason === "" ? "-" : op.reason] : []),
      op.steps.map((s, i) => (i === op.currentStep && !history ? `[${s}]` : s)).join(" → "),
    ]),
  );
}

/** `pd-cli operators [--history]`: operators in flight (oldest first) with their step and age, or those that ended (newest first). */
export async function operatorsVerb(client: PdClient, flags: ClientFlags & { readonly history?: boolean }): Promise<VerbResult> {
  const history = flags.history === true;
  const ops = await client.listOperators({ history });
  if (flags.format === "json") return ok([toJson(ops.map(operatorToTikvJson))]);
  if (ops.length === 0) return ok([history ? "(no operator has ended yet)" : "(no operator in flight)"]);
  return ok(operatorRows(ops, history));
}

/** `pd-cli scheduler list`. */
export async function schedulerListVerb(client: PdClient, flags: ClientFlags): Promise<VerbResult> {
  const list = await client.listSchedulers();
  if (flags.format === "json") return ok([toJson(list)]);
  return ok(table(["NAME", "PAUSED"], list.map((s) => [s.name, s.paused ? "yes" : "no"])));
}

/** `pd-cli scheduler pause NAME` / `resume NAME`. */
export async function schedulerPauseVerb(client: PdClient, flags: ClientFlags, name: string, paused: boolean): Promise<VerbResult> {
  const s = await client.setSchedulerPaused(name, paused);
  if (flags.format === "json") return ok([toJson(s)]);
  return ok([`${s.name} ${s.paused ? "paused" : "resumed"}`]);
}

/** The configuration in TiKV's `/config` shape (the parts `pd-cli` can read over gRPC). */
export function configJson(c: SchedulingConfig): unknown {
  const limits: Record<string, { "add-peer"?: number; "remove-peer"?: number }> = {};
  for (const o of c.storeLimits) {
    limits[o.storeId.toString()] = {
      ...(o.addPeerPerMin !== undefined && { "add-peer": o.addPeerPerMin }),
      ...(o.removePeerPerMin !== undefined && { "remove-peer": o.removePeerPerMin }),
    };
  }
  return {
    schedule: {
      "default-store-limit": { "add-peer": c.defaultStoreLimit.addPeerPerMin, "remove-peer": c.defaultStoreLimit.removePeerPerMin },
      "store-limit": limits,
      "paused-schedulers": c.pausedSchedulers,
    },
    replication: { "max-replicas": c.maxReplicas },
  };
}

function configLines(c: SchedulingConfig): string[] {
  const rows: string[][] = [
    ["max-replicas", String(c.maxReplicas)],
    ["store-limit (default)", `add-peer ${c.defaultStoreLimit.addPeerPerMin}/min, remove-peer ${c.defaultStoreLimit.removePeerPerMin}/min`],
  ];
  for (const o of c.storeLimits) {
    const parts = [
      ...(o.addPeerPerMin !== undefined ? [`add-peer ${o.addPeerPerMin}/min`] : []),
      ...(o.removePeerPerMin !== undefined ? [`remove-peer ${o.removePeerPerMin}/min`] : []),
    ];
    rows.push([`store-limit (store ${o.storeId})`, parts.join(", ")]);
  }
  rows.push(["paused-schedulers", c.pausedSchedulers.length === 0 ? "-" : c.pausedSchedulers.join(",")]);
  return table(["KEY", "VALUE"], rows);
}

/** `pd-cli config show`. */
export async function configShowVerb(client: PdClient, flags: ClientFlags): Promise<VerbResult> {
  const c = await client.getSchedulingConfig();
  return ok(flags.format === "json" ? [toJson(configJson(c))] : configLines(c));
}

/** What `pd-cli config set` changes. */
export type ConfigSetting =
  | { readonly key: "max-replicas"; readonly value: number }
  | { readonly key: "store-limit"; readonly rate: number; readonly storeId?: bigint; readonly type?: "add-peer" | "remove-peer" };

/**
 * `pd-cli config set max-replicas N` and `pd-cli config set store-limit RATE
 * [--store ID] [--type add-peer|remove-peer]`: without `--store` the default
 * limit (of every store without an override), with it that store's override
 * (0 removes it); both types unless `--type` says one.
 */
export async function configSetVerb(client: PdClient, flags: ClientFlags, setting: ConfigSetting): Promise<VerbResult> {
  let patch: SchedulingConfigChange;
  if (setting.key === "max-replicas") {
    patch = { maxReplicas: setting.value };
  } else if (setting.storeId === undefined) {
    const current = (await client.getSchedulingConfig()).defaultStoreLimit;
    patch = {
      defaultStoreLimit: {
        addPeerPerMin: setting.type === "remove-peer" ? current.addPeerPerMin : setting.rate,
        removePeerPerMin: setting.type === "add-peer" ? current.removePeerPerMin : setting.rate,
      },
    };
  } else {
    patch = {
      storeLimits: [
        {
          storeId: setting.storeId,
          ...(setting.type !== "remove-peer" && { addPeerPerMin: setting.rate }),
          ...(setting.type !== "add-peer" && { removePeerPerMin: setting.rate }),
        },
      ],
    };
  }
  const c = await client.setSchedulingConfig(patch);
  return ok(flags.format === "json" ? [toJson(configJson(c))] : configLines(c));
}
