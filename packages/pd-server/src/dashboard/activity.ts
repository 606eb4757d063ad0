import type { DashboardCountersJson } from "@nokv/pd-dashboard";
import type { Registry } from "prom-client";

/** The metrics the status page's activity panels read, by name (the Grafana dashboard uses the same names). */
export const ACTIVITY_METRICS = [
  "pd_tso_batch_size",
  "pd_tso_timestamps_total",
  "pd_id_batch_size",
  "pd_id_allocated_total",
  "pd_heartbeats_total",
  "pd_storage_append_edits",
  "pd_storage_append_duration_seconds",
  "pd_grpc_requests_total",
] as const;

interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly metricName?: string;
}

async function samples(registry: Registry, name: string): Promise<readonly Sample[]> {
  const m = registry.getSingleMetric(name);
  if (m === undefined) return [];
  return ((await m.get()) as { values: Sample[] }).values;
}

function single(values: readonly Sample[], metricName?: string): number {
  let n = 0;
  for (const v of values) if (metricName === undefined || v.metricName === metricName) n += v.value;
  return n;
}

/**
 * Reads the cumulative values of the activity metrics from PD's Prometheus
 * registry: the very counters `/metrics` exposes, so the page and a scrape
 * never disagree. The local-file store's counters are null on other stores.
 */
export async function readActivityCounters(registry: Registry): Promise<DashboardCountersJson> {
  const [tsoBatch, tsoTotal, idBatch, idTotal, heartbeats, edits, appendSeconds, requests, logAppends, logSyncs] = await Promise.all([
    ...ACTIVITY_METRICS.map((n) => samples(registry, n)),
    samples(registry, "pd_storage_log_appends_total"),
    samples(registry, "pd_storage_log_syncs_total"),
  ]);
  const byKind: Record<string, number> = {};
  for (const v of heartbeats!) byKind[`${v.labels.type}/${v.labels.result}/${v.labels.reason}`] = v.value;
  const buckets: Record<string, number> = {};
  for (const v of appendSeconds!) if (v.metricName === "pd_storage_append_duration_seconds_bucket") buckets[String(v.labels.le)] = v.value;
  const hasLog = registry.getSingleMetric("pd_storage_log_syncs_total") !== undefined;
  return {
    tso_requests: single(tsoBatch!, "pd_tso_batch_size_count"),
    tso_timestamps: single(tsoTotal!),
    id_requests: single(idBatch!, "pd_id_batch_size_count"),
    ids: single(idTotal!),
    heartbeats: byKind,
    append_edits_sum: single(edits!, "pd_storage_append_edits_sum"),
    append_count: single(edits!, "pd_storage_append_edits_count"),
    append_seconds_sum: single(appendSeconds!, "pd_storage_append_duration_seconds_sum"),
    append_seconds_buckets: buckets,
    log_appends: hasLog ? single(logAppends!) : null,
    log_syncs: hasLog ? single(logSyncs!) : null,
    grpc_requests: single(requests!),
  };
}
