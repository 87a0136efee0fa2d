import { loadConfig, type Config } from '../../platform/config.js';
import { awsClients, streamArn } from '../../platform/aws.js';
import { createLogger } from '../../platform/logger.js';
import { runService } from '../../platform/service.js';
import { CheckpointStore } from '../consumer/checkpoint-store.js';
import { LocalEventSourceMapping } from '../runtime/event-source-mapping.js';
import type { KinesisBatchHandler } from '../runtime/kinesis-event.js';
import { loadPagingConfig, type PagingConfig } from './config.js';
import { DependencyHealth, withDependencies } from './dependency-health.js';
import { pagingHandlerFromEnv } from './wiring.js';

/**
 * The paging handler on the local stack: `node --import tsx processors/paging/main.ts`. The local
 * event source mapping (processors/runtime/event-source-mapping.ts) stands in for Lambda's: it reads
 * every shard (parents before children), calls the same handler the Lambda function exports with
 * the same events, and checkpoints after each batch in DynamoDB. SIGTERM/SIGINT drain it (the batch
 * in flight finishes and is checkpointed). A bad setting or on-call file stops start-up naming it;
 * an outage of Kinesis, DynamoDB or a provider never stops it (it backs off and says so on /healthz).
 * /healthz is `degraded` (503) with a reason per failing dependency: the stream and tables (the mapping's),
 * the Scheduler and each provider (hanging or refusing: dependency-health.ts, also under `dependencies`
 * with the failure counts); a Scheduler outage delays only deadlines, never a page (effects.ts).
 */
const log = createLogger('paging');
const health = new DependencyHealth({ logger: log });
let handler: KinesisBatchHandler;
let config: Config;
let paging: PagingConfig;
try {
  config = loadConfig();
  paging = loadPagingConfig();
  handler = pagingHandlerFromEnv(process.env, log, health);
} catch (err) {
  log.fatal(err instanceof Error ? err.message : String(err));
  process.exit(2);
}
const clients = awsClients(config);
const mapping = new LocalEventSourceMapping({
  kinesis: clients.kinesis,
  streamName: config.STREAM_NAME,
  streamArn: streamArn(config),
  region: config.AWS_REGION,
  functionName: 'pagetrail-paging',
  checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
  group: paging.PAGING_GROUP,
  handler,
  batchSize: paging.PAGING_BATCH_SIZE,
  maximumBatchingWindowMs: paging.PAGING_BATCH_WINDOW_MS,
  pollIntervalMs: paging.PAGING_POLL_MS,
  startingPosition: 'TRIM_HORIZON',
  logger: log,
});

log.info(
  { stream: config.STREAM_NAME, oncall: paging.ONCALL_FILE },
  'paging handler on the local event source mapping',
);
await runService(
  {
    name: 'paging',
    healthPort: Number(process.env.PAGING_HEALTH_PORT ?? 8082),
    run: () => mapping.run(),
    stop: () => mapping.stop(),
    status: () => withDependencies(mapping.status(), health),
  },
  log,
);
