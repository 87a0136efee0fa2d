import { DuckDBInstance } from '@duckdb/node-api';
import { EVENTS_TABLE, type EventRow } from '../../schemas/lake.js';
import { VIEWS } from '../../schemas/views.js';

export type DuckConnection = Awaited<ReturnType<DuckDBInstance['connect']>>;

const duckType = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  timestamp: 'TIMESTAMPTZ',
  binary: 'BLOB',
} as const;

/** An in-memory DuckDB with the lake's `events` table holding `rows` (one `dt`), and every view over it. */
export async function eventsWithViews(rows: readonly EventRow[]): Promise<DuckConnection> {
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  await conn.run(
    `CREATE TABLE events (${EVENTS_TABLE.columns.map((c) => `"${c.name}" ${duckType[c.type]}`).join(', ')}, ` +
      `dt VARCHAR)`,
  );
  for (const r of rows) {
    const vals = EVENTS_TABLE.columns.map((c) => {
      const v = r[c.name as keyof EventRow];
      if (v === null) return 'NULL';
      return c.type === 'timestamp'
        ? `make_timestamptz(${Number(v) * 1000})`
        : typeof v === 'number'
          ? String(v)
          : `'${String(v)}'`;
    });
    await conn.run(`INSERT INTO events VALUES (${vals.join(', ')}, '2026-11-28')`);
  }
  for (const v of Object.values(VIEWS)) await conn.run(v);
  return conn;
}

/**
 * A builder of `events` rows for view tests: a matched, delivered SMS receipt at `base.timestamp` with every other
 * column empty, then `base`, then each call's fields. Event ids are `e001`, `e002`… unless `base` or the call
 * names one.
 */
export function eventRowBuilder(base: Partial<EventRow> & Pick<EventRow, 'timestamp'>) {
  let n = 0;
  return (over: Partial<EventRow>): EventRow => ({
    event_id: `e${String(++n).padStart(3, '0')}`,
    kind: 'receipt',
    incident_id: 'inc_1',
    alarm_arn: 'arn:aws:cloudwatch:us-east-1:1:alarm:api',
    alarm_name: 'api',
    source: null,
    severity: 'P1',
    channel: 'sms',
    provider: 'twilio',
    route: 'twilio',
    message_id: null,
    recipient: null,
    person: null,
    level: null,
    status: 'delivered',
    provider_status: null,
    error_code: null,
    error_message: null,
    reason: null,
    dispatched_at: null,
    escalate_at: null,
    to_level: null,
    join_status: 'matched',
    detail: null,
    shard_id: 's',
    sequence_number: '1',
    arrival_time: base.timestamp,
    ...base,
    ...over,
  });
}

/** What a receipt row carries over from the dispatch row it answers: its message, person, level and times. */
export function receiptOf(dispatch: EventRow): Partial<EventRow> {
  const { channel, provider, route, message_id, recipient, person, level, escalate_at } = dispatch;
  const times = { dispatched_at: dispatch.timestamp, escalate_at };
  return { channel, provider, route, message_id, recipient, person, level, ...times };
}
