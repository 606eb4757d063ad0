import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../config-error.js";
import { loadConfig } from "./load-config.js";
import type { ConfigWarning } from "./validate-config.js";

const EXAMPLE = fileURLToPath(new URL("../../raft_config.example.json", import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nokv-config-load-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadError(path: string): Promise<ConfigError> {
  try {
    await loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${path} to be rejected`);
}

describe("loadConfig", () => {
  it("loads and validates the shipped example", async () => {
    const cfg = await loadConfig(EXAMPLE);
    expect(cfg.stores).toHaveLength(3);
    expect(cfg.regions.map((r) => r.id)).toEqual([1n, 2n]);
  });

  it("reports a missing file as READ_FAILED with the path and the cause", async () => {
    const path = join(dir, "missing.json");
    const err = await loadError(path);
    expect(err.code).toBe("READ_FAILED");
    expect(err.message).toBe(`config: cannot read ${path}: no such file or directory`);
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("reports a directory as READ_FAILED", async () => {
    expect((await loadError(dir)).message).toBe(`config: cannot read ${dir}: is a directory`);
  });

  it("names the file in parse errors", async () => {
    const path = join(dir, "broken.json");
    await writeFile(path, "{");
    const err = await loadError(path);
    expect(err.code).toBe("MALFORMED_JSON");
    expect(err.message).toContain(`config: ${path}: invalid JSON at line 1 column 2`);
  });

  it("validates what it loads", async () => {
    const path = join(dir, "dup.json");
    await writeFile(path, '{"stores": [{"store_id": 1}, {"store_id": 1}]}');
    const err = await loadError(path);
    expect(err.code).toBe("INVALID_CONFIG");
    expect(err.message).toBe("config: store 1: duplicate store_id (stores[0] and stores[1])");
  });

  it("loads what Go's nokv-config accepts, handing the rest to onWarning, or rejecting it in a strict section", async () => {
    const path = join(dir, "inverted.json");
    await writeFile(path, '{"stores": [{"store_id": 1}], "regions": [{"id": 2, "start_key": "m", "end_key": "a", "peers": [{"store_id": 1, "peer_id": 5}]}]}');
    const warnings: ConfigWarning[] = [];
    const cfg = await loadConfig(path, { onWarning: (w) => warnings.push(w) });
    expect(cfg.regions.map((r) => [r.id, r.startKey, r.endKey])).toEqual([[2n, "m", "a"]]);
    expect(warnings).toEqual([{ section: "regions", message: 'config: region 2: start_key "m" must be < end_key "a"' }]);
    await expect(loadConfig(path, { strict: ["regions"], onWarning: () => undefined })).rejects.toMatchObject({
      code: "INVALID_CONFIG",
      message: 'config: region 2: start_key "m" must be < end_key "a"',
    });
  });
});

