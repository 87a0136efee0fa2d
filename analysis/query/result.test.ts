import { describe, expect, it } from 'vitest';
import { formatCsv, formatJson, formatResult, formatTable } from './result.js';

const long = `{"detail":"${'x'.repeat(200)}"}`;
const result = {
  columns: ['id', 'note', 'n', 'id'],
  rows: [
    ['a', long, 3n, 'dup'],
    ['b,c', 'say "hi"\nbye', null, null],
  ],
};

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

  it('table: cuts long values at 60 characters (the others keep them)', () => {
    const table = formatTable(result);
    expect(table).not.toContain(long);
    expect(table).toContain(`${long.slice(0, 59)}…`);
    expect(formatResult(result, 'table')).toBe(table);
    expect(formatResult(result, 'csv')).toContain(long.replaceAll('"', '""'));
  });
});
