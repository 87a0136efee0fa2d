import { EVENTS_TABLE, RAW_TABLE, type TableDef } from '../../schemas/lake.js';

/** Which lake tables a query reads: the views read `events`. */
export function tablesOf(sql: string): TableDef[] {
  const s = sql.toLowerCase();
  const out: TableDef[] = [];
  if (/\b(events|alert_events|incidents)\b/.test(s)) out.push(EVENTS_TABLE);
  if (/\braw_records\b/.test(s)) out.push(RAW_TABLE);
  return out;
}

const DATE = `'(\\d{4}-\\d{2}-\\d{2})'`;

/**
 * A predicate over `dt` partition values from the query's `dt` comparisons (=, <, <=, >, >=, BETWEEN,
 * IN), so only the partitions the query can read are fetched. Conservative: a query with OR or NOT
 * (whose dt constraints may not all apply) or with none fetches every partition.
 */
export function dtFilter(sql: string): (dt: string) => boolean {
  const s = sql.replace(/--[^\n]*/g, ' ');
  if (/\b(or|not)\b/i.test(s)) return () => true;
  const checks: ((dt: string) => boolean)[] = [];
  for (const m of s.matchAll(new RegExp(`\\bdt\\s*(=|>=|<=|>|<)\\s*${DATE}`, 'gi'))) {
    const [op, v] = [m[1], m[2]];
    checks.push((dt) => (op === '=' ? dt === v : op === '>=' ? dt >= v : op === '<=' ? dt <= v : op === '>' ? dt > v : dt < v));
  }
  for (const m of s.matchAll(new RegExp(`\\bdt\\s+between\\s+${DATE}\\s+and\\s+${DATE}`, 'gi'))) {
    const [lo, hi] = [m[1], m[2]];
    checks.push((dt) => dt >= lo && dt <= hi);
  }
  for (const m of s.matchAll(/\bdt\s+in\s*\(([^)]*)\)/gi)) {
    const values = new Set([...m[1].matchAll(/'(\d{4}-\d{2}-\d{2})'/g)].map((x) => x[1]));
    checks.push((dt) => values.has(dt));
  }
  return (dt) => checks.every((c) => c(dt));
}
