import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeStreamSummaryCommand, MergeShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { listShards } from '../../processors/consumer/shards.js';
import { HeadStore } from '../../processors/lake/head.js';
import { holdsPartitionKey, kinesisHashKey } from '../../processors/lake/lineage.js';
import type { FlushBatch } from '../../processors/lake/shard-pipeline.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { ALARM_ARN, INCIDENT, dispatch, receipt } from '../fixtures/records.js';
import { beforeMidnight } from '../helpers/clock.js';
import { eventOf, freshLake, queryLake, readShard } from './helpers.js';

/**
 * Reshards under the lake handler, driven as the mapping drives it (a parent read to its end before
 * its children): a receipt waiting for its dispatch at a split is handed to the child whose hash range
 * holds its partition key — and only to it — so it is written once, matched, by that child; the other
 * child, whose watermark passes the receipt's time, does not write it as unmatched. A merge takes
 * both parents' states.
 */
/** Event times near the engine's arrival stamps (test/helpers/clock.ts), whatever the date. */
const T0 = beforeMidnight(0);
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());

const MID = 2n ** 127n;
let lineage: { parent: string; holder: string; sibling: string; merged: string } | undefined;

async function waitActive() {
  for (let i = 0; i < 400; i++) {
    const s = await stack.clients.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: stack.config.STREAM_NAME }),
    );
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('stream not ACTIVE');
}

/** An alarm ARN whose Kinesis hash falls on the other side of MID from ALARM_ARN's. */
function otherSideArn(): string {
  const low = kinesisHashKey(ALARM_ARN) < MID;
  for (let i = 0; ; i++) {
    const arn = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:db-latency-${i}`;
    if (kinesisHashKey(arn) < MID !== low) return arn;
  }
}

describe('lake handler across a split and a merge', () => {
  it('writes a receipt waiting at the split once, by the child that reads its dispatch', async () => {
    const { clients, config } = stack;
    const producer = new KinesisProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME });
    const OTHER = otherSideArn();
    const OTHER_INC = incidentId(OTHER, T0);
    const other = (messageId: string, at: number) =>
      dispatch(messageId, at, {
        alarm_arn: OTHER,
        incident_id: OTHER_INC,
        event_id: eventId('dispatch', OTHER_INC, messageId),
      });
    const otherReceipt = (messageId: string, at: number) =>
      receipt(messageId, 'delivered', at, {
        alarm_arn: OTHER,
        incident_id: OTHER_INC,
        event_id: eventId('receipt', OTHER_INC, messageId),
      });

    // Parent: a dispatch, and a receipt that overtook its (not yet sent) dispatch: it waits.
    await producer.putStreamRecords([dispatch('SM0', T0), receipt('SM1', 'delivered', T0 + 1000)]);
    const [parent] = await listShards(clients.kinesis, config.STREAM_NAME);
    await clients.kinesis.send(
      new SplitShardCommand({
        StreamName: config.STREAM_NAME,
        ShardToSplit: parent.ShardId,
        NewStartingHashKey: MID.toString(),
      }),
    );
    await waitActive();
    // After the split: SM1's dispatch on ALARM_ARN's child; on the other child, a later dispatch moves
    // its watermark past the receipt's time (a copy of the receipt there would be released unmatched),
    // and a receipt that waits for its dispatch until the merge.
    const afterSplit = await producer.putStreamRecords([
      dispatch('SM1', T0 + 500),
      other('SM9', T0 + 600_000),
      otherReceipt('SM8', T0 + 600_500),
    ]);
    const children = (await listShards(clients.kinesis, config.STREAM_NAME)).filter(
      (s) => s.ParentShardId === parent.ShardId,
    );
    expect(children).toHaveLength(2);
    const info = (id: string) => {
      const s = children.find((c) => c.ShardId === id)!;
      return {
        startingHashKey: BigInt(s.HashKeyRange!.StartingHashKey!),
        endingHashKey: BigInt(s.HashKeyRange!.EndingHashKey!),
      };
    };
    const holder = children.find((c) => holdsPartitionKey(info(c.ShardId!), ALARM_ARN))!.ShardId!;
    const sibling = children.find((c) => c.ShardId !== holder)!.ShardId!;
    expect(afterSplit.map((w) => w.shardId)).toEqual([holder, sibling, sibling]);

    await clients.kinesis.send(
      new MergeShardsCommand({
        StreamName: config.STREAM_NAME,
        ShardToMerge: children[0].ShardId,
        AdjacentShardToMerge: children[1].ShardId,
      }),
    );
    await waitActive();
    const [merged] = (await producer.putStreamRecords([other('SM8', T0 + 600_400)])).map((w) => w.shardId);
    expect(merged).not.toBe(holder);

    lineage = { parent: parent.ShardId!, holder, sibling, merged };
    const flushes: FlushBatch[] = [];
    const lake = await freshLake(stack, { onFlush: (b) => flushes.push(b) });
    for (const shardId of [parent.ShardId!, holder, sibling, merged]) {
      expect(await lake.handler(eventOf(stack, await readShard(stack, shardId)))).toEqual({ batchItemFailures: [] });
    }

    const res = await queryLake(
      stack,
      lake.bucket,
      'SELECT message_id, join_status, person, count(*) OVER (PARTITION BY event_id) FROM events ' +
        "WHERE kind = 'receipt' ORDER BY message_id",
    );
    expect(res.rows).toEqual([
      ['SM1', 'matched', 'alice', '1'],
      ['SM8', 'matched', 'alice', '1'],
    ]);
    const writer = (messageId: string) =>
      flushes
        .filter((b) => b.events.some((e) => e.kind === 'receipt' && e.message_id === messageId))
        .map((b) => b.shardId);
    expect(writer('SM1')).toEqual([holder]);
    expect(writer('SM8')).toEqual([merged]); // the merge child got the sibling's waiting receipt
    expect(INCIDENT).not.toBe(OTHER_INC);
  });

  it('a child deletes the uncommitted flush its parent ended with (the mapping skipped that batch)', async () => {
    const { parent, holder } = lineage!;
    let fail = true;
    const lake = await freshLake(stack, {
      beforeCommit: async (info) => {
        if (fail && info.shardId === parent) throw new Error('simulated persistent failure');
      },
    });
    await expect(lake.handler(eventOf(stack, await readShard(stack, parent)))).rejects.toThrow(/simulated/);
    const heads = new HeadStore(lake.heads, lake.headGroup);
    const pending = (await heads.get(parent)).pending!;
    expect(pending.keys.length).toBeGreaterThan(0);
    fail = false;
    // the mapping gave up on the parent's batch and moved on
    await lake.handler(eventOf(stack, await readShard(stack, holder)));
    const left = new Set((await lake.store.list('')).map((o) => o.key));
    for (const k of [...pending.keys, pending.stateKey]) expect(left.has(k)).toBe(false);
    expect((await heads.get(parent)).pending).toBeUndefined();
    expect([...left].some((k) => k.includes(holder))).toBe(true);
  });
});
