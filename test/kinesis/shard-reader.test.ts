/**
 * KinesisProducer → Kinesis → ShardReader against both local engines (kinesalite in-process,
 * kinesis-local as a child process): what the local event source mapping, the backfill and the
 * failure replay read with. Shards are read parents first (readyShards), as the mapping does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  MergeShardsCommand,
  ProvisionedThroughputExceededException,
  SplitShardCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { decodeRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import { listShards, readyShards, type Shard } from '../../processors/consumer/shards.js';
import {
  ShardReader,
  type ReadRecord,
  type ShardReaderOptions,
  type StartPosition,
} from '../../processors/consumer/shard-reader.js';
import {
  createStream,
  localKinesis,
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

const rankOf = (r: ReadRecord) => decodeRecord(r.data).event_time - T0;

/** Fast polling for the local engines (no per-shard limits there). */
const fastReader = { minCallIntervalMs: 10, idleDelayMs: 30, baseDelayMs: 5, maxDelayMs: 50 };

type ReaderTuning = Partial<Omit<ShardReaderOptions, 'kinesis' | 'streamName' | 'shardId' | 'start'>>;

interface ShardRead {
  records: ReadRecord[];
  ended: boolean;
}

/**
 * One shard from `start` until it ended (a closed shard) or an empty read at the tip (an open one).
 * A closed shard is read on past an empty read: kinesalite answers one empty, not-yet-ended read at
 * the end of a closed shard before the read that ends it.
 */
async function readShard(
  kinesis: Pick<KinesisClient, 'send'>,
  streamName: string,
  shard: Shard,
  start: StartPosition,
  tuning: ReaderTuning = {},
): Promise<ShardRead> {
  const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
  const reader = new ShardReader({ ...fastReader, ...tuning, kinesis, streamName, shardId: shard.ShardId!, start });
  const out: ReadRecord[] = [];
  for (;;) {
    const batch = await reader.next();
    out.push(...batch.records);
    if (batch.ended) return { records: out, ended: true };
    const atTip = batch.records.length === 0 && (batch.millisBehindLatest ?? 0) === 0;
    if (!closed && atTip) return { records: out, ended: false };
  }
}

/** Every shard, parents to their end before their children (readyShards), in the order read. */
async function readAll(
  kinesis: Pick<KinesisClient, 'send'>,
  streamName: string,
  startFor: (shardId: string) => StartPosition,
  tuning: ReaderTuning = {},
): Promise<{ records: ReadRecord[]; shards: Shard[]; ended: Set<string>; order: string[] }> {
  const shards = await listShards(kinesis, streamName);
  const done = new Set<string>();
  const ended = new Set<string>();
  const order: string[] = [];
  const records: ReadRecord[] = [];
  for (let ready = readyShards(shards, done); ready.length > 0; ready = readyShards(shards, done)) {
    for (const shardId of ready) {
      const shard = shards.find((s) => s.ShardId === shardId)!;
      const read = await readShard(kinesis, streamName, shard, startFor(shardId), tuning);
      records.push(...read.records);
      if (read.ended) ended.add(shardId);
      done.add(shardId);
      order.push(shardId);
    }
  }
  return { records, shards, ended, order };
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

const fromStart = (): StartPosition => ({ type: 'TRIM_HORIZON' });
const midHashKey = (s: Shard) =>
  ((BigInt(s.HashKeyRange!.StartingHashKey!) + BigInt(s.HashKeyRange!.EndingHashKey!)) / 2n).toString();

describe.each(['kinesalite', 'kinesis-local'] as const)('ShardReader on %s', (engineName: EngineName) => {
  let engine: RunningEngine;
  let kinesis: KinesisClient;
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
    let producer: KinesisProducer;
    let first: ReadRecord[];
    const KEYS = 12;
    const PER_KEY = 40;
    const shardOf = (shardId: string) => ({ ShardId: shardId }) as Shard; // open: read to the tip

    beforeAll(async () => {
      stream = await newStream(3);
      producer = new KinesisProducer({ kinesis, streamName: stream, maxBatchRecords: 100 });
    });

    it('reads every acknowledged record exactly once, in per-partition-key order', async () => {
      const input = records(KEYS, PER_KEY);
      const acks = await producer.putStreamRecords(input);
      expect(acks).toHaveLength(input.length);
      expect(new Set(acks.map((a) => a.shardId)).size).toBe(3);

      first = (await readAll(kinesis, stream, fromStart)).records;
      expectExactlyOnce(first, input.length);
      expectPerKeyOrder(first, KEYS, PER_KEY);
      // What the readers read is what the producer was acknowledged.
      expect(new Set(first.map((r) => `${r.shardId}/${r.sequenceNumber}`))).toEqual(
        new Set(acks.map((a) => `${a.shardId}/${a.sequenceNumber}`)),
      );
      for (const r of first) expect(r.partitionKey).toBe(decodeRecord(r.data).alarm_arn);
      // Sequence numbers increase within each shard.
      for (const shardId of new Set(first.map((r) => r.shardId))) {
        const seqs = first.filter((r) => r.shardId === shardId).map((r) => r.sequenceNumber);
        expect(seqs.every((s, i) => i === 0 || compareSequenceNumbers(s, seqs[i - 1]) > 0)).toBe(true);
      }
    });

    it('resumes AFTER_SEQUENCE_NUMBER the checkpointed record', async () => {
      // Checkpoint the 10th record of each shard; a new reader must read exactly what follows.
      const checkpoints = new Map<string, string>();
      for (const shardId of new Set(first.map((r) => r.shardId))) {
        checkpoints.set(shardId, first.filter((r) => r.shardId === shardId)[9].sequenceNumber);
      }
      const more = records(KEYS, 5, PER_KEY);
      await producer.putStreamRecords(more);
      const resumed = (
        await readAll(kinesis, stream, (shardId) => {
          const seq = checkpoints.get(shardId);
          return seq ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq } : { type: 'TRIM_HORIZON' };
        })
      ).records;
      const expected = first.filter((r) => first.filter((x) => x.shardId === r.shardId).indexOf(r) >= 10);
      expectExactlyOnce(resumed, expected.length + more.length);
      const resumedIds = new Set(resumed.map((r) => r.sequenceNumber));
      for (const r of expected) expect(resumedIds.has(r.sequenceNumber)).toBe(true);
      for (const [shardId, seq] of checkpoints) {
        const onShard = resumed.filter((r) => r.shardId === shardId);
        expect(onShard.filter((r) => compareSequenceNumbers(r.sequenceNumber, seq) <= 0)).toEqual([]);
      }
    });

    it('renews an expired iterator after the last record returned, and rides out throttling', async () => {
      const client = injecting(kinesis, (call) => {
        const meta = { $metadata: { httpStatusCode: 400 } };
        if (call === 3) return new ExpiredIteratorException({ message: 'Iterator expired', ...meta });
        if (call === 5) return new ProvisionedThroughputExceededException({ message: 'Rate exceeded', ...meta });
        return undefined;
      });
      const shardId = first[0].shardId;
      const reader = new ShardReader({
        kinesis: client,
        streamName: stream,
        shardId,
        start: { type: 'TRIM_HORIZON' },
        limit: 7,
        ...fastReader,
      });
      const got: ReadRecord[] = [];
      for (;;) {
        const batch = await reader.next();
        got.push(...batch.records);
        if (batch.records.length === 0) break;
      }
      const expected = (await readShard(kinesis, stream, shardOf(shardId), { type: 'TRIM_HORIZON' })).records;
      expect(got.map((r) => r.sequenceNumber)).toEqual(expected.map((r) => r.sequenceNumber));
      // First iterator from the start, the renewal after the last record of call 2 (2 × 7 records).
      expect(client.iterators.map((i) => i.ShardIteratorType)).toEqual(['TRIM_HORIZON', 'AFTER_SEQUENCE_NUMBER']);
      expect(client.iterators[1].StartingSequenceNumber).toBe(got[13].sequenceNumber);
      expect(reader.lastSequenceNumber).toBe(got.at(-1)!.sequenceNumber);
    });

    it('respects the per-shard call interval and the idle delay', async () => {
      const client = injecting(kinesis, () => undefined);
      const shardId = first[0].shardId;
      const onShard = first.filter((r) => r.shardId === shardId);
      const reader = new ShardReader({
        kinesis: client,
        streamName: stream,
        shardId,
        start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: onShard.at(-3)!.sequenceNumber },
        limit: 1,
        minCallIntervalMs: 100,
        idleDelayMs: 250,
      });
      const sizes: number[] = [];
      for (let i = 0; i < 5; i++) sizes.push((await reader.next()).records.length);
      expect(sizes.slice(0, 2)).toEqual([1, 1]);
      const gaps = client.getRecordsAt.slice(1).map((t, i) => t - client.getRecordsAt[i]);
      // Calls after a non-empty read wait ≥ 100 ms; calls after an empty read ≥ 250 ms.
      sizes.slice(0, -1).forEach((n, i) => {
        expect(gaps[i]).toBeGreaterThanOrEqual(n > 0 ? 95 : 245);
      });
    });

    it('reads nothing for an AT_TIMESTAMP start in the future (both engines reject it: emulated)', async () => {
      const reader = new ShardReader({
        kinesis,
        streamName: stream,
        shardId: first[0].shardId,
        start: { type: 'AT_TIMESTAMP', timestamp: new Date(Date.now() + 3_600_000) },
        ...fastReader,
      });
      const batch = await reader.next();
      expect(batch).toMatchObject({ records: [], ended: false });
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
    const read = await readAll(kinesis, stream, () => ({ type: 'AT_TIMESTAMP', timestamp }), {
      atTimestampTimeoutMs: 1000,
    });
    expect(read.records.map((r) => r.sequenceNumber)).toEqual(acks.map((a) => a.sequenceNumber));
    for (const r of read.records) expect(r.arrivalTime).toBeGreaterThanOrEqual(timestamp.getTime());
  });

  it('reads a closed shard to its end, across a split and a merge; parents first keeps per-key order', async () => {
    const stream = await newStream(1);
    const p = new KinesisProducer({ kinesis, streamName: stream });
    const KEYS = 10;
    await p.putStreamRecords(records(KEYS, 10, 0));
    const [parent] = await listShards(kinesis, stream);
    const split = { StreamName: stream, ShardToSplit: parent.ShardId, NewStartingHashKey: midHashKey(parent) };
    await kinesis.send(new SplitShardCommand(split));
    await waitForActive(kinesis, stream);
    await p.putStreamRecords(records(KEYS, 10, 10));
    const children = (await listShards(kinesis, stream)).filter((s) => s.ParentShardId === parent.ShardId);
    expect(children).toHaveLength(2);
    const [left, right] = children.sort((a, b) =>
      BigInt(a.HashKeyRange!.StartingHashKey!) < BigInt(b.HashKeyRange!.StartingHashKey!) ? -1 : 1,
    );
    await kinesis.send(
      new MergeShardsCommand({ StreamName: stream, ShardToMerge: left.ShardId, AdjacentShardToMerge: right.ShardId }),
    );
    await waitForActive(kinesis, stream);
    await p.putStreamRecords(records(KEYS, 10, 20));

    const read = await readAll(kinesis, stream, fromStart);
    const merged = read.shards.find((s) => s.ParentShardId && s.AdjacentParentShardId)!;
    expect(merged).toBeDefined();
    expectExactlyOnce(read.records, 300);
    expectPerKeyOrder(read.records, KEYS, 30);
    // Every closed shard was read until the reader said `ended`; the open merged shard was not.
    expect([...read.ended].sort()).toEqual([parent.ShardId, left.ShardId, right.ShardId].sort());
    expect(read.order.indexOf(merged.ShardId!)).toBeGreaterThan(read.order.indexOf(left.ShardId!));
    expect(read.order.indexOf(merged.ShardId!)).toBeGreaterThan(read.order.indexOf(right.ShardId!));
    expect(read.order[0]).toBe(parent.ShardId);
  });
});
