import { describe, expect, it } from 'vitest';
import { dtFilter, tablesOf } from './partitions.js';

const days = ['2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'];
const kept = (sql: string) => days.filter(dtFilter(sql));

describe('dtFilter (partition pruning)', () => {
  it.each([
    ["SELECT * FROM alert_events WHERE dt = '2026-11-28'", ['2026-11-28']],
    ["SELECT * FROM alert_events WHERE dt >= '2026-11-27' AND dt < '2026-11-29'", ['2026-11-27', '2026-11-28']],
    ["SELECT * FROM events WHERE dt BETWEEN '2026-11-27' AND '2026-11-28'", ['2026-11-27', '2026-11-28']],
    ["SELECT * FROM events WHERE dt IN ('2026-11-26', '2026-11-29')", ['2026-11-26', '2026-11-29']],
    ["SELECT * FROM events WHERE dt > '2026-11-28'", ['2026-11-29']],
    ["SELECT * FROM events WHERE dt <= '2026-11-26'", ['2026-11-26']],
  ])('%s', (sql, expected) => {
    expect(kept(sql)).toEqual(expected);
  });

  it('reads every partition when the query has no dt predicate', () => {
    expect(kept("SELECT incident_id, channel, status FROM alert_events WHERE status = 'opened' AND timestamp < escalation_time")).toEqual(days);
  });

  it('does not prune under OR / NOT, where a dt comparison may not apply to every row', () => {
    expect(kept("SELECT * FROM events WHERE dt = '2026-11-28' OR status = 'opened'")).toEqual(days);
    expect(kept("SELECT * FROM events WHERE NOT dt = '2026-11-28'")).toEqual(days);
  });
});

describe('tablesOf', () => {
  it('maps views to the events table and finds the raw archive', () => {
    expect(tablesOf('select * from incidents').map((t) => t.name)).toEqual(['events']);
    expect(tablesOf('select count(*) from raw_records').map((t) => t.name)).toEqual(['raw_records']);
    expect(tablesOf('select 1')).toEqual([]);
  });
});
