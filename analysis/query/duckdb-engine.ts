import type { DuckDBResultReader } from '@duckdb/node-api';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ColumnType, TableDef } from '../../schemas/lake.js';
import { VIEWS } from '../../schemas/views.js';
import { CATALOG, ERRORS_TABLE, QUERY_TABLES, isShowTables } from './catalog.js';
import { TRINO_MACROS } from './dialect.js';
import { UnknownTableError } from './errors.js';
import { LakeCache, type OfflineState } from './lake-cache.js';
import { partitionFilter, tablesOf } from './partitions.js';
import type { QueryResult } from './result.js';

const duckType: Record<ColumnType, string> = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
  binary: 'BLOB',
};

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

function tableSql(table: TableDef, format: 'parquet' | 'jsonl', files: string[]): string {
  if (files.length === 0) {
    // An empty lake still answers (with no rows) rather than failing on a missing table.
    const cols = table.columns.map((c) => `CAST(NULL AS ${duckType[c.type]}) AS "${c.name}"`).join(', ');
    return `CREATE OR REPLACE VIEW ${table.name} AS SELECT ${cols}, CAST(NULL AS VARCHAR) AS dt WHERE false`;
  }
  const list = files.map(sqlString).join(', ');
  if (format === 'parquet') {
    return (
      `CREATE OR REPLACE VIEW ${table.name} AS SELECT * FROM read_parquet([${list}], ` +
      `hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)`
    );
  }
  // JSON Lines: every column read as text (a line missing a field gives NULL), then typed.
  const read = `{${table.columns.map((c) => `'${c.name}': 'VARCHAR'`).join(', ')}}`;
  const cols = table.columns.map((c) => `CAST("${c.name}" AS ${duckType[c.type]}) AS "${c.name}"`).join(', ');
  return (
    `CREATE OR REPLACE VIEW ${table.name} AS SELECT ${cols}, dt FROM read_json([${list}], ` +
    `format = 'newline_delimited', columns = ${read}, hive_partitioning = true, hive_types = {'dt': VARCHAR})`
  );
}

export interface DuckDbQueryOptions {
  /** Needed when the query reads the lake (`readsLake`) and no `cache` is given. */
  s3?: S3Client;
  bucket: string;
  cacheDir: string;
  /** DuckDB threads (default 2). */
  threads?: number;
  /** The cache to read through (default: a new one over `cacheDir`); pass one to share its offline state. */
  cache?: LakeCache;
}

export interface DuckDbQueryResult extends QueryResult {
  /** Lake objects fetched from S3, and read from the cache unchanged. */
  fetched: number;
  cached: number;
  /** Answered from the cache (S3 unreachable): why, and how many listed objects were not in the cache. */
  offline?: OfflineState & { missing: number };
}

/** `errors` is read only when the query names it (over-inclusive, like `tablesOf`). */
const readsErrors = (sql: string) => /\berrors\b/i.test(sql);

/**
 * Whether a query names a lake table or view (over-inclusive). One that does not (`SELECT 1`, the Trino
 * functions) is answered without S3, the cache or the lake's views.
 */
export const readsLake = (sql: string) => !isShowTables(sql) && (tablesOf(sql).length > 0 || readsErrors(sql));

/**
 * @duckdb/node-api, loaded at the first query. A bundle that keeps it (make query's, infra/bin.ts) hands a dynamic
 * import of it over as a CommonJS namespace, its exports under `default`; tsx and the receiver's external load give
 * them by name.
 */
async function duckdbModule(): Promise<typeof import('@duckdb/node-api')> {
  const m = (await import('@duckdb/node-api')) as typeof import('@duckdb/node-api') & {
    default?: typeof import('@duckdb/node-api');
  };
  return m.DuckDBInstance ? m : m.default!;
}

/**
 * The local Athena: the lake's tables (events, raw_records, errors) and views in an in-memory DuckDB
 * over a local cache of exactly the objects of the partitions the query reads (pruned only where that
 * cannot change the answer: `partitionPlan`; otherwise every partition of each table the query
 * names), with the Trino functions of `dialect.ts` defined. `SHOW TABLES` answers from the catalog; a
 * table the lake does not have is an UnknownTableError listing those it has.
 */
export async function queryDuckDb(sql: string, opts: DuckDbQueryOptions): Promise<DuckDbQueryResult> {
  if (isShowTables(sql))
    return {
      columns: ['name', 'kind', 'description'],
      rows: CATALOG.map((c) => [c.name, c.kind, c.description]),
      fetched: 0,
      cached: 0,
    };
  const needed = new Set<string>(tablesOf(sql).map((t) => t.name));
  if (readsErrors(sql)) needed.add(ERRORS_TABLE.name);
  const lake = needed.size > 0;
  // A cache only for a query that reads the lake. (Imported statically: a dynamic import would make a bundle keep the
  // whole S3 client, every command, which the receiver's grants check refuses: infra/cdk/sdk-calls.ts.)
  let cache = opts.cache;
  if (lake && !cache) {
    if (!opts.s3) throw new TypeError('queryDuckDb: a query that reads the lake needs opts.s3 or opts.cache');
    cache = new LakeCache(opts.s3, opts.bucket, opts.cacheDir);
  }
  // Loaded at the first query: a native module, which the receiver's bundle leaves out (infra/lambda/bundle.ts; on
  // AWS it reads the lake through Athena).
  const { DuckDBInstance } = await duckdbModule();
  const instance = await DuckDBInstance.create(':memory:', { threads: String(opts.threads ?? 2) });
  const conn = await instance.connect();
  try {
    let fetched = 0;
    let cached = 0;
    let missing = 0;
    if (lake) {
      for (const { def, format } of QUERY_TABLES) {
        const synced = needed.has(def.name)
          ? await cache!.sync(def, partitionFilter(sql, def), format)
          : { files: [], fetched: 0, cached: 0, missing: 0 };
        fetched += synced.fetched;
        cached += synced.cached;
        missing += synced.missing;
        await conn.run(tableSql(def, format, synced.files));
      }
    }
    for (const macro of TRINO_MACROS) await conn.run(macro.sql);
    if (lake) for (const view of Object.values(VIEWS)) await conn.run(view);
    let reader: DuckDBResultReader;
    try {
      reader = await conn.runAndReadAll(sql);
    } catch (err) {
      const m = err instanceof Error ? /Table with name "?([^"\s!]+)"? does not exist/.exec(err.message) : null;
      if (m) throw new UnknownTableError(m[1], CATALOG, { cause: err });
      throw err;
    }
    return {
      columns: reader.columnNames(),
      rows: reader.getRowsJson() as unknown[][],
      fetched,
      cached,
      ...(cache?.offline ? { offline: { ...cache.offline, missing } } : {}),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
