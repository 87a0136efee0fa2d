import { formatTable, formatVertical, toJson } from './text-table.js';

/** A query's answer, engine-independent. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

/** `FORMAT=`: table and vertical for a person (text-table.ts), csv and json for a program. */
export const FORMATS = ['table', 'vertical', 'csv', 'json'] as const;
export type Format = (typeof FORMATS)[number];

export { formatTable, formatVertical } from './text-table.js';

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

/**
 * The answer as text, ending with a newline in every format (so a note written to stderr next never
 * shares the last line). `width`: the terminal's columns for table and vertical (default 120).
 */
export function formatResult(result: QueryResult, format: Format, opts: { width?: number } = {}): string {
  const text =
    format === 'csv'
      ? formatCsv(result)
      : format === 'json'
        ? formatJson(result)
        : format === 'vertical'
          ? formatVertical(result, opts)
          : formatTable(result, opts);
  return `${text}\n`;
}
