import { z } from 'zod';

/**
 * Runtime configuration, read once from the environment (see `.env.example` for every name and its
 * local default). An empty *_ENDPOINT means "use the real AWS endpoint".
 */
const optionalUrl = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .pipe(z.url().optional())
  .optional();

const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);

export const ConfigSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  KINESIS_ENDPOINT: optionalUrl,
  S3_ENDPOINT: optionalUrl,
  DYNAMODB_ENDPOINT: optionalUrl,
  STREAM_NAME: z.string().min(1).default('pagetrail-events'),
  STREAM_SHARDS: positiveInt(2),
  LAKE_BUCKET: z.string().min(3).default('pagetrail-lake'),
  CHECKPOINT_TABLE: z.string().min(3).default('pagetrail-checkpoints'),
  LEDGER_TABLE: z.string().min(3).default('pagetrail-dispatch-ledger'),
  /** Paging state: one item per incident (HASH `pk`), TTL attribute `ttl`. */
  INCIDENTS_TABLE: z.string().min(3).default('pagetrail-incidents'),
  /** EventBridge Scheduler (deadlines); locally the emulator `make up` starts. Empty = AWS. */
  SCHEDULER_ENDPOINT: optionalUrl,
  SCHEDULER_GROUP: z.string().min(1).default('pagetrail-deadlines'),
  /** The role the Scheduler assumes to put deadline records on the stream (PutRecord on it only). */
  SCHEDULER_ROLE_ARN: z.string().startsWith('arn:').default('arn:aws:iam::000000000000:role/pagetrail-scheduler'),
  /** The stream's ARN (the Scheduler target); default: built from STREAM_NAME, AWS_REGION and AWS_ACCOUNT_ID. */
  STREAM_ARN: z.string().startsWith('arn:').optional(),
  AWS_ACCOUNT_ID: z.string().regex(/^\d{12}$/).default('000000000000'),
  /** Every AWS SDK call (infra/aws.ts): TCP/TLS connect deadline, ms. */
  AWS_CONNECTION_TIMEOUT_MS: positiveInt(2_000),
  /** Kinesis, DynamoDB and Scheduler: deadline until the response starts, and the longest silence of a socket, ms. */
  AWS_REQUEST_TIMEOUT_MS: positiveInt(5_000),
  /** S3 (Parquet objects of several MB): the same deadline for S3 calls, ms. */
  S3_REQUEST_TIMEOUT_MS: positiveInt(30_000),
  CONSUMER_GROUP: z.string().min(1).default('lake'),
  FLUSH_INTERVAL_S: positiveInt(60),
  FLUSH_MAX_ROWS: positiveInt(50_000),
  JOIN_WINDOW_S: positiveInt(86_400),
  ALLOWED_LATENESS_S: z.coerce.number().int().nonnegative().default(300),
  MAX_STATE_ENTRIES: positiveInt(200_000),
  QUERY_CACHE_DIR: z.string().default('.cache/lake'),
  ENGINE: z.enum(['duckdb', 'athena']).default('duckdb'),
  ATHENA_WORKGROUP: z.string().optional(),
  ATHENA_DATABASE: z.string().default('pagetrail'),
  ATHENA_OUTPUT: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
