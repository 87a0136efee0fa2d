import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { encodeRecord, partitionKeyOf } from '../../schemas/envelope.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { createLakeHandler } from '../../processors/lake/handler.js';
import { HeadStore } from '../../processors/lake/head.js';
import type { ShardRecord } from '../../processors/runtime/kinesis-event.js';
import { demoScenario } from '../fixtures/lake-scenario.js';
import { beforeMidnight } from '../helpers/clock.js';
import { eventOf, freshLake, lakeSnapshot, queryLake, readShard, withoutEpochs } from './helpers.js';

/**
 * The lake handler's exactly-once effect on the real engines (kinesalite, s3rver, dynalite): the
 * records are put on a one-shard stream and read back (real sequence numbers), then delivered to the
 * handler as the mapping would — and as it does when things go wrong. Each run writes to its own
 * bucket and head group and is compared with an uninterrupted run: same keys, same bytes, and every
 * event id once in the `events` table.
 */
let stack: LocalStack;
let records: ShardRecord[];
let eventCount: number;
const T0 = beforeMidnight(10); // crosses midnight: two dt partitions
const BAD = new TextEncoder().encode('{"v":1,"kind":"receipt","note":"no ids"}');

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  const { records: scenario } = demoScenario(T0);
  const producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
  const put = await producer.putRecords(
    [...scenario, scenario[3]].map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) })),
  );
  await producer.putRecords([{ data: BAD, partitionKey: partitionKeyOf(scenario[0]) }]);
  records = await readShard(stack, put[0].shardId);
  expect(records).toHaveLength(scenario.length + 2);
  eventCount = scenario.length - 1; // the scenario's own duplicate and the redelivered record are dropped by the join
}, 60_000);
afterAll(async () => stack?.stop());

const K = 9; // first batch: records [0, K)
const slice = (a: number, b?: number) => records.slice(a, b);

/** An uninterrupted run delivering these batches once each, in order. */
async function reference(batches: ShardRecord[][]) {
  const lake = await freshLake(stack);
  for (const b of batches) expect(await lake.handler(eventOf(stack, b))).toEqual({ batchItemFailures: [] });
  return { lake, snapshot: await lakeSnapshot(lake.store) };
}

async function expectEachEventOnce(bucket: string) {
  const res = await queryLake(stack, bucket, 'SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events');
  expect(res.rows[0]).toEqual([String(eventCount), String(eventCount)]);
}

/** A handler whose first commit fails after its objects and state are written (a crash before the head moves). */
async function crashingLake() {
  let crashes = 1;
  const lake = await freshLake(stack, {
    beforeCommit: async () => {
      if (crashes-- > 0) throw new Error('simulated crash before the head moved');
    },
  });
  return lake;
}

describe('lake handler: exactly-once effect under redelivery', () => {
  let base: Awaited<ReturnType<typeof reference>>;

  beforeAll(async () => {
    base = await reference([slice(0, K), slice(K)]);
  });

  it('writes every event once, the raw archive, and the invalid record under errors/ with its reason', async () => {
    await expectEachEventOnce(base.lake.bucket);
    const raw = await queryLake(stack, base.lake.bucket, 'SELECT count(*) FROM raw_records');
    expect(raw.rows[0][0]).toBe(String(records.length));
    const errors = await base.lake.store.list('errors/');
    expect(errors).toHaveLength(1);
    const line = JSON.parse(new TextDecoder().decode(await base.lake.store.getBytes(errors[0].key)));
    expect(line.reason).toMatch(/invalid stream record at event_id/);
    expect(Buffer.from(line.data_base64, 'base64')).toEqual(Buffer.from(BAD));
    expect(line.sequence_number).toBe(records.at(-1)!.sequenceNumber);
    const head = await new HeadStore(base.lake.heads, base.lake.headGroup).get(records[0].shardId);
    expect(head).toMatchObject({ lastSeq: records.at(-1)!.sequenceNumber, pending: undefined });
  });

  it('the same batch delivered twice', async () => {
    const flushes: string[] = [];
    const lake = await freshLake(stack, { onFlush: (b) => flushes.push(`${b.firstSeq}-${b.lastSeq}`) });
    for (const b of [slice(0, K), slice(0, K), slice(K), slice(K)])
      expect(await lake.handler(eventOf(stack, b))).toEqual({ batchItemFailures: [] });
    expect(flushes).toHaveLength(2); // the second deliveries are recognised as committed: no flush at all
    expect(await lakeSnapshot(lake.store)).toEqual(base.snapshot);
    await expectEachEventOnce(lake.bucket);
  });

  it('a redelivery after a crash between the object write and the head move redoes the same range', async () => {
    const lake = await crashingLake();
    const flushed: string[] = [];
    const h = (b: ShardRecord[]) => lake.handler(eventOf(stack, b));
    await expect(h(slice(0, K))).rejects.toThrow(/simulated crash/);
    const head = await new HeadStore(lake.heads, lake.headGroup).get(records[0].shardId);
    expect(head.pending).toMatchObject({ first: records[0].sequenceNumber, last: records[K - 1].sequenceNumber });
    expect(head.lastSeq).toBeUndefined();
    expect((await lake.store.list('tables/')).length).toBeGreaterThan(0); // written, not committed

    // Redelivered with more records behind it: the pending range first, exactly, then the rest.
    const redo = freshLakeHandlerOn(lake, flushed);
    await redo(slice(0, K + 4));
    await redo(slice(K + 4));
    expect(flushed).toEqual([`redo:0-${K - 1}`, `new:${K}-${K + 3}`, `new:${K + 4}-${records.length - 1}`]);
    const ref = await reference([slice(0, K), slice(K, K + 4), slice(K + 4)]);
    expect(await lakeSnapshot(lake.store)).toEqual(ref.snapshot);
    await expectEachEventOnce(lake.bucket);
  });

  it('a batch that starts before the head (partial overlap) writes only what is not committed', async () => {
    const lake = await freshLake(stack);
    await lake.handler(eventOf(stack, slice(0, K)));
    await lake.handler(eventOf(stack, slice(K - 4)));
    expect(await lakeSnapshot(lake.store)).toEqual(base.snapshot);
    await expectEachEventOnce(lake.bucket);
  });

  it('a shorter (bisected) redelivery of a pending flush deletes its objects and starts over', async () => {
    const lake = await crashingLake();
    await expect(lake.handler(eventOf(stack, slice(0, K)))).rejects.toThrow(/simulated crash/);
    const pendingKeys = (await new HeadStore(lake.heads, lake.headGroup).get(records[0].shardId)).pending!.keys;
    await lake.handler(eventOf(stack, slice(0, 4))); // the mapping bisected the failed batch
    await lake.handler(eventOf(stack, slice(4)));
    const snapshot = await lakeSnapshot(lake.store);
    for (const k of pendingKeys) expect(snapshot.has(k)).toBe(false);
    // the flushes after the abandoned one are named in the next epoch: its keys are never used again
    for (const k of snapshot.keys()) expect(k).toMatch(/-e1\.[a-z]+$/);
    const head = await new HeadStore(lake.heads, lake.headGroup).get(records[0].shardId);
    expect(head).toMatchObject({ epoch: 1, abandoned: [{ epoch: 0, deleted: true }] });
    const ref = await reference([slice(0, 4), slice(4)]);
    expect(withoutEpochs(snapshot)).toEqual(ref.snapshot);
    await expectEachEventOnce(lake.bucket);
  });

  it('a warm handler and a cold one (state read back from S3) write the same bytes', async () => {
    const cold = await freshLake(stack, { warmCache: false });
    for (let i = 0; i < records.length; i += 5) await cold.handler(eventOf(stack, slice(i, i + 5)));
    const warm = await reference(
      Array.from({ length: Math.ceil(records.length / 5) }, (_, j) => slice(j * 5, j * 5 + 5)),
    );
    expect(await lakeSnapshot(cold.store)).toEqual(warm.snapshot);
    await expectEachEventOnce(cold.bucket);
  });
});

/** A second handler instance on the same lake and head group (a new Lambda container after the crash). */
function freshLakeHandlerOn(lake: Awaited<ReturnType<typeof freshLake>>, flushed: string[]) {
  const idx = (seq: string) => records.findIndex((r) => r.sequenceNumber === seq);
  const handler = createLakeHandler({
    ...lake.options,
    beforeCommit: undefined,
    onFlush: (b, _keys, { redo }) => flushed.push(`${redo ? 'redo' : 'new'}:${idx(b.firstSeq)}-${idx(b.lastSeq)}`),
  });
  return (b: ShardRecord[]) => handler(eventOf(stack, b));
}
