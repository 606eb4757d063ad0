import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { PD_ERROR_CODES } from "@nokv/pd-model";
import { encodePdError } from "@nokv/pd-proto";
import { describe, expect, it } from "vitest";
import { PD_SERVER_ERROR_CODES, PdClientError, codeFromStatus, fromServiceError, isRetryableStatus } from "./errors.js";

function serviceError(code: status, trailers: Record<string, string> = {}, details = "boom"): ServiceError {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata });
}

describe("fromServiceError", () => {
  it("takes the code from the pd-error-code trailer, not from the message", () => {
    const err = fromServiceError(
      serviceError(status.FAILED_PRECONDITION, { "pd-error-code": "RANGE_OVERLAP" }, "STALE_EPOCH in text"),
      "RegionHeartbeat",
      "h:1",
    );
    expect(err).toBeInstanceOf(PdClientError);
    expect(err.code).toBe("RANGE_OVERLAP");
    expect(err.status).toBe(status.FAILED_PRECONDITION);
    expect(err.retryable).toBe(false);
    expect(err.method).toBe("RegionHeartbeat");
    expect(err.endpoint).toBe("h:1");
    expect(err.message).toContain("h:1");
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("decodes every code the server can encode, PERMISSION_DENIED included, with the server's status", () => {
    // The server encodes from @nokv/pd-model's list: a code the client could not decode would fail here.
    for (const code of PD_ERROR_CODES) {
      const sent = encodePdError(code, "why", "10.0.0.9:2379");
      const err = fromServiceError(Object.assign(new Error("x"), { code: sent.code, details: sent.details, metadata: sent.metadata }), "Tso", "h:1");
      expect(err.code, code).toBe(code);
      expect(err.status, code).toBe(sent.code);
      if (code === "NOT_LEADER") expect(err.leaderAddr).toBe("10.0.0.9:2379");
    }
    // And without the trailer (a proxy), a refused certificate is still PERMISSION_DENIED, not INTERNAL.
    expect(fromServiceError(serviceError(status.PERMISSION_DENIED), "Tso", "h:1").code).toBe("PERMISSION_DENIED");
  });

  it("passes every server code through", () => {
    for (const code of PD_SERVER_ERROR_CODES) {
      expect(fromServiceError(serviceError(status.INTERNAL, { "pd-error-code": code }), "Tso", "h:1").code).toBe(code);
    }
  });

  it("derives the code from the status when the trailer is absent or unknown", () => {
    expect(fromServiceError(serviceError(status.OUT_OF_RANGE), "AllocID", "h:1").code).toBe("ALLOCATOR_EXHAUSTED");
    expect(
      fromServiceError(serviceError(status.UNAVAILABLE, { "pd-error-code": "SOMETHING_NEW" }), "Tso", "h:1").code,
    ).toBe("UNAVAILABLE");
    expect(codeFromStatus(status.INVALID_ARGUMENT)).toBe("INVALID_ARGUMENT");
    expect(codeFromStatus(status.FAILED_PRECONDITION)).toBe("STALE_EPOCH");
    expect(codeFromStatus(status.DEADLINE_EXCEEDED)).toBe("DEADLINE_EXCEEDED");
    expect(codeFromStatus(status.CANCELLED)).toBe("UNAVAILABLE"); // not this caller's abort: the server's
    expect(codeFromStatus(status.UNKNOWN)).toBe("INTERNAL");
    expect(codeFromStatus(status.DATA_LOSS)).toBe("INTERNAL");
  });

  it("reads the leader address of NOT_LEADER", () => {
    const err = fromServiceError(
      serviceError(status.UNAVAILABLE, { "pd-error-code": "NOT_LEADER", "pd-leader-addr": "10.0.0.2:2379" }),
      "Tso",
      "h:1",
    );
    expect(err.code).toBe("NOT_LEADER");
    expect(err.leaderAddr).toBe("10.0.0.2:2379");
    expect(err.retryable).toBe(true);
  });

  it("never marks INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE retryable", () => {
    for (const s of Object.values(status).filter((v): v is status => typeof v === "number")) {
      const expected = s === status.UNAVAILABLE || s === status.DEADLINE_EXCEEDED || s === status.ABORTED;
      expect(isRetryableStatus(s), status[s]).toBe(expected);
    }
  });
});

describe("every gRPC status without a trailer", () => {
  // The deliberate mapping, one row per status of the gRPC spec (the README
  // table says the same). A status added to grpc-js fails the length check.
  const table: ReadonlyArray<readonly [status, string, boolean]> = [
    [status.OK, "INTERNAL", false], // a failed call never carries OK: a broken peer
    [status.CANCELLED, "UNAVAILABLE", true], // cancelled by the server or a proxy, not by this caller
    [status.UNKNOWN, "INTERNAL", false],
    [status.INVALID_ARGUMENT, "INVALID_ARGUMENT", false],
    [status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", true],
    [status.NOT_FOUND, "UNIMPLEMENTED", false], // no such service or method here: not a PD
    [status.ALREADY_EXISTS, "INTERNAL", false],
    [status.PERMISSION_DENIED, "PERMISSION_DENIED", false],
    [status.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", false], // message above PD's limit: same again fails again
    [status.FAILED_PRECONDITION, "STALE_EPOCH", false],
    [status.ABORTED, "ABORTED", true],
    [status.OUT_OF_RANGE, "ALLOCATOR_EXHAUSTED", false],
    [status.UNIMPLEMENTED, "UNIMPLEMENTED", false],
    [status.INTERNAL, "INTERNAL", false],
    [status.UNAVAILABLE, "UNAVAILABLE", true],
    [status.DATA_LOSS, "INTERNAL", false],
    [status.UNAUTHENTICATED, "UNAUTHENTICATED", false],
  ];

  it("maps each status to a deliberate code and retryability", () => {
    expect(table.length).toBe(Object.values(status).filter((v) => typeof v === "number").length);
    for (const [s, code, retryable] of table) {
      const err = fromServiceError(serviceError(s), "GetRegionByKey", "h:1");
      expect([status[s], err.code, err.retryable, err.status]).toEqual([status[s], code, retryable, s]);
    }
  });

  it("keeps the trailer's code and takes retryability from it", () => {
    expect(fromServiceError(serviceError(status.UNAVAILABLE, { "pd-error-code": "NOT_LEADER" }), "Tso", "h:1").retryable).toBe(true);
    expect(fromServiceError(serviceError(status.INTERNAL, { "pd-error-code": "STORAGE" }), "Tso", "h:1").retryable).toBe(false);
    expect(fromServiceError(serviceError(status.UNAVAILABLE, { "pd-error-code": "UNAVAILABLE" }), "Tso", "h:1").retryable).toBe(true);
  });
});
