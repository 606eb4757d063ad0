import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { createPdClient, type PdClient } from "@nokv/pd-client";
import type { OperatorInfo, RegionHeartbeat, SchedulerOperation, SchedulingConfig, SchedulingConfigPatch, StoreHeartbeat } from "@nokv/pd-model";
import {
  operationFromWire,
  operatorInfoFromWire,
  PDClient,
  PDSchedulingClient,
  regionHeartbeatToWire,
  schedulingConfigFromWire,
  schedulingPatchToWire,
  type SchedulingConfig as WireSchedulingConfig,
  storeHeartbeatToWire,
} from "@nokv/pd-proto";

/**
 * How the simulated stores talk to PD. Everything NoKV's wire already had
 * goes through `@nokv/pd-client`, as a store would. What pd-client cannot
 * send yet — a store heartbeat's capabilities and extras, a region
 * heartbeat's extras — goes through the generated client with pd-proto's
 * conversions: exactly the calls pd-client must learn (see the README).
 */
export interface PdLink {
  /** A store heartbeat; PD's operations for the store. */
  storeHeartbeat(hb: StoreHeartbeat): Promise<readonly SchedulerOperation[]>;
  /** A region heartbeat (with what its leader reports, when it does). */
  regionHeartbeat(hb: RegionHeartbeat): Promise<void>;
  /** A run of `count` new ids (peer and region ids of splits). */
  allocIds(count: bigint): Promise<bigint>;
  /** `pb.PDScheduling`. */
  setSchedulingConfig(patch: Omit<SchedulingConfigPatch, "paused">): Promise<SchedulingConfig>;
  listOperators(history: boolean): Promise<OperatorInfo[]>;
  close(): void;
}

function unary<Res>(client: object, method: string, req: unknown, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client as Record<string, Function>)[method]!.call(client, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

/** A {@link PdLink} to the PD at `addr` (plaintext, loopback). */
export function createPdLink(addr: string, timeoutMs = 10_000): PdLink {
  const client: PdClient = createPdClient({ addr, timeoutMs, routeCache: false, tsoBatching: false });
  const raw = new PDClient(addr, credentials.createInsecure());
  const control = new PDSchedulingClient(addr, credentials.createInsecure());
  return {
    async storeHeartbeat(hb) {
      if (hb.capabilities === undefined && hb.usedSize === undefined && hb.bytesWritten === undefined && hb.keysWritten === undefined) {
        return (await client.storeHeartbeat(hb)).operations;
      }
      const res = await unary<{ operations: Parameters<typeof operationFromWire>[0][] }>(raw, "storeHeartbeat", storeHeartbeatToWire(hb), timeoutMs);
      return res.operations.map(operationFromWire);
    },
    async regionHeartbeat(hb) {
      const { region, ...extras } = hb;
      if (Object.keys(extras).length === 0) {
        await client.regionHeartbeat(region);
        return;
      }
      await unary(raw, "regionHeartbeat", regionHeartbeatToWire(hb), timeoutMs);
    },
    async allocIds(count) {
      return (await client.allocId(count)).firstId;
    },
    async setSchedulingConfig(patch) {
      const res = await unary<{ config: WireSchedulingConfig }>(control, "setSchedulingConfig", schedulingPatchToWire(patch), timeoutMs);
      return schedulingConfigFromWire(res.config);
    },
    async listOperators(history) {
      const res = await unary<{ operators: Parameters<typeof operatorInfoFromWire>[0][] }>(control, "listOperators", { history }, timeoutMs);
      return res.operators.map(operatorInfoFromWire);
    },
    close() {
      client.close();
      raw.close();
      control.close();
    },
  };
}
