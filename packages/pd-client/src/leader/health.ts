import type { HealthStatus } from "../types.js";

// The two messages of the standard gRPC health service (grpc.health.v1),
// encoded by hand: the client needs nothing else of that package.
//   message HealthCheckRequest  { string service = 1; }
//   message HealthCheckResponse { ServingStatus status = 1; }

/** The method path of `grpc.health.v1.Health/Check`. */
export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

const STATUSES: readonly HealthStatus[] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** Encodes `HealthCheckRequest { service }`. */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === "") return Buffer.alloc(0);
  const name = Buffer.from(service, "utf8");
  return Buffer.concat([Buffer.from([0x0a, ...varint(name.length)]), name]);
}

/**
 * Decodes `HealthCheckResponse` (unknown fields skipped).
 *
 * @throws Error on a malformed message.
 */
export function decodeHealthCheckResponse(buf: Buffer): HealthStatus {
  let status = 0;
  let i = 0;
  const readVarint = (): number => {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= buf.length) throw new Error("health response: truncated varint");
      const b = buf[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    throw new Error("health response: varint too long");
  };
  while (i < buf.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0: {
        const v = readVarint();
        if (field === 1) status = v;
        break;
      }
      case 1:
        i += 8;
        break;
      case 2:
        i += readVarint();
        break;
      case 5:
        i += 4;
        break;
      default:
        throw new Error(`health response: unsupported wire type ${tag & 7}`);
    }
  }
  if (i > buf.length) throw new Error("health response: truncated field");
  return STATUSES[status] ?? "UNKNOWN";
}
