/** A query's answer (result.ts's QueryResult, named here so this module imports nothing). */
interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

/**
 * The two text layouts of `make query`, for a person at a terminal (csv and json are for programs):
 *
 * - `table` (the default): psql's aligned table. Every value is shown whole: a long value (a named
 *   query's description, an alarm's JSON detail) wraps onto more lines within its column instead of
 *   being cut. When the table cannot fit the width even with its wide columns wrapped, it is printed
 *   vertically instead, as psql's `\x auto` does.
 * - `vertical` (always): one `column: value` line per field and a `-[ RECORD n ]-` line per row, as
 *   psql's `\x`.
 *
 * The width is the terminal's, or 120 columns when the output is not a terminal (widthOf).
 * A missing value prints as `NULL`, the way psql and DuckDB print it (the named queries leave "none" as
 * NULL rather than a `-` of their own, so there is one spelling).
 */

/** The width when the output is not a terminal. */
export const DEFAULT_WIDTH = 120;

/** The width to lay a table out in on `stream`: the terminal's columns, else DEFAULT_WIDTH. */
export const widthOf = (stream: { isTTY?: boolean; columns?: number }): number =>
  (stream.isTTY && stream.columns) || DEFAULT_WIDTH;

/** A column is never wrapped narrower than its header, nor than this (unless its values are narrower). */
const MIN_WRAP = 16;

/** JSON.stringify that writes a bigint as a string (JSON has no 64-bit integers). */
export const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

export const NULL_TEXT = 'NULL';

const cell = (v: unknown): string =>
  v === null || v === undefined ? NULL_TEXT : typeof v === 'object' ? toJson(v) : String(v);

/** A value's lines at most `width` wide: its own line breaks kept, words wrapped at spaces, long words split. */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    let current = '';
    for (const word of line.split(' ')) {
      const candidate = current === '' ? word : `${current} ${word}`;
      if (candidate.length <= w) {
        current = candidate;
        continue;
      }
      if (current !== '') out.push(current);
      let rest = word;
      while (rest.length > w) {
        out.push(rest.slice(0, w));
        rest = rest.slice(w);
      }
      current = rest;
    }
    out.push(current);
  }
  return out;
}

const longest = (s: string) => Math.max(...s.split(/\r?\n/).map((l) => l.length));
const rowCount = (n: number) => `(${n} row${n === 1 ? '' : 's'})`;
/** A table's printed width: `| a | b |`. */
const tableWidth = (widths: number[]) => widths.reduce((a, b) => a + b, 0) + 3 * widths.length + 1;

/**
 * The column widths that fit `width`: each column's longest value, the widest ones narrowed (wrapped) one
 * character at a time down to their floor; undefined when even the floors do not fit.
 */
function fitColumns(columns: string[], cells: string[][], width: number): number[] | undefined {
  const natural = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => longest(r[i]))));
  const floor = natural.map((n, i) => Math.min(n, Math.max(columns[i].length, MIN_WRAP)));
  if (tableWidth(floor) > width) return undefined;
  const widths = [...natural];
  while (tableWidth(widths) > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++)
      if (widths[i] > floor[i] && (widest < 0 || widths[i] > widths[widest])) widest = i;
    widths[widest]--;
  }
  return widths;
}

/** The aligned table, long values wrapped within their column; vertical when it cannot fit `width`. */
export function formatTable(result: QueryResult, opts: { width?: number } = {}): string {
  const width = opts.width ?? DEFAULT_WIDTH;
  const cells = result.rows.map((r) => r.map(cell));
  const widths = fitColumns(result.columns, cells, width);
  if (!widths) return formatVertical(result, { width });
  const line = (vals: string[]) => {
    const wrapped = vals.map((v, i) => wrapText(v, widths[i]));
    const height = Math.max(...wrapped.map((w) => w.length));
    return Array.from(
      { length: height },
      (_, k) => `| ${wrapped.map((w, i) => (w[k] ?? '').padEnd(widths[i])).join(' | ')} |`,
    ).join('\n');
  };
  const sep = `+-${widths.map((w) => '-'.repeat(w)).join('-+-')}-+`;
  return [sep, line(result.columns), sep, ...cells.map(line), sep, rowCount(result.rows.length)].join('\n');
}

/**
 * One `column: value` line per field, values aligned and wrapped to `width` (continuation lines indented
 * under the value), each row under a `-[ RECORD n ]-` line.
 */
export function formatVertical(result: QueryResult, opts: { width?: number } = {}): string {
  const width = opts.width ?? DEFAULT_WIDTH;
  const label = Math.max(0, ...result.columns.map((c) => c.length)) + 1;
  const valueWidth = Math.max(MIN_WRAP, width - label - 1);
  const indent = ' '.repeat(label + 1);
  const records = result.rows.map((r) =>
    result.columns.flatMap((c, i) =>
      wrapText(cell(r[i]), valueWidth).map((l, k) => (k === 0 ? `${`${c}:`.padEnd(label)} ${l}` : `${indent}${l}`)),
    ),
  );
  const rule = Math.min(width, Math.max(0, ...records.flat().map((l) => l.length)));
  const out: string[] = [];
  records.forEach((lines, n) => {
    const head = `-[ RECORD ${n + 1} ]-`;
    out.push(head + '-'.repeat(Math.max(0, rule - head.length)), ...lines);
  });
  out.push(rowCount(result.rows.length));
  return out.join('\n');
}
