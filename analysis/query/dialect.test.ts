import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRINO_MACROS } from './dialect.js';

/** Each macro gives what Trino's function gives (values from the Trino documentation's semantics). */
describe('dialect macros: Trino functions on DuckDB', () => {
  let instance: DuckDBInstance;
  let one: (sql: string) => Promise<unknown>;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    for (const m of TRINO_MACROS) await conn.run(m.sql);
    one = async (sql) => (await conn.runAndReadAll(sql)).getRowsJson()[0][0];
  });
  afterAll(() => instance?.closeSync());

  it('to_unixtime: seconds since the epoch as a double, fractions kept', async () => {
    expect(await one("SELECT to_unixtime(TIMESTAMPTZ '2026-01-01 00:00:01.5+00')")).toBe(1767225601.5);
  });

  it('array_join: elements joined, NULL elements skipped', async () => {
    expect(
      await one(
        "SELECT array_join(array_sort(array_distinct(array_agg(x))), ' ') " +
          "FROM (VALUES ('b'), ('a'), (NULL), ('a')) t(x)",
      ),
    ).toBe('a b');
  });

  it('regexp_like: a match anywhere in the string', async () => {
    expect(await one("SELECT regexp_like('carrier 30003', '300\\d3')")).toBe(true);
    expect(await one("SELECT regexp_like('carrier', '^arr')")).toBe(false);
  });

  it('from_iso8601_timestamp: an ISO 8601 string with its offset', async () => {
    expect(await one("SELECT to_unixtime(from_iso8601_timestamp('2026-01-01T01:00:00+01:00'))")).toBe(1767225600);
  });
});
