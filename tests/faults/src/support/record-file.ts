// What the suite knows of the on-disk format (packages/pd-storage/src/local-file/record-file.ts):
//   file   := magic(8) record*
//   record := length:u32 headerCheck:u32 payloadCheck:u32 payload
// Only the framing: enough to find where records start and end, never to decode them.

/** Bytes of a record file's magic. */
export const FILE_MAGIC_BYTES = 8;
/** Bytes of a record header. */
export const RECORD_HEADER_BYTES = 12;

/**
 * The offsets where the records of a whole record file start, followed by
 * the file's end: `[8, b1, …, end]` (just `[8]` for a header-only file).
 *
 * @throws Error when the framing does not end exactly at the end of the file.
 */
export function recordBoundaries(file: Buffer): number[] {
  const bounds = [FILE_MAGIC_BYTES];
  let o = FILE_MAGIC_BYTES;
  while (o + RECORD_HEADER_BYTES <= file.length) {
    o += RECORD_HEADER_BYTES + file.readUInt32LE(o);
    bounds.push(o);
  }
  if (o !== file.length) throw new Error(`record framing ends at ${o}, the file at ${file.length}`);
  return bounds;
}

/** Regions of a record file, for choosing what to damage and predicting what start-up must do. */
export interface RecordLayout {
  readonly bounds: readonly number[];
  /** Number of whole records. */
  readonly records: number;
  /** Where the last record starts (the magic's end when there is none). */
  readonly lastStart: number;
}

/** The {@link RecordLayout} of a whole record file. */
export function recordLayout(file: Buffer): RecordLayout {
  const bounds = recordBoundaries(file);
  return { bounds, records: bounds.length - 1, lastStart: bounds.at(-2) ?? FILE_MAGIC_BYTES };
}

/** Whole records in `[magic end, cut)`: how many survive a cut at `cut`. */
export function recordsBefore(layout: RecordLayout, cut: number): number {
  return layout.bounds.filter((b, i) => i > 0 && b <= cut).length;
}
