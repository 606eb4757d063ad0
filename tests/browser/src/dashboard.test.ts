import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type PdProcess, useTestScope } from "@nokv/e2e/harness";
import { waitUntil } from "@nokv/testkit";
import type { PdClient } from "@nokv/pd-client";
import { type Leadership, PdError } from "@nokv/pd-core";
import type { TikvOperatorJson, TikvRegionPageJson, TikvStoreJson } from "@nokv/pd-model";
import { createPdServer } from "@nokv/pd-server";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchBrowser, type TestBrowser, type WatchedPage } from "./support/browser.js";
import { api, clientOf, region, statusUrl, storeHeartbeat } from "./support/cluster.js";

// The status page in Debian's Chromium against real `pd-cli pd` processes,
// driven by @nokv/pd-client. Every wait is for a condition, with a deadline.

const scope = useTestScope();
const { cleanup } = scope;
let browser: TestBrowser;

/** Where the test leaves its screenshot; `PD_DASHBOARD_SCREENSHOT` puts it elsewhere (the README's picture is made so). */
const SCREENSHOT = process.env.PD_DASHBOARD_SCREENSHOT ?? join(tmpdir(), "pd-dashboard-test.png");

beforeAll(async () => {
  browser = await launchBrowser();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});

async function startPd(extra: readonly string[] = [], dir?: string): Promise<{ pd: PdProcess; base: string; client: PdClient; dir: string }> {
  const workdir = dir ?? (await scope.workdir());
  const pd = await scope.startPd(["--addr", "127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--workdir", workdir, "--log-level", "warn", ...extra]);
  const client = clientOf(pd);
  cleanup.add(() => client.close());
  return { pd, base: statusUrl(pd), client, dir: workdir };
}

async function openPage(base: string): Promise<WatchedPage> {
  const w = await browser.newPage();
  cleanup.add(() => w.page.close());
  await w.page.goto(`${base}/`);
  return w;
}

/** Waits until the map has drawn `n` regions. */
async function mapHasRegions(page: Page, n: number): Promise<void> {
  await page.waitForFunction((want) => document.querySelector("[data-testid=keymap]")?.getAttribute("data-regions") === String(want), n, { timeout: 10_000 });
}

/** What a key-space slot should say: `region N` or a hole, and its range as the page prints it. */
function printable(hex: string, isEnd: boolean): string {
  if (hex === "") return isEnd ? "+inf" : '""';
  return JSON.stringify(Buffer.from(hex, "hex").toString("latin1"));
}
function expectedSlots(page: TikvRegionPageJson): string[][] {
  const rs = [...page.regions].sort((a, b) => (a.start_key < b.start_key ? -1 : 1));
  const out: string[][] = [];
  let cursor = "";
  for (const r of rs) {
    if (r.start_key > cursor) out.push(["hole: no region holds", `[${printable(cursor, false)}, ${printable(r.start_key, true)})`]);
    out.push([`region ${r.id}`, `[${printable(r.start_key, false)}, ${printable(r.end_key, true)})`]);
    cursor = r.end_key === "" ? "\uffff" : r.end_key;
  }
  if (cursor !== "\uffff") out.push(["hole: no region holds", `[${printable(cursor, false)}, +inf)`]);
  return out;
}

/** Hovers the centre of each slot of the fitted map and returns the tooltip's first two lines. */
async function slotTooltips(page: Page): Promise<string[][]> {
  const map = page.getByTestId("keymap");
  const box = (await map.boundingBox())!;
  const slots = Number(await map.getAttribute("data-slots"));
  const out: string[][] = [];
  for (let i = 0; i < slots; i++) {
    await page.mouse.move(box.x + ((i + 0.5) * box.width) / slots, box.y + 50);
    // The tooltip of this very slot: an earlier one may still be on screen until the page re-renders.
    const tip = page.locator(`[data-testid=keymap-tip][data-slots="${i}-${i + 1}"]`);
    await tip.waitFor({ timeout: 5000 }).catch(async (err: unknown) => {
      const shown = await page.getByTestId("keymap-tip").getAttribute("data-slots").catch(() => "none");
      const canvas = await map.evaluate((c) => ({ css: c.getBoundingClientRect().width, px: (c as HTMLCanvasElement).width, slots: c.dataset.slots }));
      throw new Error(`slot ${i}: the tooltip shows slots ${shown}; canvas ${JSON.stringify(canvas)}, box ${JSON.stringify(box)}`, { cause: err });
    });
    const lines = await tip.locator("div").allTextContents();
    out.push(lines.slice(0, 2));
  }
  await page.mouse.move(0, 0);
  return out;
}

/** The RGB of one CSS pixel of the map canvas. */
function pixel(page: Page, x: number, y: number): Promise<[number, number, number]> {
  return page.evaluate(
    ([px, py]) => {
      const c = document.querySelector<HTMLCanvasElement>("[data-testid=keymap]")!;
      const dpr = c.width / c.getBoundingClientRect().width;
      const d = c.getContext("2d")!.getImageData(Math.floor(px! * dpr), Math.floor(py! * dpr), 1, 1).data;
      return [d[0]!, d[1]!, d[2]!] as [number, number, number];
    },
    [x, y],
  );
}

async function storeRows(page: Page): Promise<Array<{ id: string; state: string; regions: string; leaders: string }>> {
  return page.getByTestId("stores").locator("tbody tr").evaluateAll((rows) =>
    rows.map((r) => ({
      id: r.getAttribute("data-store-id") ?? "",
      state: r.querySelector("[data-testid=store-state]")?.textContent ?? "",
      regions: r.querySelector("[data-testid=store-regions]")?.textContent ?? "",
      leaders: r.querySelector("[data-testid=store-leaders]")?.textContent ?? "",
    })),
  );
}

// Without Chromium the suite is skipped on a developer's machine, never in CI (CI=true), where a missing browser must fail.
describe.skipIf(!hasChromium() && process.env.CI !== "true")("the status page in Chromium", () => {
  it("loads without console errors, shows the stores and regions the API has, picks up a new region without a reload, and only reads", async () => {
    const { base, client } = await startPd();
    for (const [id, leaders] of [[1n, 2n], [2n, 1n], [3n, 1n]] as const) await storeHeartbeat(client, id, 4n, leaders);
    // Four regions and a hole between "n" and "t".
    await client.regionHeartbeat(region(10n, "", "c", [1n, 2n, 3n]));
    await client.regionHeartbeat(region(11n, "c", "h", [1n, 2n, 3n]));
    await client.regionHeartbeat(region(12n, "h", "n", [1n, 2n, 3n]));
    await client.regionHeartbeat(region(13n, "t", "", [1n, 2n, 3n]));
    await client.getTimestamps(10n);

    const w = await openPage(base);
    const { page } = w;
    expect(page.url()).toBe(`${base}/dashboard/`);
    await mapHasRegions(page, 4);

    // The stores table is the API's /stores.
    const stores = await api<{ stores: TikvStoreJson[] }>(base, "stores");
    await waitUntil("the table to show every store", async () => (await storeRows(page)).length === stores.stores.length);
    expect(await storeRows(page)).toEqual(
      stores.stores.map((s) => ({ id: s.store.id, state: s.store.state_name, regions: s.status.region_count, leaders: s.status.leader_count })),
    );
    // The map is the API's /regions: every region in key order, the hole where no region is.
    const regions = await api<TikvRegionPageJson>(base, "regions?limit=1000");
    expect(regions.count).toBe(4);
    expect(await page.getByTestId("keymap").getAttribute("data-holes")).toBe("1");
    const want = expectedSlots(regions);
    expect(want.map((l) => l[0])).toEqual(["region 10", "region 11", "region 12", "hole: no region holds", "region 13"]);
    expect(await slotTooltips(page)).toEqual(want);
    // The hole is red in the marks lane; a region slot is not.
    const box = (await page.getByTestId("keymap").boundingBox())!;
    expect(await pixel(page, (3.5 * box.width) / 5, 5)).toEqual([214, 39, 40]);
    expect(await pixel(page, (0.5 * box.width) / 5, 5)).not.toEqual([214, 39, 40]);
    expect(await page.getByTestId("region-count").textContent()).toBe("4");

    // A region heartbeat that fills part of the hole appears without a reload.
    await client.regionHeartbeat(region(14n, "n", "q", [1n, 2n, 3n]));
    await mapHasRegions(page, 5);
    const after = await slotTooltips(page);
    expect(after.map((l) => l[0])).toEqual(["region 10", "region 11", "region 12", "region 14", "hole: no region holds", "region 13"]);
    expect(after[3]).toEqual(["region 14", '["n", "q")']);
    await waitUntil("the header to count 5 regions", async () => (await page.getByTestId("region-count").textContent()) === "5");

    // Zoom and pan: "+" narrows the slots on screen, the wheel zooms further, dragging moves them, "fit" shows all again.
    const showing = async () => /showing slots (\d+)–(\d+) of (\d+)/.exec((await page.getByTestId("map-summary").textContent()) ?? "")!.slice(1).map(Number);
    expect(await showing()).toEqual([1, 6, 6]);
    await page.getByRole("button", { name: "+" }).click();
    const zoomed = await showing();
    expect(zoomed[1]! - zoomed[0]!).toBeLessThan(5);
    const mapBox = (await page.getByTestId("keymap").boundingBox())!;
    await page.mouse.move(mapBox.x + mapBox.width - 10, mapBox.y + 50);
    await page.mouse.down();
    await page.mouse.move(mapBox.x + mapBox.width / 2, mapBox.y + 50, { steps: 4 });
    await page.mouse.up();
    const panned = await showing();
    expect(panned[0]).toBeGreaterThan(zoomed[0]!);
    await page.getByRole("button", { name: "fit" }).click();
    expect(await showing()).toEqual([1, 6, 6]);

    // The allocators: the last TSO is shown as wall-clock time today.
    const tso = (await page.getByTestId("tso-last").textContent()) ?? "";
    const shown = /^(\d{4})-(\d{2})-(\d{2}) \d{2}:\d{2}:\d{2}\.\d{3}/.exec(tso);
    expect(shown, tso).not.toBeNull();
    // The viewer's time zone: within a day of now, whatever it is.
    expect(Math.abs(Date.UTC(Number(shown![1]), Number(shown![2]) - 1, Number(shown![3])) - Date.now())).toBeLessThan(2 * 86_400_000);

    // Let a few samples arrive for the sparklines and charts, then take the picture.
    await waitUntil("three samples", async () => (await api<{ history: { seq: number } }>(base, "dashboard/summary?since=1000000")).history.seq >= 3);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(png.length).toBeGreaterThan(20_000);

    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    // Read-only: the page made GET requests only, all to PD's own origin.
    expect(w.requests.length).toBeGreaterThan(5);
    expect(w.requests.filter((r) => r.method !== "GET" || !r.url.startsWith(`${base}/`))).toEqual([]);
  }, 40_000);

  it("shows the scheduler's operators as the API lists them: a leader transfer in flight, then ended with its outcome", async () => {
    const { base, client } = await startPd();
    await client.regionHeartbeat(region(20n, "", "m", [1n, 2n]));
    await client.regionHeartbeat(region(21n, "m", "", [1n, 2n]));
    await storeHeartbeat(client, 2n, 2n, 0n);
    await storeHeartbeat(client, 1n, 2n, 2n); // two leaders against none: PD plans one transfer from store 1 to 2
    const inFlight = await api<TikvOperatorJson[]>(base, "operators?object=1");
    expect(inFlight).toHaveLength(1);
    const regionId = inFlight[0]!.region_id;

    const w = await openPage(base);
    const { page } = w;
    const rows = (testid: string) =>
      page.getByTestId(testid).locator("tbody tr").evaluateAll((trs) =>
        trs.map((tr) => ({
          region: tr.getAttribute("data-region-id"),
          cells: [...tr.querySelectorAll("td")].map((td) => td.textContent ?? ""),
        })),
      );
    await waitUntil("the operator in flight on the page", async () => (await rows("ops-in-flight").catch(() => [])).length === 1);
    const [row] = await rows("ops-in-flight");
    expect(row!.region).toBe(regionId);
    expect(row!.cells.slice(1, 4)).toEqual(["balance-leader", "transfer leader from store 1 to store 2", "running"]);
    expect(await page.getByTestId("operators-in-flight").textContent()).toBe("1 in flight");

    // Store 1 reports one leader fewer: the transfer took effect, and the page moves it to the recent ones.
    await storeHeartbeat(client, 1n, 2n, 1n);
    await waitUntil("the ended operator on the page", async () => (await rows("ops-recent").catch(() => [])).length === 1);
    const [ended] = await rows("ops-recent");
    expect(ended!.region).toBe(regionId);
    expect(ended!.cells[3]).toBe("success");
    expect(await page.getByTestId("ops-in-flight").textContent()).toBe("Nothing in flight.");
    await waitUntil("the counts by outcome", async () => /1 create, 1 success/.test((await page.getByTestId("op-counters").textContent()) ?? ""));
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
  }, 30_000);

  it("turns a store that stops heart-beating Disconnected, as the API does", async () => {
    const { base, client } = await startPd(["--store-disconnected-after-ms", "1500"]);
    await storeHeartbeat(client, 1n, 1n, 1n);
    await storeHeartbeat(client, 2n, 1n, 0n);
    await client.regionHeartbeat(region(20n, "", "", [1n, 2n]));
    // Store 1 keeps beating; store 2 falls silent.
    const beat = setInterval(() => void storeHeartbeat(client, 1n, 1n, 1n).catch(() => undefined), 300);
    cleanup.add(() => clearInterval(beat));
    const { page, consoleErrors } = await openPage(base);
    await mapHasRegions(page, 1);
    const row = (id: string) => page.locator(`[data-testid=stores] tr[data-store-id="${id}"] [data-testid=store-state]`);
    await waitUntil("store 2 to turn Disconnected", async () => (await row("2").textContent()) === "Disconnected", 10_000);
    expect(await row("2").getAttribute("class")).toContain("live-disconnected");
    expect(await row("1").textContent()).toBe("Up");
    const stores = await api<{ stores: TikvStoreJson[] }>(base, "stores");
    expect(stores.stores.map((s) => s.store.state_name)).toEqual(["Up", "Disconnected"]);
    expect(consoleErrors).toEqual([]);
  }, 30_000);

  it("shows a banner while PD is down and clears it by itself once PD is back on the same address", async () => {
    const first = await startPd();
    await storeHeartbeat(first.client, 1n, 2n, 2n);
    await first.client.regionHeartbeat(region(30n, "", "m", [1n]));
    await first.client.regionHeartbeat(region(31n, "m", "", [1n]));
    const { page, pageErrors, consoleErrors } = await openPage(first.base);
    await mapHasRegions(page, 2);
    const banner = page.getByTestId("connection-banner");
    expect(await banner.count()).toBe(0);
    const nameBefore = await page.getByTestId("member-name").textContent();

    expect(await first.pd.stop("SIGTERM")).toBe(0);
    await banner.waitFor({ state: "visible", timeout: 10_000 });
    expect(await banner.textContent()).toMatch(/Lost connection to PD/);

    // The same ports and workdir: what was acknowledged is back, and the page finds it by itself.
    const grpcPort = first.pd.addr.split(":")[1]!;
    const statusPort = new URL(first.base).port;
    const second = await scope.startPd(["--addr", `127.0.0.1:${grpcPort}`, "--status-addr", `127.0.0.1:${statusPort}`, "--workdir", first.dir, "--log-level", "warn"]);
    expect(statusUrl(second)).toBe(first.base);
    await banner.waitFor({ state: "detached", timeout: 15_000 });
    await mapHasRegions(page, 2);
    expect(await page.getByTestId("member-name").textContent()).toBe(nameBefore);
    expect(pageErrors).toEqual([]);
    // While PD was down the browser logged the refused requests, and nothing else.
    expect(consoleErrors.filter((e) => !/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/.test(e))).toEqual([]);
  }, 40_000);

  it("works behind the status port's mutual TLS, for a client certificate whose CN is allowed", async () => {
    const dir = await scope.workdir();
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ca");
    for (const [name, ext] of [["pd", "subjectAltName=IP:127.0.0.1\n"], ["viewer", undefined]] as const) {
      ssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      if (ext !== undefined) writeFileSync(join(dir, `${name}.ext`), ext);
      ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", ...(ext === undefined ? [] : ["-extfile", `${name}.ext`]));
    }
    const pd = await scope.startPd([
      "--addr", "127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--log-level", "warn",
      "--cert", join(dir, "pd.crt"), "--key", join(dir, "pd.key"), "--cacert", join(dir, "ca.crt"), "--cert-allowed-cn", "viewer",
    ]);
    const base = statusUrl(pd);
    expect(base).toMatch(/^https:/);
    const tlsBrowser = await launchBrowser({
      ignoreHTTPSErrors: true,
      clientCertificates: [{ origin: base, cert: readFileSync(join(dir, "viewer.crt")), key: readFileSync(join(dir, "viewer.key")) }],
    });
    cleanup.add(() => tlsBrowser.close());
    const w = await tlsBrowser.newPage();
    await w.page.goto(`${base}/`);
    await w.page.getByTestId("member-role").waitFor();
    expect(await w.page.getByTestId("member-role").textContent()).toBe("leader");
    await mapHasRegions(w.page, 0);
    expect(await w.page.getByTestId("keymap").getAttribute("data-holes")).toBe("1"); // an empty catalog: one hole over everything
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
  }, 40_000);
});

describe.skipIf(!hasChromium() && process.env.CI !== "true")("the status page on a member that follows", () => {
  it("says which member leads and shows no cluster data, without errors", async () => {
    // A member of a PD cluster that does not lead: members() answers, serving() redirects (as an elected member's does).
    const leader = { name: "pd-1", advertiseAddr: "127.0.0.1:2379", isLeader: true };
    const self = { name: "pd-2", advertiseAddr: "127.0.0.1:3379", isLeader: false };
    const follower: Leadership = {
      name: self.name,
      open: async () => undefined,
      start: async () => undefined,
      serving() {
        throw new PdError("NOT_LEADER", `${self.name} is not the leader`, { leaderAddr: leader.advertiseAddr });
      },
      members: () => ({ members: [leader, self], leader }),
      close: async () => undefined,
    };
    const server = await createPdServer({ addr: "127.0.0.1:0", statusAddr: "127.0.0.1:0", leadership: follower });
    cleanup.add(() => server.close());
    const w = await openPage(`http://${server.statusAddress}`);
    const notice = w.page.getByTestId("follower-notice");
    await notice.waitFor();
    expect(await notice.locator("h2").textContent()).toBe("This member follows pd-1");
    expect(await w.page.getByTestId("member-role").textContent()).toBe("follower");
    expect(await w.page.getByTestId("members").textContent()).toContain("pd-1 127.0.0.1:2379leader");
    expect(await w.page.getByTestId("keymap").count()).toBe(0);
    expect(await w.page.getByTestId("stores").count()).toBe(0);
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
  }, 20_000);
});
