import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, type BrowserContextOptions, chromium, type Page } from "playwright-core";

/** Debian's Chromium (`apt-get install chromium`); playwright-core downloads no browser of its own. */
export const CHROMIUM = process.env.PD_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Chromium's flags here: headless without a GPU or sandbox (containers), and
 * none of the background connections (QUIC, component updates, sync…) a
 * closed network refuses.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/** True when the browser is installed (`scripts/ensure-chromium.sh` installs it). */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** A browser with a fresh profile in a temp directory, removed on `close()`. */
export interface TestBrowser {
  readonly context: BrowserContext;
  /** A new tab that records console errors and uncaught page errors. */
  newPage(): Promise<WatchedPage>;
  close(): Promise<void>;
}

/** A tab and what went wrong in it. */
export interface WatchedPage {
  readonly page: Page;
  /** `console.error` messages and failed resource loads, as the console shows them. */
  readonly consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  readonly pageErrors: string[];
  /** Every request the page made: method and URL. */
  readonly requests: Array<{ method: string; url: string }>;
}

/** Launches Chromium with {@link CHROMIUM_ARGS} and a fresh `--user-data-dir`. */
export async function launchBrowser(options: BrowserContextOptions = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "pd-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1280, height: 900 },
      ...options,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const watched: WatchedPage = { page, consoleErrors: [], pageErrors: [], requests: [] };
      page.on("console", (m) => {
        if (m.type() === "error") watched.consoleErrors.push(m.text());
      });
      page.on("pageerror", (e) => watched.pageErrors.push(String(e)));
      page.on("request", (r) => watched.requests.push({ method: r.method(), url: r.url() }));
      return watched;
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
