import type { Config } from '../../platform/config.js';
import { isShowTables } from './catalog.js';
import { UnknownNamedQueryError } from './errors.js';
import { NAMED_QUERIES, namedQuery } from './named-queries.js';
import { FORMATS, formatResult, type Format, type QueryResult } from './result.js';

// The engines, the S3 client and the lake cache are imported when a query needs them (`make query`
// starts in a fraction of the time when `SELECT 1` loads neither Athena's nor S3's SDK).

export interface QueryCommandOptions {
  /** The SQL to run (`SQL=`), or */
  sql?: string;
  /** a named query (`NAME=`; `list` lists them). */
  name?: string;
  /**
   * `FORMAT=` table (default: long values wrapped in their column, printed vertically when the table cannot fit
   * the width) | vertical (one `column: value` line per field) | csv | json. No format cuts a value.
   */
  format?: string;
  /** The terminal's columns for table and vertical; default 120 (not a terminal). */
  width?: number;
  config: Config;
  /** Where the answer goes (stdout; the text ends with a newline), and the notes about it (stderr, one line each). */
  out: (text: string) => void;
  err: (line: string) => void;
}

export const USAGE =
  'usage: make query SQL="SELECT … FROM incidents" | NAME=<named query>|list  ' +
  '[FORMAT=table|vertical|csv|json] [ENGINE=athena]\n' +
  '  table (default) wraps long values and turns vertical when the rows are wider than the terminal (120 columns\n' +
  '  when not a terminal); vertical: one "column: value" line per field; NULL means none in both\n' +
  '  tables: events, raw_records, errors; views: alert_events, incidents (SQL="SHOW TABLES")';

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = 'UsageError';
  }
}

/**
 * `make query`: runs SQL or a named query on DuckDB over the lake's local cache (default) or on Athena
 * (ENGINE=athena), prints the answer in the chosen format on `out`, and on `err` where the answer came
 * from (objects fetched or cached; the cache alone when S3 is unreachable) and how fresh the lake is.
 * Throws UsageError, UnknownNamedQueryError, UnknownTableError, or the engine's error.
 */
export async function runQueryCommand(opts: QueryCommandOptions): Promise<void> {
  const format = (opts.format?.trim() || 'table') as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`unknown FORMAT "${opts.format}"`);
  const layout = { width: opts.width };
  const name = opts.name?.trim();
  const given = opts.sql?.trim();
  if (name && given) throw new UsageError('give SQL or NAME, not both');
  if (name === 'list') {
    opts.out(
      formatResult(
        { columns: ['name', 'description'], rows: NAMED_QUERIES.map((q) => [q.name, q.description]) },
        format,
        layout,
      ),
    );
    return;
  }
  let sql = given;
  if (name) {
    const q = namedQuery(name);
    if (!q)
      throw new UnknownNamedQueryError(
        name,
        NAMED_QUERIES.map((n) => n.name),
      );
    sql = q.sql;
  }
  if (!sql) throw new UsageError('no query');

  const { config } = opts;
  if (config.ENGINE === 'athena') {
    if (!config.ATHENA_WORKGROUP) throw new UsageError('ENGINE=athena needs ATHENA_WORKGROUP (and ATHENA_DATABASE)');
    const { queryAthena } = await import('./athena-engine.js');
    const result = await queryAthena(sql, {
      region: config.AWS_REGION,
      workgroup: config.ATHENA_WORKGROUP,
      database: config.ATHENA_DATABASE,
      outputLocation: config.ATHENA_OUTPUT,
    });
    opts.out(formatResult(result, format, layout));
    if (isShowTables(sql)) return;
    await printFreshness(opts);
    return;
  }

  const { queryDuckDb, readsLake } = await import('./duckdb-engine.js');
  if (!readsLake(sql)) {
    // Names no lake table or view (SELECT 1, SHOW TABLES, the Trino functions): nothing to fetch, no freshness to tell.
    opts.out(
      formatResult(
        await queryDuckDb(sql, { bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR }),
        format,
        layout,
      ),
    );
    return;
  }
  const [{ s3Client }, { LakeCache }] = await Promise.all([import('../../platform/aws.js'), import('./lake-cache.js')]);
  const s3 = s3Client(config);
  const cache = new LakeCache(s3, config.LAKE_BUCKET, config.QUERY_CACHE_DIR);
  try {
    const r = await queryDuckDb(sql, { s3, bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR, cache });
    if (r.offline) {
      const skipped =
        r.offline.missing > 0 ? `; ${r.offline.missing} listed object(s) not in the cache were skipped` : '';
      opts.err(
        `S3 unreachable (${r.offline.reason}): answered from the local cache (${config.QUERY_CACHE_DIR}), ` +
          `${r.cached} object(s), as of its last listing${skipped}`,
      );
    } else {
      opts.err(`lake objects: ${r.fetched} fetched, ${r.cached} from cache (${config.QUERY_CACHE_DIR})`);
    }
    opts.out(formatResult(r as QueryResult, format, layout));
    await printFreshness(opts, cache);
  } finally {
    s3.destroy();
  }
}

/** The lake's freshness line on `err` (through `cache`, else a new client and cache for the listing). */
async function printFreshness(opts: QueryCommandOptions, given?: import('./lake-cache.js').LakeCache): Promise<void> {
  const { config } = opts;
  const [{ formatFreshness, lakeFreshness }, aws, lakeCache] = await Promise.all([
    import('./freshness.js'),
    given ? undefined : import('../../platform/aws.js'),
    given ? undefined : import('./lake-cache.js'),
  ]);
  const s3 = aws?.s3Client(config);
  const cache = given ?? new lakeCache!.LakeCache(s3!, config.LAKE_BUCKET, config.QUERY_CACHE_DIR);
  try {
    opts.err(formatFreshness(await lakeFreshness(cache)));
  } catch (err) {
    opts.err(`lake freshness unknown: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    s3?.destroy();
  }
}
