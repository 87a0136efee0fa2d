/** A query's answer, engine-independent. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

export const FORMATS = ['table', 'csv', 'json'] as const;
export type Format = (typeof FORMATS)[number];

/** JSON.stringify that writes a bigint as a string (JSON has no 64-bit integers). */
const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

const cell = (v: unknown): string =>
  v === null || v === undefined ? 'NULL' : typeof v === 'object' ? toJson(v) : String(v);

/**
 * A plain text table, as psql or the DuckDB CLI print it. Values longer than `maxWidth` (default 60) are cut
 * with `…`.
 */
export function formatTable(result: QueryResult, opts: { maxWidth?: number } = {}): string {
  const max = opts.maxWidth ?? 60;
  const cells = result.rows.map((r) => r.map(cell));
  const widths = result.columns.map((c, i) => Math.min(max, Math.max(c.length, ...cells.map((r) => r[i].length))));
  const clip = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (vals: string[]) => `| ${vals.map((v, i) => clip(v, widths[i])).join(' | ')} |`;
  const sep = `+-${widths.map((w) => '-'.repeat(w)).join('-+-')}-+`;
  return [
    sep,
    line(result.columns),
    sep,
    ...cells.map(line),
    sep,
    `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`,
  ].join('\n');
}

/** RFC 4180 field: quoted when it holds a comma, a quote, CR or LF (quotes doubled); NULL is an empty field. */
const csvField = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? toJson(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** CSV with a header line, every value whole (never cut). */
export function formatCsv(result: QueryResult): string {
  return [result.columns, ...result.rows].map((r) => r.map(csvField).join(',')).join('\n');
}

/**
 * A JSON array of one object per row (column name → value, every value whole), one row per line. A
 * column name repeated in the result gets a suffix (`name_2`) so no value is lost.
 */
export function formatJson(result: QueryResult): string {
  const seen = new Map<string, number>();
  const keys = result.columns.map((c) => {
    const n = (seen.get(c) ?? 0) + 1;
    seen.set(c, n);
    return n === 1 ? c : `${c}_${n}`;
  });
  const rows = result.rows.map((r) => toJson(Object.fromEntries(keys.map((k, i) => [k, r[i] ?? null]))));
  return rows.length === 0 ? '[]' : `[\n${rows.join(',\n')}\n]`;
}

export function formatResult(result: QueryResult, format: Format): string {
  return format === 'csv' ? formatCsv(result) : format === 'json' ? formatJson(result) : formatTable(result);
}
