import { loadConfig } from '../../infra/config.js';
import { s3Client } from '../../infra/aws.js';
import { queryDuckDb } from './duckdb-engine.js';
import { queryAthena } from './athena-engine.js';
import { formatTable } from './result.js';

/** `make query SQL="..."`: SQL over the lake on DuckDB (default) or Athena (ENGINE=athena). */
async function main() {
  const sql = process.argv[2]?.trim();
  if (!sql) {
    console.error('usage: make query SQL="SELECT ... FROM alert_events ..."  (tables: events, raw_records; views: alert_events, incidents)');
    process.exit(2);
  }
  const config = loadConfig();
  if (config.ENGINE === 'athena') {
    if (!config.ATHENA_WORKGROUP) throw new Error('ENGINE=athena needs ATHENA_WORKGROUP (and ATHENA_DATABASE)');
    const result = await queryAthena(sql, { region: config.AWS_REGION, workgroup: config.ATHENA_WORKGROUP, database: config.ATHENA_DATABASE, outputLocation: config.ATHENA_OUTPUT });
    console.log(formatTable(result));
    return;
  }
  const result = await queryDuckDb(sql, { s3: s3Client(config), bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR });
  console.log(formatTable(result));
  console.error(`lake objects: ${result.fetched} fetched, ${result.cached} from cache (${config.QUERY_CACHE_DIR})`);
}

main().catch((err) => {
  console.error(`query failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
