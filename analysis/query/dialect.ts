/**
 * The dialect table: Athena (Trino) functions the lake's SQL uses that DuckDB names differently,
 * defined in DuckDB as macros over its own functions. With them, one text of a query runs on both
 * engines (the named queries are written in Trino SQL and run as is on DuckDB). Each entry is tested
 * against the Trino semantics it stands for (dialect.test.ts). See README.md for the differences a
 * macro cannot hide.
 */
export const TRINO_MACROS: readonly { trino: string; duckdb: string; sql: string }[] = [
  { trino: 'to_unixtime(ts)', duckdb: 'epoch(ts)', sql: 'CREATE OR REPLACE MACRO to_unixtime(ts) AS epoch(ts)' },
  {
    trino: 'array_join(array, sep)',
    duckdb: 'array_to_string(array, sep)',
    sql: 'CREATE OR REPLACE MACRO array_join(arr, sep) AS array_to_string(arr, sep)',
  },
  {
    trino: 'regexp_like(s, pattern)',
    duckdb: 'regexp_matches(s, pattern)',
    sql: 'CREATE OR REPLACE MACRO regexp_like(s, pattern) AS regexp_matches(s, pattern)',
  },
  {
    trino: 'from_iso8601_timestamp(s)',
    duckdb: 'CAST(s AS TIMESTAMPTZ)',
    sql: 'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMP WITH TIME ZONE)',
  },
];
