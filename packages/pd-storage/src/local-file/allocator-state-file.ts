import { readFile } from "node:fs/promises";
import { type AllocatorState, MAX_UINT64, PdError } from "@nokv/pd-core";
import { parse } from "lossless-json";

/** The allocator checkpoint file in a workdir (the Go PD's name and format). */
export const STATE_FILE = "PD_STATE.json";

/** A JSON number kept as its source digits, so no uint64 passes through a JS number. */
class RawNumber {
  constructor(readonly digits: string) {}
}

function field(obj: Record<string, unknown>, name: string, file: string): bigint {
  const v = obj[name];
  if (v === undefined) return 0n;
  if (!(v instanceof RawNumber) || !/^(0|[1-9][0-9]*)$/.test(v.digits)) {
    throw new PdError("STORAGE", `${file}: ${name} must be a non-negative integer, got ${v instanceof RawNumber ? v.digits : JSON.stringify(v)}`);
  }
  const n = BigInt(v.digits);
  if (n > MAX_UINT64) throw new PdError("STORAGE", `${file}: ${name} ${v.digits} exceeds 2^64-1`);
  return n;
}

/**
 * Parses the text of `PD_STATE.json`: a JSON object with the numeric fields
 * `id_current` and `ts_current` (a missing field reads as 0, unknown fields
 * are ignored, as Go's decoder does). Digits are read exactly.
 *
 * @throws PdError `STORAGE` naming the file and the position of the defect.
 */
export function parseAllocatorState(text: string, file: string): AllocatorState {
  let doc: unknown;
  try {
    doc = parse(text, null, (digits) => new RawNumber(digits));
  } catch (err) {
    throw new PdError("STORAGE", `${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new PdError("STORAGE", `${file}: expected a JSON object with id_current and ts_current`);
  }
  const obj = doc as Record<string, unknown>;
  return { idCurrent: field(obj, "id_current", file), tsCurrent: field(obj, "ts_current", file) };
}

/** The text written to `PD_STATE.json`: plain JSON numbers, written digit by digit. */
export function formatAllocatorState(state: AllocatorState): string {
  return `{"id_current":${state.idCurrent.toString()},"ts_current":${state.tsCurrent.toString()}}\n`;
}

/**
 * Reads `PD_STATE.json` at `path`; undefined when the file does not exist.
 *
 * @throws PdError `STORAGE` when it exists but cannot be read or parsed.
 */
export async function readAllocatorStateFile(path: string): Promise<AllocatorState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PdError("STORAGE", `${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseAllocatorState(text, path);
}
