import { loadConfig, type Config } from '../../platform/config.js';
import { awsClients, type AwsClients } from '../../platform/aws.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { CheckpointStore } from '../consumer/checkpoint-store.js';
import type { KinesisBatchHandler } from '../runtime/kinesis-event.js';
import { createLakeHandler, type LakeHandlerOptions } from './handler.js';
import type { JoinOptions } from './join.js';
import { LakeStore } from './lake-store.js';

/** The heads' group in the checkpoint table: `<CONSUMER_GROUP>-head` (default `lake-head`). */
export const headGroupOf = (config: Pick<Config, 'CONSUMER_GROUP'>): string => `${config.CONSUMER_GROUP}-head`;

/** Records per invocation of the lake handler = per flush: FLUSH_MAX_ROWS (at most Lambda's 10,000). */
export const batchSizeOf = (config: Pick<Config, 'FLUSH_MAX_ROWS'>): number => config.FLUSH_MAX_ROWS;

/** The mapping's batching window: FLUSH_INTERVAL_S, at most Lambda's 300 s. */
export const batchingWindowMsOf = (config: Pick<Config, 'FLUSH_INTERVAL_S'>): number =>
  Math.min(config.FLUSH_INTERVAL_S, 300) * 1000;

export const joinOptionsOf = (
  config: Pick<Config, 'JOIN_WINDOW_S' | 'ALLOWED_LATENESS_S' | 'MAX_STATE_ENTRIES' | 'RECEIPT_WAIT_S'>,
): JoinOptions => ({
  windowMs: config.JOIN_WINDOW_S * 1000,
  allowedLatenessMs: config.ALLOWED_LATENESS_S * 1000,
  maxStateEntries: config.MAX_STATE_ENTRIES,
  maxWaitMs: config.RECEIPT_WAIT_S === 0 ? Infinity : config.RECEIPT_WAIT_S * 1000,
});

/**
 * The live lake handler's options from the configuration and SDK clients (shared by the Lambda entry and the local
 * service; backfill and the failure replay flush without the handler, so they never put ticks).
 */
export function lakeHandlerOptions(config: Config, clients: AwsClients, logger?: Logger): LakeHandlerOptions {
  return {
    store: new LakeStore(clients.s3, config.LAKE_BUCKET),
    heads: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
    headGroup: headGroupOf(config),
    kinesis: clients.kinesis,
    streamName: config.STREAM_NAME,
    join: joinOptionsOf(config),
    // ticks keep a quiet shard's clock going, so a receipt waiting for its dispatch is written within about
    // RECEIPT_WAIT_S + FLUSH_INTERVAL_S (ticks.ts; none when RECEIPT_WAIT_S=0)
    ticks: {},
    logger,
  };
}

/**
 * The lake handler from the environment: config via `loadConfig` (throws a ConfigError naming the bad
 * variables), clients via `awsClients`. Used by the AWS Lambda entry (processors/lake/lambda.ts) and
 * by the local service (processors/lake/main.ts).
 */
export async function lakeHandlerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<KinesisBatchHandler> {
  const config = loadConfig(env);
  return createLakeHandler(
    lakeHandlerOptions(config, awsClients(config), createLogger('lake-handler', config.LOG_LEVEL)),
  );
}
