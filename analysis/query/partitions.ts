import { EVENTS_TABLE, RAW_TABLE, type TableDef } from '../../schemas/lake.js';

/**
 * Which lake tables a query reads: the views read `events`. Over-inclusive is safe (an extra table is only fetched).
 */
export function tablesOf(sql: string): TableDef[] {
  const s = sql.toLowerCase();
  const out: TableDef[] = [];
  if (/\b(events|alert_events|incidents)\b/.test(s)) out.push(EVENTS_TABLE);
  if (/\braw_records\b/.test(s)) out.push(RAW_TABLE);
  return out;
}

/** Every name a query can read the lake through: the tables and the views over `events`. */
const LAKE_NAMES = new Set(['events', 'raw_records', 'alert_events', 'incidents']);
const BASE_TABLES: Record<string, TableDef> = { events: EVENTS_TABLE, raw_records: RAW_TABLE };

/** Keywords that end a FROM item or a WHERE clause at the statement's top level. */
const CLAUSE_END = new Set([
  'group',
  'having',
  'order',
  'limit',
  'qualify',
  'window',
  'offset',
  'fetch',
  'union',
  'intersect',
  'except',
  ';',
]);
const SET_OPS = new Set(['union', 'intersect', 'except']);

type Token = { t: 'word' | 'ident' | 'str' | 'op' | 'num'; v: string; depth: number };

/** A small SQL lexer: words (lower-cased), "quoted identifiers", 'strings', numbers, operators; comments skipped. */
export function tokenize(sql: string): Token[] | undefined {
  const out: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) i++;
    else if (sql.startsWith('--', i)) i = sql.indexOf('\n', i) < 0 ? sql.length : sql.indexOf('\n', i);
    else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (c === "'" || c === '"') {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) return undefined;
        if (sql[j] === c && sql[j + 1] === c) {
          v += c;
          j += 2;
        } else if (sql[j] === c) break;
        else v += sql[j++];
      }
      out.push({ t: c === "'" ? 'str' : 'ident', v: c === '"' ? v.toLowerCase() : v, depth });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))![0];
      out.push({ t: 'word', v: m.toLowerCase(), depth });
      i += m.length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(sql.slice(i))![0];
      out.push({ t: 'num', v: m, depth });
      i += m.length;
    } else {
      const two = sql.slice(i, i + 2);
      const op = ['>=', '<=', '<>', '!=', '::', '||'].includes(two) ? two : c;
      if (op === ')') depth--;
      out.push({ t: 'op', v: op, depth });
      if (op === '(') depth++;
      if (depth < 0) return undefined;
      i += op.length;
    }
  }
  return depth === 0 ? out : undefined;
}

const isName = (tok: Token | undefined): tok is Token => tok !== undefined && (tok.t === 'word' || tok.t === 'ident');
const kw = (tok: Token | undefined, v: string) => tok !== undefined && tok.t === 'word' && tok.v === v;
const op = (tok: Token | undefined, v: string) => tok !== undefined && tok.t === 'op' && tok.v === v;

/** A `dt` test over partition values, from one WHERE conjunct, when it is exactly one simple dt comparison. */
function dtConjunct(c: Token[]): ((dt: string) => boolean) | undefined {
  let i = 0;
  if (isName(c[0]) && op(c[1], '.')) i = 2; // alias.dt / events.dt: the only relation of the FROM
  if (!isName(c[i]) || c[i].v !== 'dt') return undefined;
  const rest = c.slice(i + 1);
  const str = (tok: Token | undefined): tok is Token => tok !== undefined && tok.t === 'str';
  if (rest.length === 2 && rest[0].t === 'op' && ['=', '>=', '<=', '>', '<'].includes(rest[0].v) && str(rest[1])) {
    const [o, v] = [rest[0].v, rest[1].v];
    return (dt) => (o === '=' ? dt === v : o === '>=' ? dt >= v : o === '<=' ? dt <= v : o === '>' ? dt > v : dt < v);
  }
  if (rest.length === 4 && kw(rest[0], 'between') && str(rest[1]) && kw(rest[2], 'and') && str(rest[3])) {
    const [lo, hi] = [rest[1].v, rest[3].v];
    return (dt) => dt >= lo && dt <= hi;
  }
  if (rest.length >= 4 && kw(rest[0], 'in') && op(rest[1], '(') && op(rest[rest.length - 1], ')')) {
    const inner = rest.slice(2, -1);
    const values = inner.filter((_, k) => k % 2 === 0);
    if (!values.every(str) || !inner.every((tok, k) => k % 2 === 0 || op(tok, ','))) return undefined;
    const set = new Set(values.map((x) => x.v));
    return (dt) => set.has(dt);
  }
  return undefined;
}

export interface PartitionPlan {
  /** The one lake table the query reads, and the partitions it needs of it. */
  table: TableDef;
  keep: (dt: string) => boolean;
}

/**
 * Partition pruning, only where it cannot change the answer: the query is one SELECT (no WITH, no set
 * operation) that names exactly one lake name, once, and that name is a base table (`events` or
 * `raw_records`: the views compute across partitions, e.g. `escalation_time` from a later day's
 * escalation) standing alone in the top-level FROM (no join, no comma); the partitions kept are those
 * accepted by every top-level WHERE conjunct of the form `dt <op> '<v>'`, `dt BETWEEN '<a>' AND '<b>'`
 * or `dt IN ('<a>', ...)`, and there is no top-level OR in the WHERE. Anything else: undefined (every
 * partition is read). A join, a self-join, a subquery reading the table again or a view all read
 * everything: correct first, fast where provably the same.
 */
export function partitionPlan(sql: string): PartitionPlan | undefined {
  const toks = tokenize(sql);
  if (!toks) return undefined;
  while (toks.length > 0 && op(toks[toks.length - 1], ';')) toks.pop();
  if (toks.some((t) => op(t, ';'))) return undefined; // several statements
  const refs = toks.filter((t, k) => isName(t) && LAKE_NAMES.has(t.v) && !op(toks[k + 1], '('));
  if (refs.length !== 1 || toks.filter((t) => isName(t) && LAKE_NAMES.has(t.v)).length !== 1) return undefined;
  const ref = refs[0];
  const table = BASE_TABLES[ref.v];
  if (!table || ref.depth !== 0) return undefined;
  if (!kw(toks[0], 'select')) return undefined;
  const top = toks.filter((t) => t.depth === 0);
  if (top.some((t) => t.t === 'word' && SET_OPS.has(t.v))) return undefined;

  // FROM <table> [[AS] alias] then WHERE or the end of the statement or another clause.
  const at = top.indexOf(ref);
  if (!kw(top[at - 1], 'from')) return undefined;
  let next = at + 1;
  if (op(top[next], '.')) return undefined;
  if (kw(top[next], 'as')) next++;
  if (isName(top[next]) && !(top[next].t === 'word' && (CLAUSE_END.has(top[next].v) || top[next].v === 'where')))
    next++;
  const after = top[next];
  if (after !== undefined && !kw(after, 'where') && !(after.t === 'word' && CLAUSE_END.has(after.v))) return undefined;
  if (!kw(after, 'where')) return { table, keep: () => true };

  // The top-level WHERE clause, split at its top-level ANDs (not the AND of a BETWEEN).
  const start = toks.indexOf(after) + 1;
  let end = start;
  while (end < toks.length && !(toks[end].depth === 0 && toks[end].t === 'word' && CLAUSE_END.has(toks[end].v))) end++;
  const clause = toks.slice(start, end);
  if (clause.some((t) => t.depth === 0 && kw(t, 'or'))) return { table, keep: () => true };
  const conjuncts: Token[][] = [[]];
  let between = false;
  for (const t of clause) {
    if (t.depth === 0 && kw(t, 'between')) between = true;
    if (t.depth === 0 && kw(t, 'and')) {
      if (between) between = false;
      else {
        conjuncts.push([]);
        continue;
      }
    }
    conjuncts[conjuncts.length - 1].push(t);
  }
  const checks = conjuncts.map(dtConjunct).filter((c): c is (dt: string) => boolean => c !== undefined);
  return { table, keep: (dt) => checks.every((c) => c(dt)) };
}

/** The partitions of `table` a query needs: pruned per `partitionPlan`, else all of them. */
export function partitionFilter(sql: string, table: TableDef): (dt: string) => boolean {
  const plan = partitionPlan(sql);
  return plan && plan.table.name === table.name ? plan.keep : () => true;
}
