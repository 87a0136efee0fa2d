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
