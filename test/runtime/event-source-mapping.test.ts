/**
 * The local event source mapping on the real engines (kinesalite + dynalite): batching, partial
 * batch failures, thrown errors and the on-failure destination, restart from checkpoints, a split
 * while running, and outages of Kinesis and DynamoDB through a TCP proxy that is cut and restored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KinesisClient, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { startLocalStack, uniqueSuffix, type LocalStack } from '../helpers/local-stack.js';
import { createStream, waitForActive } from '../helpers/kinesis-engines.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { awsRequestHandler } from '../../platform/aws.js';
import { silentLogger } from '../../platform/logger.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { listShards } from '../../processors/consumer/shards.js';
import { streamArnOf, shardIdOf, type KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import {
  LocalEventSourceMapping,
  type EventSourceMappingOptions,
  type OnFailureRecord,
} from '../../processors/runtime/event-source-mapping.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** Fast polling and backoff: the local engines have no per-shard limits. */
const FAST = { pollIntervalMs: 20, shardRefreshMs: 200, retryBaseDelayMs: 20, retryMaxDelayMs: 200 } as const;

let stack: LocalStack;
let store: CheckpointStore;
beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  store = new CheckpointStore({ dynamodb: stack.clients.dynamodb, table: stack.config.CHECKPOINT_TABLE });
});
afterAll(async () => stack?.stop());

const mappings: LocalEventSourceMapping[] = [];
afterEach(async () => {
  await Promise.all(mappings.splice(0).map((m) => m.stop()));
});

interface Delivery {
  shardId: string;
  seq: string;
  data: string;
}

const decode = (e: KinesisStreamEvent): Delivery[] =>
  e.Records.map((r) => ({
    shardId: shardIdOf(r),
    seq: r.kinesis.sequenceNumber,
    data: Buffer.from(r.kinesis.data, 'base64').toString(),
  }));

async function newStream(shards: number): Promise<{ name: string; arn: string; producer: KinesisProducer }> {
  const name = `esm-${uniqueSuffix()}`;
  await createStream(stack.clients.kinesis, name, shards);
  return {
    name,
    arn: streamArnOf(name, REGION),
    producer: new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: name }),
  };
}

/** Puts `labels` (data = label) with partition keys spread over `keys` keys; resolves with their sequence numbers. */
async function put(producer: KinesisProducer, labels: string[], keys = 1): Promise<string[]> {
  const out = await producer.putRecords(
    labels.map((l, i) => ({ data: Buffer.from(l), partitionKey: `key-${i % keys}` })),
  );
  return out.map((r) => r.sequenceNumber);
}

const labels = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

function start(
  stream: { name: string; arn: string },
  group: string,
  handler: KinesisBatchHandler,
  over: Partial<EventSourceMappingOptions> = {},
): { m: LocalEventSourceMapping; run: Promise<void>; outcome: () => string } {
  const m = new LocalEventSourceMapping({
    kinesis: stack.clients.kinesis,
    streamName: stream.name,
    streamArn: stream.arn,
    region: REGION,
    functionName: 'pagetrail-test',
    checkpoints: store,
    group,
    handler,
    logger: silentLogger, // a pino Logger
    ...FAST,
    ...over,
  });
  mappings.push(m);
  let outcome = 'running';
  const run = m.run().then(
    () => {
      outcome = 'resolved';
    },
    (err) => {
      outcome = `rejected: ${err}`;
    },
  );
  return { m, run, outcome: () => outcome };
}

/** Waits for a state the mapping reaches asynchronously (polls it, bounded). */
async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function expectShardOrder(deliveries: Delivery[]): void {
  const byShard = new Map<string, bigint[]>();
  for (const d of deliveries) byShard.set(d.shardId, [...(byShard.get(d.shardId) ?? []), BigInt(d.seq)]);
  for (const seqs of byShard.values()) for (let i = 1; i < seqs.length; i++) expect(seqs[i] > seqs[i - 1]).toBe(true);
}

describe('LocalEventSourceMapping on kinesalite + dynalite', () => {
  it(
    'respects batchSize, keeps shard order, ' + 'builds AWS-shaped events; the batching window gathers records',
    async () => {
      const stream = await newStream(2);
      const events: KinesisStreamEvent[] = [];
      const { m } = start(
        stream,
        'batching',
        async (e) => {
          events.push(e);
          return { batchItemFailures: [] };
        },
        { batchSize: 25 },
      );
      const sent = await put(stream.producer, labels('r', 120), 16);
      await m.waitCaughtUp();
      const all = events.flatMap(decode);
      expect(all.map((d) => d.seq).sort()).toEqual([...sent].sort());
      for (const e of events) {
        expect(e.Records.length).toBeLessThanOrEqual(25);
        expect(new Set(e.Records.map(shardIdOf)).size).toBe(1);
        for (const r of e.Records) {
          expect(r).toMatchObject({
            eventSource: 'aws:kinesis',
            eventName: 'aws:kinesis:record',
            eventVersion: '1.0',
            eventSourceARN: stream.arn,
            awsRegion: REGION,
          });
          expect(r.eventID).toBe(`${shardIdOf(r)}:${r.kinesis.sequenceNumber}`);
          expect(r.kinesis.partitionKey).toMatch(/^key-\d+$/);
          expect(r.kinesis.approximateArrivalTimestamp).toBeGreaterThan(1.7e9);
        }
      }
      expect(new Set(all.map((d) => d.shardId)).size).toBe(2);
      expectShardOrder(all);
      expect(Math.max(...events.map((e) => e.Records.length))).toBe(25);
      await m.stop();

      // Batching window on a one-shard stream: two puts inside the window make one invocation.
      const single = await newStream(1);
      const windowed: { at: number; records: string[] }[] = [];
      const w = start(
        single,
        'window',
        async (e) => {
          windowed.push({ at: Date.now(), records: decode(e).map((d) => d.data) });
          return { batchItemFailures: [] };
        },
        { batchSize: 1000, maximumBatchingWindowMs: 500 },
      );
      await w.m.waitCaughtUp();
      const t0 = Date.now();
      await put(single.producer, labels('w', 5));
      await put(single.producer, labels('w', 5, 5));
      await w.m.waitCaughtUp();
      expect(windowed).toHaveLength(1);
      expect(windowed[0].records).toEqual(labels('w', 10));
      expect(windowed[0].at - t0).toBeGreaterThanOrEqual(490);
    },
  );

  it('partial batch failure: checkpoints before the lowest failed item and redelivers from it', async () => {
    const stream = await newStream(1);
    const seqs = await put(stream.producer, labels('p', 10));
    const shardId = (await listShards(stack.clients.kinesis, stream.name))[0].ShardId!;
    const calls: string[][] = [];
    const checkpointSeenBySecondCall: (string | undefined)[] = [];
    const { m } = start(stream, 'partial', async (e) => {
      calls.push(decode(e).map((d) => d.data));
      if (calls.length === 1) return { batchItemFailures: [{ itemIdentifier: seqs[7] }, { itemIdentifier: seqs[4] }] };
      if (calls.length === 2) checkpointSeenBySecondCall.push((await store.get('partial', shardId))?.sequenceNumber);
      return { batchItemFailures: [] };
    });
    await m.waitCaughtUp();
    expect(calls[0]).toEqual(labels('p', 10));
    expect(calls[1]).toEqual(labels('p', 6, 4));
    expect(calls).toHaveLength(2);
    expect(checkpointSeenBySecondCall).toEqual([seqs[3]]);
    expect((await store.get('partial', shardId))?.sequenceNumber).toBe(seqs[9]);
  });

  it(
    'a thrown error retries the same batch with backoff until it succeeds; with maximumRetryAttempts=1 the batch ' +
      'goes to onFailure and the shard moves on',
    async () => {
      const stream = await newStream(1);
      await put(stream.producer, labels('t', 6));
      const calls: { at: number; data: string[] }[] = [];
      const first = start(
        stream,
        'throws',
        async (e) => {
          calls.push({ at: Date.now(), data: decode(e).map((d) => d.data) });
          if (calls.length <= 3) throw new Error('downstream unavailable');
          return { batchItemFailures: [] };
        },
        { retryBaseDelayMs: 40, retryMaxDelayMs: 400 },
      );
      await until('retries', () => first.m.status().shards[Object.keys(first.m.status().shards)[0]]?.attempts === 3);
      expect(first.m.status().reasons[0]).toMatch(/^handler failing on shardId-\d+: downstream unavailable$/);
      await first.m.waitCaughtUp();
      expect(calls.map((c) => c.data)).toEqual(Array(4).fill(labels('t', 6)));
      // Backoff grows: base 40 → ≥20, ≥40, ≥80 ms between attempts (equal jitter).
      const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
      expect(gaps[0]).toBeGreaterThanOrEqual(20);
      expect(gaps[2]).toBeGreaterThanOrEqual(80);
      expect(first.m.status()).toMatchObject({ status: 'ok', invocations: 4 });

      const other = await newStream(1);
      const bad = await put(other.producer, labels('bad', 5));
      const shardId = (await listShards(stack.clients.kinesis, other.name))[0].ShardId!;
      const failures: OnFailureRecord[] = [];
      const handled: string[] = [];
      let attempts = 0;
      const second = start(
        other,
        'on-failure',
        async (e) => {
          const data = decode(e).map((d) => d.data);
          if (data.some((d) => d.startsWith('bad'))) {
            attempts++;
            throw new Error('cannot handle');
          }
          handled.push(...data);
          return { batchItemFailures: [] };
        },
        { maximumRetryAttempts: 1, onFailure: async (f) => void failures.push(f) },
      );
      await second.m.waitCaughtUp();
      await put(other.producer, labels('good', 3));
      await second.m.waitCaughtUp();
      expect(attempts).toBe(2);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({
        requestContext: {
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: 2,
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:pagetrail-test',
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        KinesisBatchInfo: {
          shardId,
          startSequenceNumber: bad[0],
          endSequenceNumber: bad[4],
          batchSize: 5,
          streamArn: other.arn,
        },
      });
      expect(handled).toEqual(labels('good', 3));
      expect((await store.get('on-failure', shardId))?.sequenceNumber).toBeDefined();
      expect(second.outcome()).toBe('running');
    },
  );

  it('a new mapping on the same checkpoint group resumes after the checkpoint', async () => {
    const stream = await newStream(2);
    const firstRun: string[] = [];
    const a = start(stream, 'restart', async (e) => {
      firstRun.push(...decode(e).map((d) => d.data));
      return { batchItemFailures: [] };
    });
    await put(stream.producer, labels('a', 20), 8);
    await a.m.waitCaughtUp();
    await a.m.stop();
    expect(a.outcome()).toBe('resolved');
    expect(firstRun.sort()).toEqual(labels('a', 20).sort());

    await put(stream.producer, labels('b', 10), 8);
    const secondRun: string[] = [];
    const b = start(stream, 'restart', async (e) => {
      secondRun.push(...decode(e).map((d) => d.data));
      return { batchItemFailures: [] };
    });
    await b.m.waitCaughtUp();
    expect(secondRun.sort()).toEqual(labels('b', 10).sort());
  });

  it(
    'split while running: every parent record is handled before any child record; ' + 'children start at TRIM_HORIZON',
    async () => {
      const stream = await newStream(1);
      const deliveries: Delivery[] = [];
      const { m } = start(
        stream,
        'reshard',
        async (e) => {
          deliveries.push(...decode(e));
          // a slow function: the split lands while parent records are pending
          await new Promise((r) => setTimeout(r, 5));
          return { batchItemFailures: [] };
        },
        { batchSize: 5, startingPosition: 'LATEST' },
      );
      await m.waitCaughtUp(); // the parent's LATEST iterator exists before the first put
      const [parent] = await listShards(stack.clients.kinesis, stream.name);
      await put(stream.producer, labels('parent', 40), 10);
      const mid = (
        (BigInt(parent.HashKeyRange!.StartingHashKey!) + BigInt(parent.HashKeyRange!.EndingHashKey!)) /
        2n
      ).toString();
      await stack.clients.kinesis.send(
        new SplitShardCommand({ StreamName: stream.name, ShardToSplit: parent.ShardId, NewStartingHashKey: mid }),
      );
      await waitForActive(stack.clients.kinesis, stream.name);
      await put(stream.producer, labels('child', 40), 10);
      await m.waitCaughtUp();

      const shards = await listShards(stack.clients.kinesis, stream.name);
      const children = shards.filter((s) => s.ParentShardId === parent.ShardId).map((s) => s.ShardId!);
      expect(children).toHaveLength(2);
      expect(deliveries.map((d) => d.data).sort()).toEqual([...labels('parent', 40), ...labels('child', 40)].sort());
      const lastParent = deliveries.map((d) => d.shardId).lastIndexOf(parent.ShardId!);
      const firstChild = deliveries.findIndex((d) => children.includes(d.shardId));
      expect(lastParent).toBe(39);
      expect(firstChild).toBe(40);
      expect(deliveries.slice(0, 40).every((d) => d.data.startsWith('parent'))).toBe(true);
      expectShardOrder(deliveries);
      expect(await store.get('reshard', parent.ShardId!)).toMatchObject({ ended: true });
      expect(m.status().shards[parent.ShardId!].ended).toBe(true);
    },
  );

  describe('outages', () => {
    let kinesisProxy: TcpProxy;
    let dynamoProxy: TcpProxy;
    let kinesis: KinesisClient;
    let dynamodb: DynamoDBClient;
    beforeAll(async () => {
      kinesisProxy = await startTcpProxy(new URL(stack.config.KINESIS_ENDPOINT!));
      dynamoProxy = await startTcpProxy(new URL(stack.config.DYNAMODB_ENDPOINT!));
      const requestHandler = () => awsRequestHandler({ connectionTimeoutMs: 300, requestTimeoutMs: 1000 });
      kinesis = new KinesisClient({
        region: REGION,
        endpoint: kinesisProxy.url,
        credentials: CREDENTIALS,
        requestHandler: requestHandler(),
        maxAttempts: 1,
      });
      dynamodb = new DynamoDBClient({
        region: REGION,
        endpoint: dynamoProxy.url,
        credentials: CREDENTIALS,
        requestHandler: requestHandler(),
        maxAttempts: 1,
      });
    });
    afterAll(async () => {
      kinesis?.destroy();
      dynamodb?.destroy();
      await kinesisProxy?.close();
      await dynamoProxy?.close();
    });

    it(
      'Kinesis and DynamoDB unreachable: ' + 'degraded, run() keeps going, then everything is delivered exactly once',
      async () => {
        const stream = await newStream(2);
        const counts = new Map<string, number>();
        const { m, outcome } = start(
          stream,
          'outage',
          async (e) => {
            for (const d of decode(e)) counts.set(d.data, (counts.get(d.data) ?? 0) + 1);
            return { batchItemFailures: [] };
          },
          {
            kinesis,
            checkpoints: new CheckpointStore({ dynamodb, table: stack.config.CHECKPOINT_TABLE }),
            retryMaxDelayMs: 300,
          },
        );
        await put(stream.producer, labels('before', 20), 8);
        await m.waitCaughtUp();
        expect(m.status().status).toBe('ok');

        // Kinesis goes away (the producer writes directly to the engine).
        await kinesisProxy.close();
        await put(stream.producer, labels('during', 20), 8);
        await until('degraded (kinesis)', () => m.status().reasons.some((r) => r.startsWith('kinesis unreachable:')));
        expect(m.status().status).toBe('degraded');
        expect(m.status().reasons.join('\n')).toMatch(/kinesis unreachable: (ECONNREFUSED|ECONNRESET|TimeoutError)/);
        expect(outcome()).toBe('running');
        await kinesisProxy.open();
        await put(stream.producer, labels('after', 20), 8);
        await m.waitCaughtUp();
        expect(m.status()).toMatchObject({ status: 'ok', reasons: [] });

        // The checkpoint store goes away: batches are handled, their checkpoints wait.
        await dynamoProxy.close();
        await put(stream.producer, labels('nodb', 10), 8);
        await until('degraded (checkpoint store)', () =>
          m.status().reasons.some((r) => r.startsWith('checkpoint store:')),
        );
        expect(outcome()).toBe('running');
        await dynamoProxy.open();
        await m.waitCaughtUp();
        expect(m.status()).toMatchObject({ status: 'ok', reasons: [] });

        const expected = [
          ...labels('before', 20),
          ...labels('during', 20),
          ...labels('after', 20),
          ...labels('nodb', 10),
        ];
        expect([...counts.keys()].sort()).toEqual(expected.sort());
        expect([...counts.values()].every((n) => n === 1)).toBe(true);
        // The checkpoints caught up too: a new mapping on the group gets nothing.
        await m.stop();
        expect(outcome()).toBe('resolved');
        const again: string[] = [];
        const b = start(stream, 'outage', async (e) => {
          again.push(...decode(e).map((d) => d.data));
          return { batchItemFailures: [] };
        });
        await b.m.waitCaughtUp();
        expect(again).toEqual([]);
      },
    );
  });
});
