import { join } from "node:path";
import type { Server } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check";
import { PROTO_DIR, PROTO_FILES } from "@nokv/pd-proto";

/** The gRPC service name of PD, as health checks and reflection know it. */
export const PD_SERVICE_NAME = "pb.PD";

/** The standard gRPC health service of one server, driven by PD's state. */
export interface HealthReporter {
  /** `SERVING` for `""` and `pb.PD` when true, `NOT_SERVING` otherwise; watchers hear only changes. */
  set(serving: boolean): void;
}

/**
 * Adds `grpc.health.v1.Health` (from grpc-health-check) to `server`, serving
 * from the start. Health checkers (`grpc_health_probe`, Kubernetes) ask it.
 */
export function addHealthService(server: Server): HealthReporter {
  const health = new HealthImplementation({ "": "SERVING", [PD_SERVICE_NAME]: "SERVING" });
  health.addToServer(server);
  let current = true;
  return {
    set(serving) {
      if (serving === current) return;
      current = serving;
      const s = serving ? "SERVING" : "NOT_SERVING";
      health.setStatus("", s);
      health.setStatus(PD_SERVICE_NAME, s);
    },
  };
}

/**
 * Adds gRPC server reflection (`grpc.reflection.v1` and `v1alpha`, from
 * @grpc/reflection) describing `pb.PD` and `grpc.health.v1.Health`, so that
 * grpcurl and similar tools can list and call PD without the `.proto` files.
 * The descriptors come from the `.proto` sources @nokv/pd-proto ships.
 */
export function addReflectionService(server: Server): void {
  const definition = loadSync([...PROTO_FILES.map((f) => join(PROTO_DIR, f)), healthProtoPath], {
    includeDirs: [PROTO_DIR],
  });
  new ReflectionService(definition).addToServer(server);
}
