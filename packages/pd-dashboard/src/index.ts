/**
 * `@nokv/pd-dashboard`: PD's live status page, prebuilt. The browser code
 * (Preact, uPlot, a canvas key-space map) is bundled at build time into
 * hashed files under `dist/www/`; this entry only reads them, for a server
 * to serve (`@nokv/pd-server` does, at `/dashboard/` of the status port), and
 * declares the JSON the page reads from PD's status API.
 *
 * @packageDocumentation
 */
export { DASHBOARD_ROOT, loadDashboardAssets } from "./assets/assets.js";
export type { DashboardAsset, DashboardAssets, DashboardManifest } from "./assets/assets.js";
export type {
  CompactRegionJson,
  DashboardClusterJson,
  DashboardCountersJson,
  DashboardHistoryJson,
  DashboardOperatorsJson,
  DashboardRegionChangesJson,
  DashboardRegionPageJson,
  DashboardSampleJson,
  DashboardSummaryJson,
} from "./api-types.js";
