/**
 * Producer → Kinesis → StreamConsumer against both local engines (kinesalite in-process,
 * kinesis-local as a child process), plus CheckpointStore against dynalite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  MergeShardsCommand,
  ProvisionedThroughputExceededException,
  SplitShardCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { KinesisProducer } from '../../shared/stream/kinesis-producer.js';
import { decodeRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { listShards } from '../../processors/consumer/shards.js';
import { ShardReader, type ReadRecord, type StartPosition } from '../../processors/consumer/shard-reader.js';
import { StreamConsumer, type ConsumerStart, type StreamConsumerOptions } from '../../processors/consumer/stream-consumer.js';
import { CheckpointStore, type Checkpoint } from '../../processors/consumer/checkpoint-store.js';
import { CheckpointConflictError } from '../../processors/consumer/errors.js';
import {
  createStream,
  localDynamo,
  localKinesis,
  startDynalite,
  startKinesisEngine,
  waitForActive,
  type EngineName,
  type RunningEngine,
} from '../helpers/kinesis-engines.js';

const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const arn = (k: number) => `arn:aws:cloudwatch:us-east-1:123456789012:alarm:alarm-${k}`;

/** An ack record of alarm k whose event_time encodes n (its rank within the key). */
function ackRecord(k: number, n: number): StreamRecordIn {
  const inc = incidentId(arn(k), T0);
  return {
    v: 1,
    kind: 'ack',
    event_id: eventId('ack', inc, String(n)),
    incident_id: inc,
    alarm_arn: arn(k),
    event_time: new Date(T0 + n).toISOString(),
    channel: 'sms',
    via: 'sms_reply',
  };
}

/** keys × perKey records, interleaved across keys (n-major), as a producer would see them. */
function records(keys: number, perKey: number, firstN = 0): StreamRecordIn[] {
  const out: StreamRecordIn[] = [];
  for (let n = firstN; n < firstN + perKey; n++) for (let k = 0; k < keys; k++) out.push(ackRecord(k, n));
  return out;
}

const enc = new TextEncoder();
const rankOf = (r: ReadRecord) => decodeRecord(r.data).event_time - T0;

/** Fast polling for the local engines (no per-shard limits there). */
const fastReader = { minCallIntervalMs: 10, idleDelayMs: 30, baseDelayMs: 5, maxDelayMs: 50 };

interface Consumed {
  records: ReadRecord[];
  /** `records:<shard>` / `end:<shard>` in the order the handler saw them. */
  events: string[];
  consumer: StreamConsumer;
}

async function consume(
  kinesis: Pick<KinesisClient, 'send'>,
  streamName: string,
  startFor: (shardId: string) => Promise<ConsumerStart>,
  extra: Partial<StreamConsumerOptions> = {},
): Promise<Consumed> {
  const out: Consumed = { records: [], events: [], consumer: undefined as unknown as StreamConsumer };
  out.consumer = new StreamConsumer({
    kinesis,
    streamName,
    startFor,
    untilCaughtUp: true,
    shardRefreshMs: 100,
    reader: fastReader,
    handler: {
      async onRecords(shardId, recs) {
        out.records.push(...recs);
        out.events.push(`records:${shardId}`);
      },
      async onShardEnd(shardId) {
        out.events.push(`end:${shardId}`);
      },
    },
    ...extra,
  });
  await out.consumer.run();
  return out;
}

/** Every key's ranks in the order read: must be 0..n-1 ascending (per-key order). */
function expectPerKeyOrder(read: ReadRecord[], keys: number, perKey: number): void {
  const byKey = new Map<string, number[]>();
  for (const r of read) byKey.set(r.partitionKey, [...(byKey.get(r.partitionKey) ?? []), rankOf(r)]);
  expect(byKey.size).toBe(keys);
  for (const ranks of byKey.values()) expect(ranks).toEqual(Array.from({ length: perKey }, (_, i) => i));
}

function expectExactlyOnce(read: ReadRecord[], count: number): void {
  expect(read).toHaveLength(count);
  expect(new Set(read.map((r) => `${r.shardId}/${r.sequenceNumber}`)).size).toBe(count);
  expect(new Set(read.map((r) => decodeRecord(r.data).event_id)).size).toBe(count);
}

/** A Kinesis client that records GetShardIterator inputs and fails chosen GetRecords calls. */
function injecting(kinesis: KinesisClient, failGetRecords: (call: number) => Error | undefined) {
  const iterators: GetShardIteratorCommandInput[] = [];
  const getRecordsAt: number[] = [];
  let getRecords = 0;
  const client = {
    iterators,
    getRecordsAt,
    get getRecordsCalls() {
      return getRecords;
    },
    send(command: unknown, options?: unknown) {
      if (command instanceof GetShardIteratorCommand) iterators.push(command.input);
      if (command instanceof GetRecordsCommand) {
        getRecordsAt.push(performance.now());
        const err = failGetRecords(++getRecords);
        if (err) return Promise.reject(err);
      }
      return (kinesis.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    },
  };
  return client as typeof client & Pick<KinesisClient, 'send'>;
}

const trimHorizon = async (): Promise<StartPosition> => ({ type: 'TRIM_HORIZON' });

describe.each(['kinesalite', 'kinesis-local'] as const)('Kinesis pipeline on %s', (engineName: EngineName) => {
  let engine: RunningEngine;
  let kinesis: KinesisClient;
  let producer: KinesisProducer;
  let streamSeq = 0;
  const newStream = async (shards: number) => {
    const name = `events-${engineName}-${++streamSeq}`;
    await createStream(kinesis, name, shards);
    return name;
  };

  beforeAll(async () => {
    engine = await startKinesisEngine(engineName);
    kinesis = localKinesis(engine.endpoint);
  }, 30_000);

  afterAll(async () => {
    kinesis?.destroy();
    await engine?.stop();
  });

  describe('one stream, three shards', () => {
    let stream: string;
    let first: Consumed;
    const KEYS = 12;
    const PER_KEY = 40;

    beforeAll(async () => {
      stream = await newStream(3);
      producer = new KinesisProducer({ kinesis, streamName: stream, maxBatchRecords: 100 });
    });

    it('delivers every record exactly once, in per-partition-key order', async () => {
      const input = records(KEYS, PER_KEY);
      const acks = await producer.putStreamRecords(input);
      expect(acks).toHaveLength(input.length);
      expect(new Set(acks.map((a) => a.shardId)).size).toBe(3);

      first = await consume(kinesis, stream, trimHorizon);
      expectExactlyOnce(first.records, input.length);
      expectPerKeyOrder(first.records, KEYS, PER_KEY);
      // What the consumer read is what the producer was acknowledged.
      expect(new Set(first.records.map((r) => `${r.shardId}/${r.sequenceNumber}`))).toEqual(
        new Set(acks.map((a) => `${a.shardId}/${a.sequenceNumber}`)),
      );
      for (const r of first.records) expect(r.partitionKey).toBe(decodeRecord(r.data).alarm_arn);
      // Sequence numbers increase within each shard.
      for (const shardId of new Set(first.records.map((r) => r.shardId))) {
        const seqs = first.records.filter((r) => r.shardId === shardId).map((r) => BigInt(r.sequenceNumber));
        expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true);
      }
    });

    it('resumes AFTER_SEQUENCE_NUMBER the checkpointed record', async () => {
      // Checkpoint the 10th record of each shard; a new consumer must read exactly what follows.
      const checkpoints = new Map<string, string>();
      for (const shardId of new Set(first.records.map((r) => r.shardId))) {
        checkpoints.set(shardId, first.records.filter((r) => r.shardId === shardId)[9].sequenceNumber);
      }
      const more = records(KEYS, 5, PER_KEY);
      await producer.putStreamRecords(more);
      const resumed = await consume(kinesis, stream, async (shardId) => {
        const seq = checkpoints.get(shardId);
        return seq ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq } : { type: 'TRIM_HORIZON' };
      });
      const expected = first.records.filter((r) => {
        const perShard = first.records.filter((x) => x.shardId === r.shardId);
        return perShard.indexOf(r) >= 10;
      });
      expectExactlyOnce(resumed.records, expected.length + more.length);
      const resumedIds = new Set(resumed.records.map((r) => r.sequenceNumber));
      for (const r of expected) expect(resumedIds.has(r.sequenceNumber)).toBe(true);
      for (const [shardId, seq] of checkpoints) {
        expect(resumed.records.some((r) => r.shardId === shardId && BigInt(r.sequenceNumber) <= BigInt(seq))).toBe(false);
      }
    });

    it('stops at a per-shard sequence number (stopAt)', async () => {
      const stopAt: Record<string, string> = {};
      for (const shardId of new Set(first.records.map((r) => r.shardId))) {
        stopAt[shardId] = first.records.filter((r) => r.shardId === shardId)[4].sequenceNumber;
      }
      const read = await consume(kinesis, stream, trimHorizon, { untilCaughtUp: false, stopAt });
      expect(read.records).toHaveLength(5 * Object.keys(stopAt).length);
    });

    it('renews an expired iterator after the last record returned, and rides out throttling', async () => {
      const client = injecting(kinesis, (call) => {
        if (call === 3) return new ExpiredIteratorException({ message: 'Iterator expired', $metadata: { httpStatusCode: 400 } });
        if (call === 5) return new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
        return undefined;
      });
      const shardId = first.records[0].shardId;
      const reader = new ShardReader({ kinesis: client, streamName: stream, shardId, start: { type: 'TRIM_HORIZON' }, limit: 7, ...fastReader });
      const got: ReadRecord[] = [];
      for (;;) {
        const batch = await reader.next();
        got.push(...batch.records);
        if (batch.records.length === 0) break;
      }
      const expected = (await consume(kinesis, stream, async (id) => (id === shardId ? { type: 'TRIM_HORIZON' } : { type: 'SHARD_END' }))).records;
      expect(got.map((r) => r.sequenceNumber)).toEqual(expected.map((r) => r.sequenceNumber));
      // First iterator from the start, the renewal after the last record of call 2 (2 × 7 records).
      expect(client.iterators.map((i) => i.ShardIteratorType)).toEqual(['TRIM_HORIZON', 'AFTER_SEQUENCE_NUMBER']);
      expect(client.iterators[1].StartingSequenceNumber).toBe(got[13].sequenceNumber);
      expect(reader.lastSequenceNumber).toBe(got.at(-1)!.sequenceNumber);
    });

    it('respects the per-shard call interval and the idle delay', async () => {
      const client = injecting(kinesis, () => undefined);
      const shardId = first.records[0].shardId;
      const records = first.records.filter((r) => r.shardId === shardId);
      const reader = new ShardReader({
        kinesis: client,
        streamName: stream,
        shardId,
        start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: records.at(-3)!.sequenceNumber },
        limit: 1,
        minCallIntervalMs: 100,
        idleDelayMs: 250,
      });
      const sizes: number[] = [];
      for (let i = 0; i < 5; i++) sizes.push((await reader.next()).records.length);
      expect(sizes.slice(0, 2)).toEqual([1, 1]);
      const gaps = client.getRecordsAt.slice(1).map((t, i) => t - client.getRecordsAt[i]);
      // Calls after a non-empty read wait ≥ 100 ms; calls after an empty read ≥ 250 ms.
      sizes.slice(0, -1).forEach((n, i) => expect(gaps[i]).toBeGreaterThanOrEqual(n > 0 ? 95 : 245));
    });

    it('reads nothing for an AT_TIMESTAMP start in the future (both engines reject it: emulated)', async () => {
      const shardId = first.records[0].shardId;
      const reader = new ShardReader({
        kinesis,
        streamName: stream,
        shardId,
        start: { type: 'AT_TIMESTAMP', timestamp: new Date(Date.now() + 3_600_000) },
        ...fastReader,
      });
      const batch = await reader.next();
      expect(batch).toMatchObject({ records: [], ended: false });
    });

    it('stop() waits for the in-flight handler call', async () => {
      let finished = false;
      let entered!: () => void;
      const inHandler = new Promise<void>((r) => (entered = r));
      const consumer = new StreamConsumer({
        kinesis,
        streamName: stream,
        startFor: trimHorizon,
        reader: fastReader,
        handler: {
          async onRecords() {
            entered();
            await sleep(300);
            finished = true;
          },
        },
      });
      const run = consumer.run();
      await inHandler;
      await consumer.stop();
      expect(finished).toBe(true);
      await expect(run).resolves.toBeUndefined();
    });

    it('run() rejects with the handler error', async () => {
      const boom = new Error('handler failed');
      const consumer = new StreamConsumer({
        kinesis,
        streamName: stream,
        startFor: trimHorizon,
        reader: fastReader,
        handler: {
          async onRecords() {
            throw boom;
          },
        },
      });
      await expect(consumer.run()).rejects.toBe(boom);
    });
  });

  it('starts AT_TIMESTAMP, including on a shard with nothing after the timestamp', async () => {
    const stream = await newStream(2);
    const p = new KinesisProducer({ kinesis, streamName: stream });
    await p.putStreamRecords(records(6, 10));
    await sleep(50);
    const timestamp = new Date();
    await sleep(50);
    // Later records on ONE key only: the other shard has nothing at or after the timestamp (the
    // case kinesalite never answers; the reader falls back to TRIM_HORIZON + arrival-time filter).
    const later = Array.from({ length: 8 }, (_, i) => ackRecord(0, 100 + i));
    const acks = await p.putStreamRecords(later);
    const read = await consume(kinesis, stream, async () => ({ type: 'AT_TIMESTAMP', timestamp }), {
      reader: { ...fastReader, atTimestampTimeoutMs: 1000 },
    });
    expect(read.records.map((r) => r.sequenceNumber)).toEqual(acks.map((a) => a.sequenceNumber));
    for (const r of read.records) expect(r.arrivalTime).toBeGreaterThanOrEqual(timestamp.getTime());
  });

  it('reads parents to their end before children, across a split and a merge, while running', async () => {
    const stream = await newStream(1);
    const p = new KinesisProducer({ kinesis, streamName: stream });
    const KEYS = 10;
    const seen: ReadRecord[] = [];
    const events: string[] = [];
    const consumer = new StreamConsumer({
      kinesis,
      streamName: stream,
      startFor: trimHorizon,
      shardRefreshMs: 100,
      reader: fastReader,
      handler: {
        async onRecords(shardId, recs) {
          seen.push(...recs);
          events.push(`records:${shardId}`);
        },
        async onShardEnd(shardId) {
          events.push(`end:${shardId}`);
        },
      },
    });
    const running = consumer.run();
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 15_000;
      while (seen.length < n && Date.now() < deadline) await sleep(20);
      expect(seen.length).toBe(n);
    };

    await p.putStreamRecords(records(KEYS, 10, 0));
    await waitFor(100);
    const [parent] = await listShards(kinesis, stream);
    const mid = ((BigInt(parent.HashKeyRange!.StartingHashKey!) + BigInt(parent.HashKeyRange!.EndingHashKey!)) / 2n).toString();
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent.ShardId, NewStartingHashKey: mid }));
    await waitForActive(kinesis, stream);
    await p.putStreamRecords(records(KEYS, 10, 10));
    await waitFor(200);
    const afterSplit = await listShards(kinesis, stream);
    const children = afterSplit.filter((s) => s.ParentShardId === parent.ShardId);
    expect(children).toHaveLength(2);
    const [left, right] = children.sort((a, b) => (BigInt(a.HashKeyRange!.StartingHashKey!) < BigInt(b.HashKeyRange!.StartingHashKey!) ? -1 : 1));
    await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: left.ShardId, AdjacentShardToMerge: right.ShardId }));
    await waitForActive(kinesis, stream);
    await p.putStreamRecords(records(KEYS, 10, 20));
    await waitFor(300);
    await consumer.stop();
    await running;

    const all: Shard[] = await listShards(kinesis, stream);
    const merged = all.find((s) => s.ParentShardId && s.AdjacentParentShardId)!;
    expect(merged).toBeDefined();
    expectExactlyOnce(seen, 300);
    expectPerKeyOrder(seen, KEYS, 30);
    const firstRead = (id: string) => events.indexOf(`records:${id}`);
    const ended = (id: string) => events.indexOf(`end:${id}`);
    for (const child of [left, right]) {
      expect(ended(parent.ShardId!)).toBeGreaterThanOrEqual(0);
      if (firstRead(child.ShardId!) >= 0) expect(firstRead(child.ShardId!)).toBeGreaterThan(ended(parent.ShardId!));
      expect(ended(child.ShardId!)).toBeGreaterThanOrEqual(0);
      expect(firstRead(merged.ShardId!)).toBeGreaterThan(ended(child.ShardId!));
    }
    expect(consumer.finishedShards.sort()).toEqual([parent.ShardId, left.ShardId, right.ShardId].sort());

    // A batch pass over the resharded stream reads the same, parents first.
    const again = await consume(kinesis, stream, trimHorizon);
    expectExactlyOnce(again.records, 300);
    expectPerKeyOrder(again.records, KEYS, 30);
  });

  it('untilCaughtUp: a shard closed after it caught up is read to its end, then its children', async () => {
    const stream = await newStream(2);
    const [a, b] = await listShards(kinesis, stream);
    const p = new KinesisProducer({ kinesis, streamName: stream });
    const put = (hashKey: string, label: string, n: number) =>
      p.putRecords(Array.from({ length: n }, (_, i) => ({ data: enc.encode(`${label}-${i}`), partitionKey: label, explicitHashKey: hashKey })));
    await put(a.HashKeyRange!.StartingHashKey!, 'a', 5);
    await put(b.HashKeyRange!.StartingHashKey!, 'b', 5);

    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let aCaughtUp!: () => void;
    const aIdle = new Promise<void>((r) => (aCaughtUp = r));
    const seen: string[] = [];
    const consumer = new StreamConsumer({
      kinesis,
      streamName: stream,
      startFor: trimHorizon,
      untilCaughtUp: true,
      shardRefreshMs: 50,
      reader: fastReader,
      handler: {
        async onRecords(shardId, recs) {
          seen.push(...recs.map((r) => new TextDecoder().decode(r.data)));
          if (shardId === b.ShardId) await released; // b stays busy: the run goes on
        },
        async onIdle(shardId) {
          if (shardId === a.ShardId) aCaughtUp();
        },
      },
    });
    const running = consumer.run();
    await aIdle;
    await sleep(100);
    const mid = ((BigInt(a.HashKeyRange!.StartingHashKey!) + BigInt(a.HashKeyRange!.EndingHashKey!)) / 2n).toString();
    // Records reach `a` after it caught up, then `a` is closed: only a restart of the closed shard
    // reads them. (Records put into the children after the split would race with the children
    // catching up, which ends an untilCaughtUp run by design.)
    await put(a.HashKeyRange!.StartingHashKey!, 'late', 3);
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: a.ShardId, NewStartingHashKey: mid }));
    await waitForActive(kinesis, stream);
    release();
    await running;
    expect(seen.sort()).toEqual(
      [...['a', 'b'].flatMap((l) => Array.from({ length: 5 }, (_, i) => `${l}-${i}`)), ...[0, 1, 2].map((i) => `late-${i}`)].sort(),
    );
    expect(consumer.finishedShards).toEqual([a.ShardId]);
  });
});

describe('CheckpointStore on dynalite', () => {
  let engine: RunningEngine;
  let dynamodb: DynamoDBClient;
  let store: CheckpointStore;
  const table = 'pagetrail-checkpoints-test';

  beforeAll(async () => {
    engine = await startDynalite();
    dynamodb = localDynamo(engine.endpoint);
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    store = new CheckpointStore({ dynamodb, table });
  });

  afterAll(async () => {
    dynamodb?.destroy();
    await engine?.stop();
  });

  it('writes versions conditionally (optimistic concurrency)', async () => {
    expect(await store.get('lake', 'shardId-000000000000')).toBeUndefined();
    const v1 = await store.put('lake', 'shardId-000000000000', { sequenceNumber: '100', data: { pending: { key: 'k/1', rows: 3 }, n: 1.5, s: '' } });
    expect(v1).toMatchObject({ version: 1, sequenceNumber: '100' });
    expect(await store.get('lake', 'shardId-000000000000')).toEqual(v1);

    // A second "first write" conflicts.
    const first = await store.put('lake', 'shardId-000000000000', { sequenceNumber: '999' }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(CheckpointConflictError);
    expect(first).toMatchObject({ expectedVersion: undefined, actualVersion: 1 });

    const v2 = await store.put('lake', 'shardId-000000000000', { sequenceNumber: '200', ended: true }, 1);
    expect(v2.version).toBe(2);
    const stale = await store.put('lake', 'shardId-000000000000', { sequenceNumber: '150' }, 1).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(CheckpointConflictError);
    expect(stale).toMatchObject({ group: 'lake', shardId: 'shardId-000000000000', expectedVersion: 1, actualVersion: 2 });
    const got = (await store.get('lake', 'shardId-000000000000')) as Checkpoint;
    expect(got).toMatchObject({ version: 2, sequenceNumber: '200', ended: true });
    expect(got.data).toBeUndefined();

    // Versions on a shard nobody wrote: conflict with no actual version.
    await expect(store.put('lake', 'shardId-000000000009', {}, 3)).rejects.toMatchObject({ name: 'CheckpointConflictError', actualVersion: undefined });
  });

  it('lets exactly one of two racing writers win', async () => {
    const base = await store.put('race', 'shardId-000000000001', { sequenceNumber: '1' });
    const results = await Promise.allSettled([
      store.put('race', 'shardId-000000000001', { sequenceNumber: '2' }, base.version),
      store.put('race', 'shardId-000000000001', { sequenceNumber: '3' }, base.version),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(CheckpointConflictError);
  });

  it('lists a group and keeps groups apart; deletes conditionally', async () => {
    await store.put('g2', 'shardId-000000000000', { sequenceNumber: '10' });
    await store.put('g2', 'shardId-000000000001', { ended: true });
    await store.put('g3', 'shardId-000000000000', { sequenceNumber: '77' });
    const g2 = await store.list('g2');
    expect([...g2.keys()].sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    expect(g2.get('shardId-000000000001')).toMatchObject({ ended: true, version: 1 });
    await expect(store.delete('g2', 'shardId-000000000000', 2)).rejects.toBeInstanceOf(CheckpointConflictError);
    await store.delete('g2', 'shardId-000000000000', 1);
    expect(await store.get('g2', 'shardId-000000000000')).toBeUndefined();
    expect((await store.get('g3', 'shardId-000000000000'))?.sequenceNumber).toBe('77');
  });
});
