import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../platform/config.js';
import { queryAthena } from '../query/athena-engine.js';
import { queryDuckDb } from '../query/duckdb-engine.js';
import { LakeCache } from '../query/lake-cache.js';
import { readDataAge, type DataAge } from './data-age.js';
import { LakeConfigError } from './errors.js';
import type { QueryFn } from './timeline.js';

/** The settings that pick and reach the engine (platform/config.ts). */
export type LakeEngineConfig = Pick<
  Config,
  'ENGINE' | 'AWS_REGION' | 'LAKE_BUCKET' | 'QUERY_CACHE_DIR' | 'ATHENA_WORKGROUP' | 'ATHENA_DATABASE' | 'ATHENA_OUTPUT'
>;

/**
 * One reading of the lake: SQL through the configured engine (ENGINE: DuckDB over the local lake cache, or Athena)
 * and the data's age (data-age.ts) through the same lake cache, so that with S3 down both read the cache and the age
 * says so. `make incident` and `make report` open one for their run; the receiver one per answer (a LakeCache that
 * found S3 down stays offline: a new one tries S3 again).
 */
export interface LakeSession {
  readonly engine: 'duckdb' | 'athena';
  query: QueryFn;
  dataAge(): Promise<DataAge>;
}

/**
 * A session over `s3` (the caller's client: its timeouts, its lifetime). `athenaTimeoutMs`: each Athena query's
 * deadline (default none).
 */
export function lakeSession(
  config: LakeEngineConfig,
  s3: S3Client,
  opts: { now?: () => number; athenaTimeoutMs?: number } = {},
): LakeSession {
  const cache = new LakeCache(s3, config.LAKE_BUCKET, config.QUERY_CACHE_DIR);
  const now = opts.now ?? Date.now;
  // objects a DuckDB query's partitions listed but the cache lacked (S3 down): the age line says so
  let missing = 0;
  const dataAge = () => readDataAge(cache, now, () => missing);
  if (config.ENGINE === 'athena') {
    const workgroup = config.ATHENA_WORKGROUP;
    if (!workgroup) throw new LakeConfigError('ATHENA_WORKGROUP');
    const athena = {
      region: config.AWS_REGION,
      workgroup,
      database: config.ATHENA_DATABASE,
      outputLocation: config.ATHENA_OUTPUT,
      timeoutMs: opts.athenaTimeoutMs,
    };
    return { engine: 'athena', query: (sql) => queryAthena(sql, athena), dataAge };
  }
  return {
    engine: 'duckdb',
    query: async (sql) => {
      const r = await queryDuckDb(sql, { s3, bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR, cache });
      missing = Math.max(missing, r.offline?.missing ?? 0);
      return r;
    },
    dataAge,
  };
}
