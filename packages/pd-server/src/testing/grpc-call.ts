import { PD_ERROR_CODE_TRAILER } from "@nokv/pd-model";
import { type Client, Metadata, type ServiceError, type status } from "@grpc/grpc-js";

/** Calls a unary method of a generated grpc-js client as a promise (tests only). */
export function call<Req, Res>(pd: Client, method: string, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    (pd as unknown as Record<string, (r: Req, m: Metadata, cb: (e: ServiceError | null, r: Res) => void) => void>)[method]!.call(
      pd,
      req,
      new Metadata(),
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

/** Awaits a call that must fail; returns its gRPC status, PD error code and message. */
export async function failure(p: Promise<unknown>): Promise<{ status: status; code: string | undefined; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    return { status: e.code, code: e.metadata?.get(PD_ERROR_CODE_TRAILER)[0] as string | undefined, details: e.details };
  }
  throw new Error("expected the call to fail");
}
