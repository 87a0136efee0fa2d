import { DuckDBInstance } from '@duckdb/node-api';
import type { S3Client } from '@aws-sdk/client-s3';
import { EVENTS_TABLE, LAKE_TABLES, type ColumnType, type TableDef } from '../../schemas/lake.js';
import { VIEWS } from '../../schemas/views.js';
import { LakeCache } from './lake-cache.js';
import { partitionFilter, tablesOf } from './partitions.js';
import type { QueryResult } from './result.js';

const duckType: Record<ColumnType, string> = { string: 'VARCHAR', int: 'INTEGER', bigint: 'BIGINT', timestamp: 'TIMESTAMP WITH TIME ZONE', binary: 'BLOB' };

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

function tableSql(table: TableDef, files: string[]): string {
  if (files.length === 0) {
    // An empty lake still answers (with no rows) rather than failing on a missing table.
    const cols = table.columns.map((c) => `CAST(NULL AS ${duckType[c.type]}) AS "${c.name}"`).join(', ');
    return `CREATE OR REPLACE VIEW ${table.name} AS SELECT ${cols}, CAST(NULL AS VARCHAR) AS dt WHERE false`;
  }
  const list = files.map(sqlString).join(', ');
  return `CREATE OR REPLACE VIEW ${table.name} AS SELECT * FROM read_parquet([${list}], hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)`;
}

/**
 * The local Athena: the lake's tables and views in an in-memory DuckDB over a local cache of exactly
 * the objects of the partitions the query reads (pruned only where that cannot change the answer:
 * `partitionPlan`; otherwise every partition of each table the query names).
 */
export async function queryDuckDb(sql: string, opts: { s3: S3Client; bucket: string; cacheDir: string; threads?: number }): Promise<QueryResult & { fetched: number; cached: number }> {
  const cache = new LakeCache(opts.s3, opts.bucket, opts.cacheDir);
  const needed = tablesOf(sql);
  const instance = await DuckDBInstance.create(':memory:', { threads: String(opts.threads ?? 2) });
  const conn = await instance.connect();
  try {
    let fetched = 0;
    let cached = 0;
    for (const table of LAKE_TABLES) {
      const files = needed.includes(table) ? await cache.sync(table, partitionFilter(sql, table)) : { files: [], fetched: 0, cached: 0 };
      fetched += files.fetched;
      cached += files.cached;
      await conn.run(tableSql(table, files.files));
    }
    if (needed.includes(EVENTS_TABLE)) for (const view of Object.values(VIEWS)) await conn.run(view);
    const reader = await conn.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowsJson() as unknown[][], fetched, cached };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
