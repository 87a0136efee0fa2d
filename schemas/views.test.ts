import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_TABLE, type EventRow } from './lake.js';
import { VIEWS } from './views.js';
import { VIEW_COLUMNS } from '../infra/cdk/glue-columns.js';

/**
 * The views on DuckDB over a small `events` table: semantics of escalation_time and the verdict, and
 * that the Glue view columns the CDK app declares are exactly the columns the SQL yields.
 */
const T = Date.parse('2026-11-28T10:00:00.000Z');
const duckType = { string: 'VARCHAR', int: 'INTEGER', bigint: 'BIGINT', timestamp: 'TIMESTAMPTZ', binary: 'BLOB' } as const;

function row(over: Partial<EventRow>): EventRow {
  return {
    event_id: 'e', kind: 'receipt', incident_id: 'inc_1', alarm_arn: 'arn:aws:cloudwatch:x', alarm_name: 'api', severity: 'P1', channel: 'sms', provider: 'twilio',
    message_id: 'SM1', recipient: '+1', person: 'alice', level: 1, status: 'delivered', provider_status: null, error_code: null, error_message: null, reason: null,
    timestamp: T, dispatched_at: null, escalate_at: null, to_level: null, join_status: 'matched', detail: null, shard_id: 's', sequence_number: '1', arrival_time: T, ...over,
  };
}

let conn: Awaited<ReturnType<DuckDBInstance['connect']>>;
beforeAll(async () => {
  conn = await (await DuckDBInstance.create(':memory:')).connect();
  await conn.run(`CREATE TABLE events (${EVENTS_TABLE.columns.map((c) => `"${c.name}" ${duckType[c.type]}`).join(', ')}, dt VARCHAR)`);
  const rows = [
    // inc_1: opened at T, email opened at +40 s, level-1 deadline +300 s, acked: never escalated.
    row({ event_id: 'a1', kind: 'alarm', status: 'alarm', channel: null, level: null }),
    row({ event_id: 'd1', kind: 'dispatch', status: 'sent', channel: 'email', message_id: 're_1', timestamp: T + 1000, escalate_at: T + 300_000 }),
    row({ event_id: 'r1', status: 'opened', channel: 'email', message_id: 're_1', timestamp: T + 40_000, escalate_at: T + 300_000 }),
    row({ event_id: 'r1', status: 'opened', channel: 'email', message_id: 're_1', timestamp: T + 40_000, escalate_at: T + 300_000, sequence_number: '9' }), // a second copy (backfill overlap)
    // inc_2: delivered, never opened, escalated at +300 s; the secondary reads at +330 s.
    row({ event_id: 'a2', incident_id: 'inc_2', kind: 'alarm', status: 'alarm', level: null }),
    row({ event_id: 'r2', incident_id: 'inc_2', status: 'delivered', escalate_at: T + 300_000 }),
    row({ event_id: 'x2', incident_id: 'inc_2', kind: 'escalation', status: 'escalated', reason: 'deadline', level: 1, to_level: 2, timestamp: T + 300_000 }),
    row({ event_id: 'r3', incident_id: 'inc_2', status: 'opened', channel: 'whatsapp', level: 2, timestamp: T + 330_000, escalate_at: T + 600_000 }),
  ];
  for (const r of rows) {
    const vals = EVENTS_TABLE.columns.map((c) => {
      const v = r[c.name as keyof EventRow];
      if (v === null) return 'NULL';
      return c.type === 'timestamp' ? `make_timestamptz(${Number(v) * 1000})` : typeof v === 'number' ? String(v) : `'${String(v)}'`;
    });
    await conn.run(`INSERT INTO events VALUES (${vals.join(', ')}, '2026-11-28')`);
  }
  for (const v of Object.values(VIEWS)) await conn.run(v);
});
afterAll(() => conn?.closeSync());

const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowsJson();

describe('views', () => {
  it('reads each event once, and escalation_time is the level escalation or else its deadline', async () => {
    expect(await q("SELECT event_id, epoch(escalation_time) - epoch(timestamp '2026-11-28 10:00:00+00') FROM alert_events WHERE kind = 'receipt' ORDER BY event_id")).toEqual([
      ['r1', 300],
      ['r2', 300],
      ['r3', 600],
    ]);
  });

  it('answers the seed query', async () => {
    expect(await q("SELECT incident_id, channel, status FROM alert_events WHERE status = 'opened' AND timestamp < escalation_time ORDER BY incident_id")).toEqual([
      ['inc_1', 'email', 'opened'],
      ['inc_2', 'whatsapp', 'opened'],
    ]);
  });

  it('gives the verdict per incident', async () => {
    expect(await q('SELECT incident_id, opened_before_escalation, pages FROM incidents ORDER BY incident_id')).toEqual([
      ['inc_1', 'yes', '1'],
      ['inc_2', 'no', '0'],
    ]);
  });

  it.each(Object.keys(VIEW_COLUMNS) as (keyof typeof VIEW_COLUMNS)[])('the Glue columns of %s are the columns its SQL yields', async (view) => {
    const described = (await q(`DESCRIBE ${view}`)).map((r) => r[0]);
    expect(described).toEqual(VIEW_COLUMNS[view].map((c) => c.name));
  });
});
