import { describe, expect, it } from 'vitest';
import { FORMATS, formatCsv, formatJson, formatResult, formatTable, formatVertical } from './result.js';
import { wrapText } from './text-table.js';

const long = `{"detail":"${'x'.repeat(200)}"}`;
const result = {
  columns: ['id', 'note', 'n', 'id'],
  rows: [
    ['a', long, 3n, 'dup'],
    ['b,c', 'say "hi"\nbye', null, null],
  ],
};
const description =
  'Per-incident post-mortem audit: who was paged, delivered/opened/acked/escalated offsets, verdict, and more words';

/** The text of column `i` of a printed table, its wrapped lines joined with `sep`, one entry per row. */
function column(table: string, i: number, sep = ' '): string[] {
  const lines = table.split('\n');
  const rule = lines.filter((l) => l.startsWith('+-')).length;
  expect(rule).toBe(3);
  const body = lines.slice(lines.indexOf(lines[0], 1) + 1, lines.lastIndexOf(lines[0]));
  const rows: string[][] = [];
  for (const l of body) {
    const cells = l.slice(2, -2).split(' | ');
    if (cells[0].trim() !== '' || rows.length === 0) rows.push([]);
    rows[rows.length - 1].push(cells[i].trim());
  }
  return rows.map((r) => r.filter((s) => s !== '').join(sep));
}

describe('query result formats', () => {
  it('csv: header, every value whole, RFC 4180 quoting, NULL as an empty field', () => {
    const csv = formatCsv(result);
    expect(csv.split('\n')[0]).toBe('id,note,n,id');
    expect(csv).toContain(`a,"${long.replaceAll('"', '""')}",3,dup`);
    expect(csv.endsWith('"b,c","say ""hi""\nbye",,')).toBe(true);
  });

  it('json: one object per row, every value whole, repeated column names kept apart', () => {
    const rows = JSON.parse(formatJson(result));
    expect(rows).toEqual([
      { id: 'a', note: long, n: '3', id_2: 'dup' },
      { id: 'b,c', note: 'say "hi"\nbye', n: null, id_2: null },
    ]);
    expect(JSON.parse(formatJson({ columns: ['x'], rows: [] }))).toEqual([]);
  });

  it('every format ends with a newline, so a note on stderr starts a line of its own', () => {
    for (const f of FORMATS) {
      expect(formatResult(result, f).endsWith('\n'), f).toBe(true);
      expect(formatResult(result, f).endsWith('\n\n'), f).toBe(false);
    }
    expect(formatResult({ columns: ['x'], rows: [] }, 'json')).toBe('[]\n');
  });

  it('table: long values wrap within their column, whole, never cut; every line fits the width', () => {
    const table = formatTable(result, { width: 80 });
    expect(table).not.toContain('…');
    for (const l of table.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    expect(column(table, 1, '')[0]).toBe(long); // a long word is split, nothing lost
    expect(column(table, 0)).toEqual(['a', 'b,c']);
    expect(formatResult(result, 'table', { width: 80 })).toBe(`${table}\n`);
  });

  it('table: a description wraps at spaces (make query NAME=list) and fits the default 120 columns', () => {
    const list = { columns: ['name', 'description'], rows: [['incident-audit', description]] };
    const table = formatTable(list);
    for (const l of table.split('\n')) expect(l.length).toBeLessThanOrEqual(120);
    expect(table.split('\n').length).toBeGreaterThan(6); // wrapped: more than one line for the row
    expect(column(table, 1)).toEqual([description]);
    // a narrow table is left alone
    expect(formatTable({ columns: ['a'], rows: [['x']] })).toBe('+---+\n| a |\n+---+\n| x |\n+---+\n(1 row)');
  });

  it('table: rows too wide for the width even wrapped are printed vertically', () => {
    const columns = Array.from({ length: 12 }, (_, i) => `a_rather_long_column_name_${i}`);
    const wide = { columns, rows: [columns.map((c) => `${c} value`), columns.map(() => null)] };
    const out = formatTable(wide, { width: 120 });
    expect(out).toBe(formatVertical(wide, { width: 120 }));
    expect(out.split('\n')[0]).toMatch(/^-\[ RECORD 1 \]-+$/);
    expect(out).toContain('a_rather_long_column_name_3:  a_rather_long_column_name_3 value');
    // the same rows fit a wide terminal as a table
    expect(formatTable(wide, { width: 1000 }).startsWith('+-')).toBe(true);
  });

  it('vertical: one `column: value` line per field, a -[ RECORD n ]- line per row, NULL for none', () => {
    const out = formatVertical(
      {
        columns: ['incident_id', 'sev', 'escalated'],
        rows: [
          ['inc-1', 'P1', null],
          ['inc-2', 'P3', '+300s'],
        ],
      },
      { width: 40 },
    );
    expect(out).toBe(
      [
        '-[ RECORD 1 ]-----',
        'incident_id: inc-1',
        'sev:         P1',
        'escalated:   NULL',
        '-[ RECORD 2 ]-----',
        'incident_id: inc-2',
        'sev:         P3',
        'escalated:   +300s',
        '(2 rows)',
      ].join('\n'),
    );
    const wrapped = formatVertical({ columns: ['d'], rows: [[description]] }, { width: 40 }).split('\n');
    for (const l of wrapped) expect(l.length).toBeLessThanOrEqual(40);
    expect(wrapped[2].startsWith('   ')).toBe(true); // continuation lines under the value
    expect(
      wrapped
        .slice(1, -1)
        .map((l) => l.replace(/^d: |^ {3}/, '').trim())
        .join(' '),
    ).toBe(description);
  });

  it('NULL is the one spelling of none in the table layouts', () => {
    const table = formatTable(result, { width: 200 });
    expect(column(table, 2)).toEqual(['3', 'NULL']);
    expect(table).not.toMatch(/\| - /);
  });

  it('wrapText keeps line breaks, wraps words, splits words longer than the width', () => {
    expect(wrapText('say "hi"\nbye', 20)).toEqual(['say "hi"', 'bye']);
    expect(wrapText('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('', 4)).toEqual(['']);
  });
});
