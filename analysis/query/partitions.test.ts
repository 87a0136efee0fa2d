import { describe, expect, it } from 'vitest';
import { EVENTS_TABLE, RAW_TABLE, type TableDef } from '../../schemas/lake.js';
import { partitionFilter, partitionPlan, tablesOf } from './partitions.js';

const days = ['2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'];
const kept = (sql: string, table: TableDef = EVENTS_TABLE) => days.filter(partitionFilter(sql, table));

describe('partitionPlan (partition pruning)', () => {
  it.each([
    ["SELECT * FROM events WHERE dt = '2026-11-28'", ['2026-11-28']],
    ["SELECT * FROM events e WHERE e.dt >= '2026-11-27' AND e.dt < '2026-11-29'", ['2026-11-27', '2026-11-28']],
    [
      "SELECT * FROM events WHERE dt BETWEEN '2026-11-27' AND '2026-11-28' AND kind = 'receipt'",
      ['2026-11-27', '2026-11-28'],
    ],
    [
      "SELECT * FROM events AS e WHERE dt IN ('2026-11-26', '2026-11-29') ORDER BY timestamp",
      ['2026-11-26', '2026-11-29'],
    ],
    [
      "select count(*) from events where dt > '2026-11-28' and (status = 'opened' or status = 'clicked');",
      ['2026-11-29'],
    ],
    ["SELECT * FROM events WHERE dt <= '2026-11-26' -- or everything", ['2026-11-26']],
  ])('%s', (sql, expected) => {
    expect(kept(sql)).toEqual(expected);
  });

  it('prunes raw_records alone too, and never the other table', () => {
    expect(kept("SELECT count(*) FROM raw_records WHERE dt = '2026-11-27'", RAW_TABLE)).toEqual(['2026-11-27']);
    expect(kept("SELECT count(*) FROM raw_records WHERE dt = '2026-11-27'", EVENTS_TABLE)).toEqual(days);
  });

  it('reads every partition when the query has no dt predicate', () => {
    expect(kept("SELECT incident_id, channel, status FROM events WHERE status = 'opened'")).toEqual(days);
  });

  it('does not prune under a top-level OR or a NOT', () => {
    expect(kept("SELECT * FROM events WHERE dt = '2026-11-28' OR status = 'opened'")).toEqual(days);
    expect(kept("SELECT * FROM events WHERE status = 'x' AND dt = '2026-11-28' OR status = 'opened'")).toEqual(days);
    expect(kept("SELECT * FROM events WHERE NOT dt = '2026-11-28'")).toEqual(days);
  });

  it('does not prune a join with raw_records, a self-join, a second reference or a subquery', () => {
    const unpruned = [
      'SELECT e.event_id FROM events e JOIN raw_records r ON r.sequence_number = e.sequence_number ' +
        "WHERE e.dt = '2026-11-28'",
      "SELECT a.event_id FROM events a JOIN events b ON a.incident_id = b.incident_id WHERE a.dt = '2026-11-28'",
      "SELECT * FROM events WHERE dt = '2026-11-28' " +
        "AND incident_id IN (SELECT incident_id FROM events WHERE kind = 'alarm')",
      "SELECT * FROM events, (VALUES ('2026-11-28')) v(d) WHERE dt = '2026-11-28'",
      "SELECT * FROM (SELECT max(dt) AS dt FROM events) WHERE dt = '2026-11-28'",
      "WITH x AS (SELECT * FROM events) SELECT * FROM x WHERE dt = '2026-11-28'",
      "SELECT * FROM events WHERE dt = '2026-11-28' UNION ALL SELECT * FROM events",
      "SELECT * FROM events LEFT JOIN (SELECT 1 AS k) z ON dt = '2026-11-28'",
    ];
    for (const sql of unpruned) expect(partitionPlan(sql)?.keep('2026-11-26') ?? true, sql).toBe(true);
  });

  it('does not prune the views (they compute across partitions)', () => {
    expect(kept("SELECT * FROM alert_events WHERE dt = '2026-11-28'")).toEqual(days);
  });

  it('ignores lake names and dt tests inside string literals and comments', () => {
    expect(kept("SELECT * FROM events WHERE reason = 'events' AND dt = '2026-11-28'")).toEqual(['2026-11-28']);
    expect(kept("SELECT * FROM events WHERE status = 'dt = ''2026-11-28''' /* dt = '2026-11-27' */")).toEqual(days);
  });
});

describe('tablesOf', () => {
  it('maps views to the events table and finds the raw archive', () => {
    expect(tablesOf('select * from incidents').map((t) => t.name)).toEqual(['events']);
    expect(tablesOf('select count(*) from raw_records').map((t) => t.name)).toEqual(['raw_records']);
    expect(tablesOf('select 1')).toEqual([]);
  });
});
