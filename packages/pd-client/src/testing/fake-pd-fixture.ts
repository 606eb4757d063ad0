import { type FakePd, type FakePdOptions, startFakePd } from "@nokv/testkit";
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

/** What {@link useFakePds} gives a test file. */
export interface FakePdsFixture {
  /** Starts a fake PD with `options`, stopped after the test. */
  fakePd(options?: FakePdOptions): Promise<FakePd>;
  /** A client of `pd` with fast back-off (and `options`), closed after the test. */
  client(pd: FakePd, options?: Partial<PdClientOptions>): PdClient;
  /** Things to do after the test before its clients close (release a held call). */
  readonly releases: Array<() => void>;
}

/**
 * For test files whose tests each start their own fake PDs (with options, or
 * several): after each test, runs the pending releases, closes the clients
 * made with `client()` and stops the fakes. Call at the top level of a test file.
 */
export function useFakePds(): FakePdsFixture {
  const servers: FakePd[] = [];
  const open: PdClient[] = [];
  const releases: Array<() => void> = [];
  afterEach(async () => {
    for (const release of releases.splice(0)) release();
    for (const c of open.splice(0)) c.close();
    for (const s of servers.splice(0)) await s.close();
  });
  return {
    async fakePd(options = {}) {
      const pd = await startFakePd(options);
      servers.push(pd);
      return pd;
    },
    client(pd, options = {}) {
      const c = createPdClient({ addr: pd.addr, retry: { initialBackoffMs: 1, maxBackoffMs: 5 }, ...options });
      open.push(c);
      return c;
    },
    releases,
  };
}
