import { z } from 'zod';
import { loadConfig, type Config } from '../../platform/config.js';
import { awsClients } from '../../platform/aws.js';
import { createLogger } from '../../platform/logger.js';
import { runService } from '../../platform/service.js';
import { createLakeService } from './service.js';
import { batchSizeOf, batchingWindowMsOf, headGroupOf } from './wiring.js';

/**
 * The lake on the local stack: `node --import tsx processors/lake/main.ts` (platform/service.ts: health,
 * drain). The local event source mapping calls the lake handler — the same one the Lambda function
 * exports — with the same events; each batch is one flush. SIGTERM/SIGINT drain it (the batch in
 * flight finishes and is checkpointed). /healthz answers 503 while the mapping is degraded (an outage
 * of Kinesis, S3 or DynamoDB: it backs off and retries, it never stops on one). It also counts heads found
 * naming a missing join state (`stateRecoveries`: rebuilt from the stream, or restarted empty).
 *
 * LAKE_MAX_RETRY_ATTEMPTS (default -1: retry a failing batch until it succeeds) bounds the retries;
 * a batch given up on goes to `failures/lake/` (AWS's on-failure JSON), replayed by
 * `make backfill FAILURES=1`.
 */
const log = createLogger('lake');
let config: Config;
let retries: number;
try {
  config = loadConfig();
  retries = z.coerce
    .number()
    .int()
    .min(-1)
    .default(-1)
    .parse(process.env.LAKE_MAX_RETRY_ATTEMPTS || undefined);
} catch (err) {
  log.fatal(err instanceof Error ? err.message : String(err)); // names the bad variables, never their values
  process.exit(2);
}
const { mapping, stateRecoveries } = createLakeService({
  config,
  clients: awsClients(config),
  logger: log,
  mapping: { maximumRetryAttempts: retries },
});

log.info(
  {
    stream: config.STREAM_NAME,
    bucket: config.LAKE_BUCKET,
    group: config.CONSUMER_GROUP,
    headGroup: headGroupOf(config),
    batchSize: batchSizeOf(config),
    batchingWindowMs: batchingWindowMsOf(config),
    maximumRetryAttempts: retries,
  },
  'lake handler on the local event source mapping',
);
await runService(
  {
    name: 'lake',
    healthPort: Number(process.env.LAKE_HEALTH_PORT ?? 8081),
    run: () => mapping.run(),
    stop: () => mapping.stop(),
    status: () => ({ ...mapping.status(), stateRecoveries }),
  },
  log,
);
