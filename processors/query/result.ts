/** A query's answer, engine-independent. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

const cell = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** A plain text table, as psql or the DuckDB CLI print it. */
export function formatTable(result: QueryResult): string {
  const cells = result.rows.map((r) => r.map(cell));
  const widths = result.columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i].length))));
  const clip = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (vals: string[]) => `| ${vals.map((v, i) => clip(v, widths[i])).join(' | ')} |`;
  const sep = `+-${widths.map((w) => '-'.repeat(w)).join('-+-')}-+`;
  return [sep, line(result.columns), sep, ...cells.map(line), sep, `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`].join('\n');
}
