import type { Config } from '../../platform/config.js';
import { streamArn, type AwsClients } from '../../platform/aws.js';
import type { Logger } from '../../platform/logger.js';
import { CheckpointStore } from '../consumer/checkpoint-store.js';
import { LocalEventSourceMapping, type EventSourceMappingOptions } from '../runtime/event-source-mapping.js';
import { s3FailureDestination } from './failures.js';
import { createLakeHandler, type LakeHandlerOptions } from './handler.js';
import type { LakeStore } from './lake-store.js';
import { batchSizeOf, batchingWindowMsOf, lakeHandlerOptions } from './wiring.js';

export interface LakeServiceOptions {
  config: Config;
  clients: AwsClients;
  logger?: Logger;
  /** Overrides of the handler's options (tests: hooks). */
  handler?: Partial<LakeHandlerOptions>;
  /** Overrides of the mapping's settings (tests: short polls; retries). */
  mapping?: Partial<EventSourceMappingOptions>;
}

/**
 * The lake on the local stack: the lake handler (the one the Lambda function exports) behind the
 * local event source mapping, configured as the AWS one is — batch size FLUSH_MAX_ROWS (≤ 10,000),
 * batching window min(FLUSH_INTERVAL_S, 300) s, checkpoints in group CONSUMER_GROUP — with AWS's
 * on-failure JSON written to `failures/lake/` in the lake bucket (replayed by `make backfill FAILURES=1`).
 * Retries default to AWS's -1 (until the batch succeeds: nothing skipped).
 */
export function createLakeService(o: LakeServiceOptions): {
  mapping: LocalEventSourceMapping;
  store: LakeStore;
  /** Heads found naming a missing join state: rebuilt from the stream, or restarted empty (shown by /healthz). */
  stateRecoveries: { rebuilt: number; restartedEmpty: number };
} {
  const { config, clients } = o;
  const stateRecoveries = { rebuilt: 0, restartedEmpty: 0 };
  const options: LakeHandlerOptions = {
    ...lakeHandlerOptions(config, clients, o.logger),
    onStateRecovered: (info) => {
      if (info.how === 'stream') stateRecoveries.rebuilt++;
      else stateRecoveries.restartedEmpty++;
    },
    ...o.handler,
  };
  const mapping = new LocalEventSourceMapping({
    kinesis: clients.kinesis,
    streamName: config.STREAM_NAME,
    streamArn: streamArn(config),
    region: config.AWS_REGION,
    functionName: 'pagetrail-lake',
    checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
    group: config.CONSUMER_GROUP,
    handler: createLakeHandler(options),
    batchSize: batchSizeOf(config),
    maximumBatchingWindowMs: batchingWindowMsOf(config),
    startingPosition: 'TRIM_HORIZON',
    maximumRetryAttempts: -1,
    onFailure: s3FailureDestination(options.store),
    logger: o.logger,
    ...o.mapping,
  });
  return { mapping, store: options.store, stateRecoveries };
}
