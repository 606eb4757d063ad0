import { DEFAULT_SCHEDULING_CONFIG, MAX_UINT64, type SchedulingConfig } from "@nokv/pd-model";
import { describe, expect, it } from "vitest";
import { decodeSchedulingConfig, encodeSchedulingConfig } from "./scheduling-config-codec.js";

describe("scheduling config record", () => {
  it("round-trips, store ids above 2^53 exactly, in a stable text", () => {
    const c: SchedulingConfig = {
      maxReplicas: 5,
      defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 7.5 },
      storeLimits: [{ storeId: 2n, addPeerPerMin: 30 }, { storeId: MAX_UINT64, removePeerPerMin: 1 }],
      pausedSchedulers: ["balance-leader-scheduler", "replica-checker"],
    };
    const text = encodeSchedulingConfig(c);
    expect(decodeSchedulingConfig(text, "f")).toEqual(c);
    expect(text).toContain('"store_id":"18446744073709551615"');
    expect(decodeSchedulingConfig(encodeSchedulingConfig(DEFAULT_SCHEDULING_CONFIG), "f")).toEqual(DEFAULT_SCHEDULING_CONFIG);
  });

  it.each([
    ["{", /not JSON/],
    ["[]", /not a JSON object/],
    ['{"version":2}', /unknown version 2/],
    ['{"version":1,"max_replicas":3,"store_limits":[],"paused_schedulers":[]}', /default_store_limit is missing/],
    ['{"version":1,"max_replicas":0,"default_store_limit":{"add_peer_per_min":1,"remove_peer_per_min":1},"store_limits":[],"paused_schedulers":[]}', /max-replicas/],
    ['{"version":1,"max_replicas":3,"default_store_limit":{"add_peer_per_min":1,"remove_peer_per_min":1},"store_limits":[{"store_id":4}],"paused_schedulers":[]}', /store_id is not a decimal/],
    ['{"version":1,"max_replicas":3,"default_store_limit":{"add_peer_per_min":1,"remove_peer_per_min":1},"store_limits":[],"paused_schedulers":["x"]}', /unknown scheduler/],
  ])("refuses %s, naming the record", (text, why) => {
    expect(() => decodeSchedulingConfig(text, "/w/SCHEDULING.json")).toThrow(why);
    try {
      decodeSchedulingConfig(text, "/w/SCHEDULING.json");
    } catch (err) {
      expect(err).toMatchObject({ code: "STORAGE", message: expect.stringContaining("/w/SCHEDULING.json") });
    }
  });
});
