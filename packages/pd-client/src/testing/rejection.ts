import { expect } from "vitest";
import { PdClientError } from "../errors.js";

/** Awaits a call that must reject with a {@link PdClientError}, and returns it (tests only). */
export async function rejection(p: Promise<unknown>): Promise<PdClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PdClientError);
    return err as PdClientError;
  }
  throw new Error("expected the call to reject");
}
