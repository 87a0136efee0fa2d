import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeStreamSummaryCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { KinesisProducer } from '../../producers/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { listShards } from '../../processors/consumer/shards.js';
import { LakeProcessor } from '../../processors/lake/lake-processor.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { queryDuckDb } from '../../processors/query/duckdb-engine.js';
import type { FlushBatch } from '../../processors/lake/shard-pipeline.js';
import { T0, dispatch, receipt } from '../fixtures/records.js';

/**
 * A reshard while the lake processor runs: the parent is read to its end and flushed, and the child
 * starts from the parent's join state, so a receipt on the child still joins the dispatch read from
 * the parent.
 */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());

describe('lake processor across a shard split', () => {
  it('hands the join state from parent to children', async () => {
    const { clients, config } = stack;
    const producer = new KinesisProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME });
    const flushed: FlushBatch[] = [];
    const store = new LakeStore(clients.s3, config.LAKE_BUCKET);
    const lake = new LakeProcessor({ kinesis: clients.kinesis, streamName: config.STREAM_NAME, store, checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }), flushIntervalMs: 50, onFlush: (b) => flushed.push(b) });
    const running = lake.run();

    await producer.putStreamRecords([dispatch('SM1', T0), dispatch('SM2', T0 + 10)]);
    const [parent] = await listShards(clients.kinesis, config.STREAM_NAME);
    const mid = ((BigInt(parent.HashKeyRange!.StartingHashKey!) + BigInt(parent.HashKeyRange!.EndingHashKey!)) / 2n).toString();
    await clients.kinesis.send(new SplitShardCommand({ StreamName: config.STREAM_NAME, ShardToSplit: parent.ShardId, NewStartingHashKey: mid }));
    for (let i = 0; i < 200; i++) {
      const s = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: config.STREAM_NAME }));
      if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const written = await producer.putStreamRecords([receipt('SM1', 'delivered', T0 + 1000), receipt('SM2', 'opened', T0 + 2000)]);
    expect(written[0].shardId).not.toBe(parent.ShardId);

    const deadline = Date.now() + 20_000;
    while (!flushed.some((b) => b.shardId === written[0].shardId && b.events.some((e) => e.kind === 'receipt')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await lake.stop();
    await running;

    const res = await queryDuckDb("SELECT message_id, join_status, person FROM alert_events WHERE kind = 'receipt' ORDER BY message_id", { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: `${stack.s3Directory}-cache` });
    expect(res.rows).toEqual([
      ['SM1', 'matched', 'alice'],
      ['SM2', 'matched', 'alice'],
    ]);
    expect((await new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }).get('lake', parent.ShardId!))?.ended).toBe(true);
  });
});
