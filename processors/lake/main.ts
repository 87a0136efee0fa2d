import { loadConfig, type Config } from '../../infra/config.js';
import { awsClients } from '../../infra/aws.js';
import { createLogger } from '../../infra/logger.js';
import { runService } from '../../infra/service.js';
import { CheckpointStore } from '../consumer/checkpoint-store.js';
import { LakeProcessor } from './lake-processor.js';
import { LakeStore } from './lake-store.js';

/**
 * The lake processor service: `node --import tsx processors/lake/main.ts` (infra/service.ts: health,
 * drain). SIGTERM/SIGINT drain it: stop reading, flush and checkpoint every shard, exit 0.
 */
const log = createLogger('lake-processor');
let config: Config;
try {
  config = loadConfig();
} catch (err) {
  log.fatal(err instanceof Error ? err.message : String(err)); // names the bad variables, never their values
  process.exit(2);
}
const clients = awsClients(config);
const processor = new LakeProcessor({
  kinesis: clients.kinesis,
  streamName: config.STREAM_NAME,
  store: new LakeStore(clients.s3, config.LAKE_BUCKET),
  checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
  group: config.CONSUMER_GROUP,
  flushIntervalMs: config.FLUSH_INTERVAL_S * 1000,
  flushMaxRecords: config.FLUSH_MAX_ROWS,
  join: { windowMs: config.JOIN_WINDOW_S * 1000, allowedLatenessMs: config.ALLOWED_LATENESS_S * 1000, maxStateEntries: config.MAX_STATE_ENTRIES },
  logger: log,
});

log.info({ stream: config.STREAM_NAME, bucket: config.LAKE_BUCKET, group: config.CONSUMER_GROUP, flushIntervalS: config.FLUSH_INTERVAL_S }, 'lake processor configured');
await runService({ name: 'lake processor', healthPort: Number(process.env.LAKE_HEALTH_PORT ?? 8081), run: () => processor.run(), stop: () => processor.stop() }, log);
