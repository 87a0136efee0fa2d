import * as z from 'zod/mini';
import { en } from 'zod/locales';

// zod/mini (the same validation core as `zod`, tree-shakable): every command loads this module, and the
// full `zod` API costs more to load than DuckDB does to answer `SELECT 1`. English messages, as `zod` sets.
z.config(en());

/**
 * Runtime configuration, read once from the environment (see `.env.example` for every name and its
 * local default). An empty *_ENDPOINT means "use the real AWS endpoint".
 */
const optionalUrl = z.optional(
  z.pipe(
    z.pipe(
      z.string().check(z.trim()),
      z.transform((s: string) => (s === '' ? undefined : s)),
    ),
    z.optional(z.url()),
  ),
);

const positiveInt = (def: number) => z._default(z.coerce.number().check(z.int(), z.positive()), def);
const name = (min: number, def: string) => z._default(z.string().check(z.minLength(min)), def);

export const ConfigSchema = z.object({
  AWS_REGION: name(1, 'us-east-1'),
  KINESIS_ENDPOINT: optionalUrl,
  S3_ENDPOINT: optionalUrl,
  DYNAMODB_ENDPOINT: optionalUrl,
  STREAM_NAME: name(1, 'pagetrail-events'),
  STREAM_SHARDS: positiveInt(2),
  LAKE_BUCKET: name(3, 'pagetrail-lake'),
  CHECKPOINT_TABLE: name(3, 'pagetrail-checkpoints'),
  LEDGER_TABLE: name(3, 'pagetrail-dispatch-ledger'),
  /** Paging state: one item per incident (HASH `pk`), TTL attribute `ttl`. */
  INCIDENTS_TABLE: name(3, 'pagetrail-incidents'),
  /** The console's sign-in links, rate counters and API keys (producers/receiver/auth/store.ts); TTL `ttl`. */
  CONSOLE_AUTH_TABLE: name(3, 'pagetrail-console-auth'),
  /** EventBridge Scheduler (deadlines); locally the emulator `make up` starts. Empty = AWS. */
  SCHEDULER_ENDPOINT: optionalUrl,
  SCHEDULER_GROUP: name(1, 'pagetrail-deadlines'),
  /** The role the Scheduler assumes to put deadline records on the stream (PutRecord on it only). */
  SCHEDULER_ROLE_ARN: z._default(
    z.string().check(z.startsWith('arn:')),
    'arn:aws:iam::000000000000:role/pagetrail-scheduler',
  ),
  /** SQS dead-letter queue of every deadline schedule (set by the AWS stack); empty or unset = none. */
  SCHEDULER_DLQ_ARN: z.optional(
    z.pipe(
      z.pipe(
        z.string().check(z.trim()),
        z.transform((s: string) => (s === '' ? undefined : s)),
      ),
      z.optional(z.string().check(z.startsWith('arn:'))),
    ),
  ),
  /** The stream's ARN (the Scheduler target); default: built from STREAM_NAME, AWS_REGION and AWS_ACCOUNT_ID. */
  STREAM_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
  AWS_ACCOUNT_ID: z._default(z.string().check(z.regex(/^\d{12}$/)), '000000000000'),
  /** Every AWS SDK call (platform/aws.ts): TCP/TLS connect deadline, ms. */
  AWS_CONNECTION_TIMEOUT_MS: positiveInt(2_000),
  /** Kinesis, DynamoDB and Scheduler: deadline until the response starts, and the longest silence of a socket, ms. */
  AWS_REQUEST_TIMEOUT_MS: positiveInt(5_000),
  /** S3 (Parquet objects of several MB): the same deadline for S3 calls, ms. */
  S3_REQUEST_TIMEOUT_MS: positiveInt(30_000),
  /** The lake's checkpoint group; its shard heads use `<CONSUMER_GROUP>-head`. */
  CONSUMER_GROUP: name(1, 'lake'),
  /**
   * The lake mapping's batching window, s: any integer >= 1, used up to 300 (Lambda's limit; wiring.ts). Default 10:
   * a receipt is queryable within about that (docs/design/lake.md "Freshness and cost").
   */
  FLUSH_INTERVAL_S: positiveInt(10),
  /**
   * Stream records per lake flush, locally and in `make backfill`: 1..10,000 (Lambda's batch limit),
   * default 10,000. On AWS the lake mapping's batch size (10,000, infra/cdk/processors.ts) decides.
   */
  FLUSH_MAX_ROWS: z._default(z.coerce.number().check(z.int(), z.positive(), z.lte(10_000)), 10_000),
  /** How long a dispatch stays joinable, s (event time). */
  JOIN_WINDOW_S: positiveInt(86_400),
  ALLOWED_LATENESS_S: z._default(z.coerce.number().check(z.int(), z.nonnegative()), 300),
  /**
   * How long a receipt waits for its dispatch, s of the shard's arrival times, before it is written unmatched
   * (reason dispatch_wait); 0: no such bound (it waits for the watermark, ALLOWED_LATENESS_S of event time).
   */
  RECEIPT_WAIT_S: z._default(z.coerce.number().check(z.int(), z.nonnegative()), 10),
  MAX_STATE_ENTRIES: positiveInt(200_000),
  QUERY_CACHE_DIR: z._default(z.string(), '.cache/lake'),
  ENGINE: z._default(z.enum(['duckdb', 'athena']), 'duckdb'),
  ATHENA_WORKGROUP: z.optional(z.string()),
  ATHENA_DATABASE: z._default(z.string(), 'pagetrail'),
  ATHENA_OUTPUT: z.optional(z.string()),
  LOG_LEVEL: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { name: string; message: string }[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.name}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ name: String(i.path[0] ?? '?'), message: i.message })));
  }
  return { ...parsed.data, ...overrides };
}
