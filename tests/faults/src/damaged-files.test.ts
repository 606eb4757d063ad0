import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { launchPdProcess, tempWorkdir } from "@nokv/e2e/harness";
import { createPdClient, type Region } from "@nokv/pd-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCatalogFixture, type CatalogFixture } from "./support/catalog-fixture.js";
import { expectCatalog } from "./support/ledger.js";
import { expectRefusal, recoveryLines } from "./support/pd-outcome.js";
import { FILE_MAGIC_BYTES, RECORD_HEADER_BYTES, recordsBefore } from "./support/record-file.js";
import { bySize, createRandom, forEachConcurrently, LONG_SWEEP, range, START_CONCURRENCY } from "./support/sweep.js";
import { copyWorkdir, expectSameFiles, readWorkdir } from "./support/workdir-files.js";

// A stopped PD's workdir is damaged the way a crash or a bad disk would, one
// copy per case, and a real pd-cli is started on it. It must either refuse
// with one line naming the file and leave every file as it was, or start
// with exactly the acknowledged prefix, keeping anything it cuts off.

/** What start-up must do with one damaged copy. */
type Expected =
  /** Refuse, naming the file, changing nothing. */
  | { readonly kind: "refuse" }
  /** Start with the snapshot and the first `records` records of the log; `cut`: the end it must set aside. */
  | { readonly kind: "start"; readonly records: number; readonly cut?: { readonly offset: number; readonly why: "torn" | "corruption" } }
  /** Refuse as above, or start with the whole catalog (PD_STATE.json has no checksum: a flip may leave it valid). */
  | { readonly kind: "refuse-or-start" };

interface DamageCase {
  readonly name: string;
  /** The damaged file, by name. */
  readonly file: string;
  readonly damage: (original: Buffer) => Buffer;
  readonly expected: Expected;
}

type Outcome = "refused" | "started" | "started, tail kept aside";

let fixture: CatalogFixture;
let removeFixture: () => Promise<void>;
beforeAll(async () => {
  const t = await tempWorkdir("pd-faults-fixture-");
  removeFixture = t.cleanup;
  fixture = await buildCatalogFixture(t.dir);
}, 30_000);
afterAll(() => removeFixture?.());

/** Starts pd-cli on a damaged copy of the fixture and checks what it did. */
async function runCase(c: DamageCase): Promise<Outcome> {
  const { dir, cleanup } = await tempWorkdir("pd-faults-damage-");
  try {
    await copyWorkdir(fixture.dir, dir);
    const original = await readFile(join(dir, c.file));
    const damaged = c.damage(original);
    await writeFile(join(dir, c.file), damaged);
    const before = await readWorkdir(dir);
    const launch = await launchPdProcess(["--addr", "127.0.0.1:0", "--workdir", dir, "--log-level", "warn"]);
    if (!launch.listening) {
      expect(c.expected.kind, `${c.name}: refused, but should have started:\n${launch.stderr.join("\n")}`).not.toBe("start");
      expectRefusal(launch, join(dir, c.file), c.name);
      expectSameFiles(await readWorkdir(dir), before, `${c.name} (refused)`);
      return "refused";
    }
    const client = createPdClient({ addr: launch.addr, timeoutMs: 5000, routeCache: false });
    try {
      expect(c.expected.kind, `${c.name}: started, but should have refused:\n${launch.stdout.join("\n")}`).not.toBe("refuse");
      const records = c.expected.kind === "start" ? c.expected.records : fixture.logLayout.records;
      const expected: ReadonlyMap<bigint, Region> = fixture.states[fixture.snapshotWrites + records]!;
      await expectCatalog(client, expected.values(), c.name);
      await fixture.ledger.fork().expectFreshValues(client, c.name);
    } finally {
      client.close();
      await launch.stop("SIGKILL");
    }
    const after = await readWorkdir(dir);
    // Whatever start-up did, the snapshot is never touched.
    expect(after.get("regions.snap"), `${c.name}: regions.snap`).toEqual(before.get("regions.snap"));
    const cut = c.expected.kind === "start" ? c.expected.cut : undefined;
    const logPath = join(dir, fixture.logName);
    const lines = recoveryLines(launch.stdout);
    if (cut === undefined) {
      expect([...after.keys()].filter((n) => n.includes(".tail-")), c.name).toEqual([]);
      if (c.file === fixture.logName && damaged.length > FILE_MAGIC_BYTES) {
        expect(after.get(fixture.logName)!.equals(damaged), `${c.name}: a log that holds only whole records is kept as it is`).toBe(true);
        expect(lines, c.name).toEqual([]);
      } else if (c.file === fixture.logName) {
        // The header or less: the log held nothing, and is made anew.
        expect(after.get(fixture.logName)!.equals(fixture.log.subarray(0, FILE_MAGIC_BYTES)), `${c.name}: log made anew`).toBe(true);
        expect(lines, c.name).toEqual([`PD-lite recovery: removed ${logPath}: a newest log holding nothing (crash or full disk during a log switch)`]);
      }
      return "started";
    }
    // The cut bytes are kept beside the log, named by their offset, and the log ends where they began.
    const side = `${fixture.logName}.tail-${cut.offset}`;
    expect([...after.keys()].filter((n) => n.includes(".tail-")), c.name).toEqual([side]);
    expect(after.get(side)!.equals(damaged.subarray(cut.offset)), `${c.name}: ${side} holds the cut bytes`).toBe(true);
    expect(after.get(fixture.logName)!.equals(damaged.subarray(0, cut.offset)), `${c.name}: log cut at ${cut.offset}`).toBe(true);
    expect(lines, c.name).toHaveLength(1);
    expect(lines[0], c.name).toContain(`dropped ${damaged.length - cut.offset} byte(s) at offset ${cut.offset} of ${logPath}`);
    expect(lines[0], c.name).toContain(cut.why);
    expect(lines[0], c.name).toContain(join(dir, side));
    return "started, tail kept aside";
  } finally {
    await cleanup();
  }
}

async function sweep(label: string, cases: readonly DamageCase[]): Promise<void> {
  const outcomes = new Map<Outcome, number>();
  const startedMs = performance.now();
  await forEachConcurrently(cases, START_CONCURRENCY, async (c) => {
    const o = await runCase(c);
    outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
  });
  const summary = [...outcomes].map(([o, n]) => `${n} ${o}`).join(", ");
  console.log(`${label}: ${cases.length} case(s) in ${Math.round(performance.now() - startedMs)} ms: ${summary}`);
}

describe("a real pd-cli on a damaged workdir", () => {
  it("truncating the log at every offset of its last records: starts with exactly the whole records before the cut, and keeps the cut bytes", async () => {
    const { log, logLayout: layout, logName } = fixture;
    const rng = createRandom("truncation sweep");
    // Every offset of the last record (the acknowledged removal), the end itself, and the
    // log header; before that, a sample (every offset in the long sweep).
    const every = range(layout.lastStart, log.length + 1);
    const earlier = bySize([3, FILE_MAGIC_BYTES, ...rng.sample(range(FILE_MAGIC_BYTES + 1, layout.lastStart), 3)], range(0, layout.lastStart));
    const offsets = [...new Set([...earlier, ...every])].sort((a, b) => a - b);
    const cases = offsets.map((t): DamageCase => {
      const name = `${logName} cut at ${t} of ${log.length}`;
      // A cut inside the header leaves a log with no record: it is dropped and made anew.
      if (t < FILE_MAGIC_BYTES) return { name, file: logName, damage: (b) => b.subarray(0, t), expected: { kind: "start", records: 0 } };
      const records = recordsBefore(layout, t);
      const boundary = layout.bounds[records]!;
      return {
        name,
        file: logName,
        damage: (b) => b.subarray(0, t),
        expected: t === boundary ? { kind: "start", records } : { kind: "start", records, cut: { offset: boundary, why: "torn" } },
      };
    });
    await sweep(`truncation sweep (${logName}, ${log.length} bytes, ${layout.records} records)`, cases);
  }, bySize(60_000, 1_800_000));

  it("flipping bytes of the log, the snapshot and PD_STATE.json: refuses with the file named and changes nothing, or starts with the acknowledged prefix", async () => {
    const { log, logLayout: layout, logName } = fixture;
    const snap = await readFile(join(fixture.dir, "regions.snap"));
    const state = await readFile(join(fixture.dir, "PD_STATE.json"));
    const rng = createRandom("flip sweep");
    const flipAt = (file: string, o: number, expected: Expected): DamageCase => {
      const mask = 1 + rng.int(255);
      return {
        name: `${file} byte ${o} ^ 0x${mask.toString(16)}`,
        file,
        damage: (b) => {
          const d = Buffer.from(b);
          d[o]! ^= mask;
          return d;
        },
        expected,
      };
    };
    // The log: a damaged payload or payload checksum of the last record is dropped (and kept);
    // damage anywhere else, its length included, refuses.
    const lastPayload = layout.lastStart + RECORD_HEADER_BYTES - 4;
    const logOffsets = bySize(
      [...rng.sample(range(0, layout.lastStart), 3), ...rng.sample(range(layout.lastStart, lastPayload), 1), ...rng.sample(range(lastPayload, log.length), 2)],
      range(0, log.length),
    );
    const logCases = logOffsets.map((o) =>
      flipAt(
        logName,
        o,
        o >= lastPayload ? { kind: "start", records: layout.records - 1, cut: { offset: layout.lastStart, why: "corruption" } } : { kind: "refuse" },
      ),
    );
    // The snapshot is written whole and renamed into place: any damage is corruption.
    const snapCases = bySize(rng.sample(range(0, snap.length), 4), range(0, snap.length)).map((o) => flipAt("regions.snap", o, { kind: "refuse" }));
    // PD_STATE.json has no checksum (it is the Go PD's format): a flip may leave valid JSON.
    // The dangerous ones turn a digit of a checkpoint into a smaller digit; PD must then
    // still start above everything acknowledged (the checkpoints are written twice), or refuse.
    const stateFlips = bySize(rng.sample(range(0, state.length), 4), range(0, state.length)).map((o) =>
      flipAt("PD_STATE.json", o, { kind: "refuse-or-start" }),
    );
    const digits = range(0, state.length).filter((o) => state[o]! >= 0x31 && state[o]! <= 0x39);
    const lowered = bySize(rng.sample(digits, 3), digits).flatMap((o) =>
      range(0x30, state[o]!)
        .filter((d) => LONG_SWEEP || d === 0x30)
        .map((d): DamageCase => ({
          name: `PD_STATE.json digit ${o} '${String.fromCharCode(state[o]!)}' → '${String.fromCharCode(d)}'`,
          file: "PD_STATE.json",
          damage: (b) => Buffer.from(b).fill(d, o, o + 1),
          expected: { kind: "refuse-or-start" },
        })),
    );
    await sweep(`flip sweep: ${logName} (${log.length} bytes)`, logCases);
    await sweep(`flip sweep: regions.snap (${snap.length} bytes)`, snapCases);
    await sweep(`flip sweep: PD_STATE.json (${state.length} bytes), ${stateFlips.length} flips and ${lowered.length} lowered digits`, [...stateFlips, ...lowered]);
  }, bySize(60_000, 1_800_000));
});
