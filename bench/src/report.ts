/** A table of one benchmark: printed as markdown. */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
}

/** What one benchmark returns: its tables, plus notes (goals met or missed, caveats). */
export interface BenchResult {
  readonly name: string;
  readonly tables: readonly Table[];
  readonly notes: readonly string[];
}

/** Renders a table as GitHub markdown. */
export function renderTable(t: Table): string {
  const cells = (r: ReadonlyArray<string | number>) => `| ${r.map(String).join(" | ")} |`;
  return [`**${t.title}**`, "", cells(t.columns), cells(t.columns.map(() => "---")), ...t.rows.map(cells)].join("\n");
}

/** Renders a whole result: heading, tables, notes. */
export function renderResult(r: BenchResult): string {
  const parts = [`### ${r.name}`, ""];
  for (const t of r.tables) parts.push(renderTable(t), "");
  for (const n of r.notes) parts.push(`- ${n}`);
  return parts.join("\n");
}

/** A number with `digits` significant decimals, thousands separated. */
export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio as `0.93×`. */
export function ratio(a: number, b: number): string {
  return b === 0 ? "n/a" : `${(a / b).toFixed(2)}×`;
}

/** The median of `xs` (undefined-free; 0 for an empty list). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "met" / "MISSED" for a goal check. */
export function verdict(ok: boolean): string {
  return ok ? "met" : "MISSED";
}
