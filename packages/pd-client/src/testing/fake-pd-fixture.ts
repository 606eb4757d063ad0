import { type FakePd, startFakePd } from "@nokv/testkit";
import { afterEach, beforeEach } from "vitest";
import { createPdClient, type PdClient, type PdClientOptions } from "../client.js";

/** What {@link useFakePd} gives a test file. */
export interface FakePdFixture {
  /** The fake PD of the running test (a fresh one per test). */
  readonly pd: FakePd;
  /** A client of the fake PD with fast back-off (and `options`), closed after the test. */
  client(options?: Partial<PdClientOptions>): PdClient;
  /** Closes `client` after the test too (a client made with other options). */
  track(client: PdClient): PdClient;
  /** Closes the test's clients now (before stopping another fake the test started). */
  closeClients(): void;
  /** Things to do after the test before its clients close (release a held call). */
  readonly releases: Array<() => void>;
}

/**
 * Starts a fake PD before each test of the file (`seed` may fill it) and,
 * after each test, runs the pending releases, closes the clients made with
 * `client()` and stops the fake. Call at the top level of a test file.
 */
export function useFakePd(seed?: (pd: FakePd) => void): FakePdFixture {
  let current: FakePd | undefined;
  const open: PdClient[] = [];
  const releases: Array<() => void> = [];
  beforeEach(async () => {
    current = await startFakePd();
    seed?.(current);
  });
  afterEach(async () => {
    for (const release of releases.splice(0)) release();
    for (const c of open.splice(0)) c.close();
    await current?.close();
  });
  return {
    get pd() {
      if (current === undefined) throw new Error("useFakePd: the fake PD exists only inside a test");
      return current;
    },
    client(options = {}) {
      const c = createPdClient({ addr: this.pd.addr, retry: { initialBackoffMs: 1, maxBackoffMs: 5 }, ...options });
      open.push(c);
      return c;
    },
    track(client) {
      open.push(client);
      return client;
    },
    closeClients() {
      for (const c of open.splice(0)) c.close();
    },
    releases,
  };
}
