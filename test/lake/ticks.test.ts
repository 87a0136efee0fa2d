import { Writable } from 'node:stream';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { HeadStore } from '../../processors/lake/head.js';
import { DISPATCH_WAIT_REASON } from '../../processors/lake/join.js';
import type { FlushBatch } from '../../processors/lake/shard-pipeline.js';
import type { ShardRecord } from '../../processors/runtime/kinesis-event.js';
import { decodeRecordOrTick, encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { ALARM_ARN, dispatch, receipt } from '../fixtures/records.js';
import { beforeMidnight } from '../helpers/clock.js';
import { eventOf, freshLake, readShard } from './helpers.js';

/**
 * The lake handler's ticks (processors/lake/ticks.ts) on the real engines: put after the commit, only while
 * receipts wait for their dispatch, one per partition key of a waiting receipt; never when the flush fails,
 * without the option, or with the wall-clock bound off; a failed put fails nothing. Delivered back, a tick
 * releases the receipt it was put for. The stream has one shard; each test delivers the records it chooses.
 */
let stack: LocalStack;
let producer: KinesisProducer;
const T = beforeMidnight(10); // event times: in the past, within the lake's bounds of the real arrival times
const OTHER_ARN = `${ALARM_ARN}-other`;
const lonely = (id: string, arn = ALARM_ARN) => receipt(id, 'delivered', T, { alarm_arn: arn });

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
}, 60_000);
afterAll(async () => stack?.stop());

/** Puts records on the stream and returns them as read back (real sequence numbers and arrival times). */
async function onStream(records: StreamRecordIn[]): Promise<ShardRecord[]> {
  const put = await producer.putRecords(
    records.map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) })),
  );
  const seqs = new Set(put.map((p) => p.sequenceNumber));
  return (await readShard(stack, put[0].shardId)).filter((r) => seqs.has(r.sequenceNumber));
}

/** The ticks on the stream after `after` (a sequence number), decoded. */
async function ticksAfter(after: string) {
  const all = await readShard(stack, 'shardId-000000000000');
  return all
    .filter((r) => BigInt(r.sequenceNumber) > BigInt(after))
    .map((r) => ({ record: r, tick: decodeRecordOrTick(r.data) }))
    .filter((t) => t.tick.kind === 'tick');
}

/**
 * A lake whose every step is logged in order: `commit` (onFlush: after the head moved), `put` (a PutRecords);
 * `failPuts`: PutRecords fails (an outage); the logger's lines are kept.
 */
async function probedLake(o: { failPuts?: boolean; ticks?: boolean; maxWaitMs?: number; crash?: boolean } = {}) {
  const steps: string[] = [];
  const flushed: FlushBatch[] = [];
  const lines: { level: number; msg: string }[] = [];
  const kinesis: Pick<KinesisClient, 'send'> = {
    send: ((command: unknown) => {
      if (command instanceof PutRecordsCommand) {
        steps.push('put');
        if (o.failPuts)
          return Promise.reject(Object.assign(new Error('simulated outage'), { name: 'InternalFailure' }));
      }
      return stack.clients.kinesis.send(command as never);
    }) as KinesisClient['send'],
  };
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  let crashes = o.crash ? 1 : 0;
  const lake = await freshLake(stack, {
    kinesis,
    logger,
    join: { allowedLatenessMs: 60_000, maxWaitMs: o.maxWaitMs ?? 60_000 },
    ...(o.ticks === false ? {} : { ticks: {} }),
    beforeCommit: async () => {
      if (crashes-- > 0) throw new Error('simulated crash before the head moved');
    },
    onFlush: (batch) => {
      steps.push('commit');
      flushed.push(batch);
    },
  });
  return { ...lake, steps, flushed, lines };
}

describe('lake handler: ticks', () => {
  it('after the commit, one tick per partition key of the waiting receipts, on their shard', async () => {
    const recs = await onStream([lonely('SMa1'), lonely('SMa2'), lonely('SMb1', OTHER_ARN)]);
    const lake = await probedLake();
    expect(await lake.handler(eventOf(stack, recs))).toEqual({ batchItemFailures: [] });
    expect(lake.steps).toEqual(['commit', 'put']);
    const lastSeq = recs.at(-1)!.sequenceNumber;
    const ticks = await ticksAfter(lastSeq);
    expect(ticks.map((t) => t.record.partitionKey).sort()).toEqual([ALARM_ARN, OTHER_ARN].sort());
    expect(ticks.map((t) => t.record.shardId)).toEqual([recs[0].shardId, recs[0].shardId]);
    for (const t of ticks)
      expect(t.tick).toMatchObject({
        kind: 'tick',
        event_id: eventId('tick', recs[0].shardId, lastSeq, t.record.partitionKey),
      });
  });

  it('no tick when nothing waits: the receipt met its dispatch', async () => {
    const recs = await onStream([dispatch('SMm1', T), receipt('SMm1', 'delivered', T + 1)]);
    const lake = await probedLake();
    await lake.handler(eventOf(stack, recs));
    expect(lake.steps).toEqual(['commit']);
    expect(lake.flushed[0].events.map((r) => r.join_status)).toEqual(['none', 'matched']);
  });

  it('no tick from a flush that did not commit, none without the option, none with the bound off', async () => {
    const recs = await onStream([lonely('SMc1')]);
    const crashing = await probedLake({ crash: true });
    await expect(crashing.handler(eventOf(stack, recs))).rejects.toThrow(/simulated crash/);
    expect(crashing.steps).toEqual([]);
    await crashing.handler(eventOf(stack, recs)); // the redelivery commits, then ticks
    expect(crashing.steps).toEqual(['commit', 'put']);

    const without = await probedLake({ ticks: false });
    await without.handler(eventOf(stack, recs));
    const unbounded = await probedLake({ maxWaitMs: Infinity }); // RECEIPT_WAIT_S=0: a tick would release nothing
    await unbounded.handler(eventOf(stack, recs));
    expect([without.steps, unbounded.steps]).toEqual([['commit'], ['commit']]);
  });

  it('a failed put is logged and fails nothing: the head moved, the receipt waits in the committed state', async () => {
    const recs = await onStream([lonely('SMd1')]);
    const lake = await probedLake({ failPuts: true });
    expect(await lake.handler(eventOf(stack, recs))).toEqual({ batchItemFailures: [] });
    expect(lake.steps[0]).toBe('commit');
    expect(lake.steps.slice(1)).toEqual(['put', 'put', 'put', 'put']); // attempts, then given up
    expect(lake.lines.find((l) => l.level === 40)?.msg).toMatch(/ticks not put/);
    const head = await new HeadStore(lake.heads, lake.headGroup).get(recs[0].shardId);
    expect(head.lastSeq).toBe(recs[0].sequenceNumber);
    const state = await lake.store.getState(head.stateKey!);
    expect(state.pending.map((p) => p.row.message_id)).toEqual(['SMd1']);
  });

  it('delivered back, a tick releases the receipt it was put for (dispatch_wait), and the ticking stops', async () => {
    const recs = await onStream([lonely('SMe1')]);
    const lake = await probedLake({ maxWaitMs: 1 });
    await lake.handler(eventOf(stack, recs));
    const [tick, ...more] = await ticksAfter(recs[0].sequenceNumber);
    expect(more).toEqual([]);
    expect(tick.record.arrivalTime).toBeGreaterThanOrEqual(recs[0].arrivalTime + 1); // put after the receipt's flush
    await lake.handler(eventOf(stack, [tick.record]));
    expect(lake.steps).toEqual(['commit', 'put', 'commit']); // nothing waits any more: no tick
    expect(lake.flushed[1].raw.map((r) => r.sequence_number)).toEqual([tick.record.sequenceNumber]);
    expect(lake.flushed[1].events).toMatchObject([
      { message_id: 'SMe1', join_status: 'unmatched', reason: DISPATCH_WAIT_REASON, arrival_time: recs[0].arrivalTime },
    ]);
  });
});
