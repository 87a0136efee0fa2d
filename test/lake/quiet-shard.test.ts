import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { backfill } from '../../processors/lake/backfill.js';
import { DISPATCH_WAIT_REASON } from '../../processors/lake/join.js';
import type { LakeStore } from '../../processors/lake/lake-store.js';
import { createLakeService } from '../../processors/lake/service.js';
import type { FlushBatch } from '../../processors/lake/shard-pipeline.js';
import { decodeRecordOrTick, encodeRecord, partitionKeyOf } from '../../schemas/envelope.js';
import { receipt } from '../fixtures/records.js';
import { beforeMidnight, until } from '../helpers/clock.js';
import { lakeSnapshot, queryLake, readShard } from './helpers.js';

/**
 * A receipt whose dispatch never comes, alone on a one-shard stream (no other record, ever), through the lake
 * as its service runs it (the local event source mapping, the live handler with its ticks): it is written
 * `unmatched` with `reason = dispatch_wait` within about RECEIPT_WAIT_S + FLUSH_INTERVAL_S, by the ticks the
 * lake put on the shard itself; then the ticking stops. A backfill of the same records (ticks included)
 * rewrites the same objects, byte for byte, and puts no tick.
 */
const RECEIPT_WAIT_S = 2;
const FLUSH_INTERVAL_S = 1; // the mapping's batching window, as on AWS

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
}, 60_000);
afterAll(async () => stack?.stop());

describe('a receipt on a quiet shard', () => {
  let store: LakeStore;
  const released: { batch: FlushBatch; at: number }[] = [];
  let flushes = 0;

  it('is written unmatched (dispatch_wait) within RECEIPT_WAIT_S + FLUSH_INTERVAL_S, by ticks alone', async () => {
    const lake = createLakeService({
      config: { ...stack.config, FLUSH_INTERVAL_S, RECEIPT_WAIT_S, FLUSH_MAX_ROWS: 100 },
      clients: stack.clients,
      handler: {
        onFlush: (batch) => {
          flushes++;
          if (batch.events.some((r) => r.kind === 'receipt')) released.push({ batch, at: Date.now() });
        },
      },
    });
    store = lake.store;
    const producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
    const lonely = receipt('SMquiet1', 'delivered', beforeMidnight(10));
    const running = lake.mapping.run();
    try {
      await producer.putRecords([{ data: encodeRecord(lonely), partitionKey: partitionKeyOf(lonely) }]);
      await until('the receipt written', () => released[0], 30_000);
    } finally {
      await lake.mapping.stop();
      await running;
    }
    expect(released).toHaveLength(1);
    const row = released[0].batch.events.find((r) => r.message_id === 'SMquiet1');
    expect(row).toMatchObject({ join_status: 'unmatched', reason: DISPATCH_WAIT_REASON });

    // On the stream: the receipt, then only the lake's ticks, the last of them the one that released it.
    const stream = await readShard(stack, 'shardId-000000000000');
    const kinds = stream.map((r) => decodeRecordOrTick(r.data).kind);
    expect(kinds[0]).toBe('receipt');
    expect(kinds.slice(1).every((k) => k === 'tick')).toBe(true);
    expect(kinds.length).toBeGreaterThan(1);
    expect(kinds.length - 1).toBeLessThanOrEqual(RECEIPT_WAIT_S / FLUSH_INTERVAL_S + 2); // once per batching window
    expect(released[0].batch.lastSeq).toBe(stream.at(-1)!.sequenceNumber); // nothing waits: no tick after it
    expect(flushes).toBe(stream.length); // one record a flush: the receipt, then each tick the flush before put

    const waited = released[0].at - stream[0].arrivalTime;
    console.log(
      `quiet shard: receipt → committed ${waited} ms (RECEIPT_WAIT_S=${RECEIPT_WAIT_S}, ` +
        `FLUSH_INTERVAL_S=${FLUSH_INTERVAL_S}), ${kinds.length - 1} ticks`,
    );
    expect(waited).toBeGreaterThanOrEqual(RECEIPT_WAIT_S * 1000);
    expect(waited).toBeLessThan((RECEIPT_WAIT_S + FLUSH_INTERVAL_S) * 1000 + 5_000); // + polls and flushes

    const q = await queryLake(stack, stack.config.LAKE_BUCKET, 'SELECT kind, join_status, reason FROM events');
    expect(q.rows).toEqual([['receipt', 'unmatched', DISPATCH_WAIT_REASON]]); // ticks write no row
    const raw = await queryLake(stack, stack.config.LAKE_BUCKET, 'SELECT count(*) FROM raw_records');
    expect(raw.rows[0][0]).toBe(String(stream.length)); // the archive keeps them
  }, 60_000);

  it('a backfill of the same records releases it in the same rows (same bytes), and puts no tick', async () => {
    const live = await lakeSnapshot(store);
    const puts: string[] = [];
    const kinesis: Pick<KinesisClient, 'send'> = {
      send: ((command: unknown) => {
        if (command instanceof PutRecordsCommand) puts.push('put');
        return stack.clients.kinesis.send(command as never);
      }) as KinesisClient['send'],
    };
    const report = await backfill({
      kinesis,
      streamName: stack.config.STREAM_NAME,
      store,
      heads: new CheckpointStore({ dynamodb: stack.clients.dynamodb, table: stack.config.CHECKPOINT_TABLE }),
      from: new Date(Date.now() - 3600_000),
      to: new Date(Date.now() + 60_000),
      join: { maxWaitMs: RECEIPT_WAIT_S * 1000 },
    });
    expect(report.records).toBe((await readShard(stack, 'shardId-000000000000')).length);
    expect(report.rows).toBe(1);
    expect(await lakeSnapshot(store)).toEqual(live);
    expect(puts).toEqual([]);
  });
});
