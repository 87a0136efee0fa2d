/**
 * Unit tests of the local event source mapping against an in-memory Kinesis (fake `send`) and an
 * in-memory checkpoint store with the same versioned-conflict contract as CheckpointStore.
 * The real engines are exercised in test/runtime/event-source-mapping.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { CheckpointConflictError, type Checkpoint, type CheckpointWrite } from '../consumer/checkpoint-store.js';
import { interpretBatchResponse } from './batch-response.js';
import { onFailureRecord } from './on-failure.js';
import { dependencyReason } from './health.js';
import {
  CaughtUpTimeoutError,
  LocalEventSourceMapping,
  type EventSourceMappingOptions,
  type OnFailureRecord,
} from './event-source-mapping.js';
import type { KinesisBatchHandler } from './kinesis-event.js';

const STREAM = 'test-stream';
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/test-stream';
const seqOf = (n: number) => (10n ** 20n + BigInt(n)).toString();

interface FakeRecord {
  seq: string;
  data: string;
  arrival: number;
}

/** An in-memory stream answering ListShards, GetShardIterator and GetRecords like Kinesis. */
class FakeKinesis {
  shards = new Map<string, { parent?: string; records: FakeRecord[]; closed: boolean }>();
  private n = 0;
  /** Return an error to fail the call (fault injection). */
  fault: ((command: object) => Error | undefined) | undefined;
  getRecordsCalls = 0;

  constructor(shardIds: string[]) {
    for (const id of shardIds) this.shards.set(id, { records: [], closed: false });
  }

  put(shardId: string, data: string[], arrival = Date.now()): string[] {
    const shard = this.shards.get(shardId)!;
    if (shard.closed) throw new Error('closed');
    return data.map((d) => {
      const seq = seqOf(++this.n);
      shard.records.push({ seq, data: d, arrival });
      return seq;
    });
  }

  split(shardId: string, children: string[]): void {
    this.shards.get(shardId)!.closed = true;
    for (const c of children) this.shards.set(c, { parent: shardId, records: [], closed: false });
  }

  async send(command: object): Promise<unknown> {
    await Promise.resolve();
    const err = this.fault?.(command);
    if (err) throw err;
    if (command instanceof ListShardsCommand) {
      return {
        Shards: [...this.shards].map(([id, s]) => ({
          ShardId: id,
          ParentShardId: s.parent,
          HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
          SequenceNumberRange: {
            StartingSequenceNumber: '0',
            ...(s.closed ? { EndingSequenceNumber: seqOf(this.n) } : {}),
          },
        })),
      };
    }
    if (command instanceof GetShardIteratorCommand) {
      const input: GetShardIteratorCommandInput = command.input;
      const shard = this.shards.get(input.ShardId!)!;
      const at = (seq: string) => shard.records.findIndex((r) => r.seq === seq);
      const index =
        input.ShardIteratorType === 'TRIM_HORIZON'
          ? 0
          : input.ShardIteratorType === 'LATEST'
            ? shard.records.length
            : input.ShardIteratorType === 'AT_TIMESTAMP'
              ? ((i) => (i === -1 ? shard.records.length : i))(
                  shard.records.findIndex((r) => r.arrival >= input.Timestamp!.getTime()),
                )
              : input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER'
                ? at(input.StartingSequenceNumber!) + 1
                : at(input.StartingSequenceNumber!);
      return { ShardIterator: `${input.ShardId}|${index}` };
    }
    if (command instanceof GetRecordsCommand) {
      this.getRecordsCalls++;
      const [shardId, i] = command.input.ShardIterator!.split('|');
      const shard = this.shards.get(shardId)!;
      const from = Number(i);
      const out = shard.records.slice(from, from + (command.input.Limit ?? 10_000));
      const next = from + out.length;
      return {
        Records: out.map((r) => ({
          SequenceNumber: r.seq,
          PartitionKey: 'pk',
          Data: new TextEncoder().encode(r.data),
          ApproximateArrivalTimestamp: new Date(r.arrival),
        })),
        NextShardIterator: shard.closed && next >= shard.records.length ? undefined : `${shardId}|${next}`,
        MillisBehindLatest: next >= shard.records.length ? 0 : 1000,
      };
    }
    throw new Error(`unexpected command ${command.constructor.name}`);
  }
}

/** In-memory checkpoints with CheckpointStore's versioned conditional put. */
class FakeCheckpoints {
  items = new Map<string, Checkpoint>();
  puts: { shardId: string; write: CheckpointWrite }[] = [];
  /** Throw this from put/get while set (an outage). */
  down: Error | undefined;

  async get(group: string, shardId: string): Promise<Checkpoint | undefined> {
    if (this.down) throw this.down;
    return this.items.get(`${group}/${shardId}`);
  }

  async put(group: string, shardId: string, write: CheckpointWrite, expectedVersion?: number): Promise<Checkpoint> {
    if (this.down) throw this.down;
    const key = `${group}/${shardId}`;
    const current = this.items.get(key);
    if (current?.version !== expectedVersion)
      throw new CheckpointConflictError(group, shardId, expectedVersion, current?.version);
    const stored: Checkpoint = { ...write, version: (expectedVersion ?? 0) + 1, updatedAt: new Date().toISOString() };
    this.items.set(key, stored);
    this.puts.push({ shardId, write });
    return stored;
  }
}

const decode = (e: KinesisStreamEvent) => e.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

function connRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
}

const running: LocalEventSourceMapping[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
});

function mapping(
  kinesis: FakeKinesis,
  checkpoints: FakeCheckpoints,
  handler: KinesisBatchHandler,
  over: Partial<EventSourceMappingOptions> = {},
) {
  const m = new LocalEventSourceMapping({
    kinesis,
    streamName: STREAM,
    streamArn: ARN,
    region: 'us-east-1',
    functionName: 'pagetrail-test',
    checkpoints,
    group: 'test',
    handler,
    pollIntervalMs: 5,
    shardRefreshMs: 50,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...over,
  });
  running.push(m);
  const run = m.run();
  let rejected: unknown;
  run.catch((err) => (rejected = err ?? 'rejected'));
  return { m, run, rejected: () => rejected };
}

const labels = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

describe('interpretBatchResponse', () => {
  const seqs = [seqOf(1), seqOf(2), seqOf(3)];
  it('treats null, undefined and empty failures as success', () => {
    for (const r of [undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }]) {
      expect(interpretBatchResponse(r, seqs)).toEqual({ kind: 'success' });
    }
  });
  it('retries from the lowest failed sequence number', () => {
    expect(
      interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: seqOf(3) }, { itemIdentifier: seqOf(2) }] }, seqs),
    ).toEqual({
      kind: 'partial',
      index: 1,
      sequenceNumber: seqOf(2),
    });
  });
  it('fails the whole batch on a malformed answer', () => {
    for (const r of [
      { batchItemFailures: [{ itemIdentifier: seqOf(9) }] },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{}] },
      { batchItemFailures: [null] },
      { batchItemFailures: 'x' },
      'ok',
    ]) {
      expect(interpretBatchResponse(r, seqs).kind).toBe('malformed');
    }
  });
});

describe('onFailureRecord and reasons', () => {
  it('has the shape Lambda sends to an on-failure destination', () => {
    const rec = onFailureRecord({
      records: [
        {
          shardId: 'shardId-000000000000',
          sequenceNumber: seqOf(1),
          partitionKey: 'k',
          data: new Uint8Array(),
          arrivalTime: Date.parse('2026-01-01T00:00:00Z'),
        },
        {
          shardId: 'shardId-000000000000',
          sequenceNumber: seqOf(2),
          partitionKey: 'k',
          data: new Uint8Array(),
          arrivalTime: Date.parse('2026-01-01T00:00:01Z'),
        },
      ],
      condition: 'RetryAttemptsExhausted',
      invokeCount: 2,
      functionError: 'Unhandled',
      streamArn: ARN,
      region: 'us-east-1',
      functionName: 'pagetrail-test',
      now: new Date('2026-01-01T00:01:00Z'),
    });
    expect(rec).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:pagetrail-test',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 2,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-01-01T00:01:00.000Z',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: seqOf(1),
        endSequenceNumber: seqOf(2),
        approximateArrivalOfFirstRecord: '2026-01-01T00:00:00.000Z',
        approximateArrivalOfLastRecord: '2026-01-01T00:00:01.000Z',
        batchSize: 2,
        streamArn: ARN,
      },
    });
  });
  it('names the dependency and the error code', () => {
    expect(dependencyReason('kinesis', connRefused())).toBe('kinesis unreachable: ECONNREFUSED');
    expect(
      dependencyReason(
        'kinesis',
        Object.assign(new Error('Stream x not found'), { name: 'ResourceNotFoundException' }),
      ),
    ).toBe('kinesis: ResourceNotFoundException: Stream x not found');
  });
});

describe('LocalEventSourceMapping (fake Kinesis)', () => {
  const S0 = 'shardId-000000000000';
  const S1 = 'shardId-000000000001';

  it('builds AWS-shaped events of at most batchSize records, in shard order, shards concurrently', async () => {
    const kinesis = new FakeKinesis([S0, S1]);
    const cps = new FakeCheckpoints();
    const a = kinesis.put(S0, labels('a', 250));
    kinesis.put(S1, labels('b', 30));
    const events: KinesisStreamEvent[] = [];
    const { m } = mapping(kinesis, cps, async (e) => {
      events.push(e);
      return { batchItemFailures: [] };
    });
    await m.waitCaughtUp(5000);
    const ofShard = (id: string) => events.filter((e) => e.Records[0].eventID.startsWith(id));
    expect(ofShard(S0).map((e) => e.Records.length)).toEqual([100, 100, 50]);
    expect(ofShard(S0).flatMap(decode)).toEqual(labels('a', 250));
    expect(ofShard(S1).flatMap(decode)).toEqual(labels('b', 30));
    expect(events[0].Records[0]).toEqual({
      awsRegion: 'us-east-1',
      eventID: `${S0}:${a[0]}`,
      eventName: 'aws:kinesis:record',
      eventSource: 'aws:kinesis',
      eventSourceARN: ARN,
      eventVersion: '1.0',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/pagetrail-test',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'pk',
        sequenceNumber: a[0],
        data: Buffer.from('a0').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
    });
    expect(cps.items.get(`test/${S0}`)?.sequenceNumber).toBe(a[249]);
    const st = m.status();
    expect(st).toMatchObject({ status: 'ok', reasons: [], invocations: events.length });
    expect(st.shards[S0]).toMatchObject({
      checkpoint: a[249],
      inFlight: false,
      attempts: 0,
      ended: false,
      millisBehindLatest: 0,
    });
  });

  it('gathers records for the batching window, then invokes with what it has', async () => {
    const kinesis = new FakeKinesis([S0]);
    const events: { at: number; records: string[] }[] = [];
    const { m } = mapping(
      kinesis,
      new FakeCheckpoints(),
      async (e) => {
        events.push({ at: Date.now(), records: decode(e) });
        return { batchItemFailures: [] };
      },
      { batchSize: 10, maximumBatchingWindowMs: 300 },
    );
    await m.waitCaughtUp(5000);
    const t0 = Date.now();
    kinesis.put(S0, labels('w', 3));
    // The second put comes once the worker has read the first (a later read, inside the window).
    const reads = kinesis.getRecordsCalls;
    await vi.waitFor(() => expect(kinesis.getRecordsCalls).toBeGreaterThan(reads + 1), { interval: 5 });
    kinesis.put(S0, labels('w', 2, 3));
    await m.waitCaughtUp(5000);
    expect(events).toHaveLength(1);
    expect(events[0].records).toEqual(labels('w', 5));
    // A timer never fires early: the invocation waited for the window.
    expect(events[0].at - t0).toBeGreaterThanOrEqual(290);
  });

  it('invokes a full batch at once, without waiting for the window', async () => {
    const kinesis = new FakeKinesis([S0]);
    const events: string[][] = [];
    const { m } = mapping(
      kinesis,
      new FakeCheckpoints(),
      async (e) => {
        events.push(decode(e));
        return { batchItemFailures: [] };
      },
      { batchSize: 10, maximumBatchingWindowMs: 300_000 },
    );
    await m.waitCaughtUp(5000);
    kinesis.put(S0, labels('x', 10));
    // Caught up long before a 5-minute window (the longest AWS allows) could end: the full batch did not wait.
    await m.waitCaughtUp(5000);
    expect(events).toEqual([labels('x', 10)]);
  });

  it('checkpoints before the lowest failed item and redelivers from it', async () => {
    const kinesis = new FakeKinesis([S0]);
    const cps = new FakeCheckpoints();
    const seqs = kinesis.put(S0, labels('r', 10));
    const events: string[][] = [];
    let failOnce = true;
    const { m } = mapping(kinesis, cps, async (e) => {
      events.push(decode(e));
      if (failOnce) {
        failOnce = false;
        return { batchItemFailures: [{ itemIdentifier: seqs[6] }, { itemIdentifier: seqs[4] }] };
      }
      return { batchItemFailures: [] };
    });
    await m.waitCaughtUp(5000);
    expect(events).toEqual([labels('r', 10), labels('r', 6, 4)]);
    expect(cps.puts.map((p) => p.write.sequenceNumber)).toEqual([seqs[3], seqs[9]]);
  });

  it('retries the whole batch after a malformed response', async () => {
    const kinesis = new FakeKinesis([S0]);
    kinesis.put(S0, labels('m', 4));
    const events: string[][] = [];
    const { m } = mapping(kinesis, new FakeCheckpoints(), async (e) => {
      events.push(decode(e));
      return events.length === 1
        ? { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] }
        : { batchItemFailures: [] };
    });
    await m.waitCaughtUp(5000);
    expect(events).toEqual([labels('m', 4), labels('m', 4)]);
  });

  it(
    'retries a throwing batch with the same records, then after maximumRetryAttempts sends it to onFailure and ' +
      'moves on',
    async () => {
      const kinesis = new FakeKinesis([S0]);
      const cps = new FakeCheckpoints();
      const seqs = kinesis.put(S0, labels('t', 5));
      const events: string[][] = [];
      const failures: OnFailureRecord[] = [];
      const { m, rejected } = mapping(
        kinesis,
        cps,
        async (e) => {
          events.push(decode(e));
          if (decode(e).includes('t0')) throw new Error('boom');
          return { batchItemFailures: [] };
        },
        { batchSize: 5, maximumRetryAttempts: 2, onFailure: async (f) => void failures.push(f) },
      );
      await m.waitCaughtUp(5000);
      expect(events).toEqual([labels('t', 5), labels('t', 5), labels('t', 5)]);
      expect(failures).toHaveLength(1);
      expect(failures[0].requestContext).toMatchObject({
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      });
      expect(failures[0].responseContext.functionError).toBe('Unhandled');
      expect(failures[0].KinesisBatchInfo).toMatchObject({
        shardId: S0,
        startSequenceNumber: seqs[0],
        endSequenceNumber: seqs[4],
        batchSize: 5,
      });
      expect(cps.items.get(`test/${S0}`)?.sequenceNumber).toBe(seqs[4]);
      // The shard moved on.
      kinesis.put(S0, ['u0']);
      await m.waitCaughtUp(5000);
      expect(events.at(-1)).toEqual(['u0']);
      expect(m.status().status).toBe('ok');
      expect(rejected()).toBeUndefined();
    },
  );

  it('bisects a failing batch down to the poison record (splits do not use the retry quota)', async () => {
    const kinesis = new FakeKinesis([S0]);
    const seqs = kinesis.put(S0, labels('p', 8));
    const handled: string[] = [];
    const failures: OnFailureRecord[] = [];
    const { m } = mapping(
      kinesis,
      new FakeCheckpoints(),
      async (e) => {
        if (decode(e).includes('p5')) throw new Error('poison');
        handled.push(...decode(e));
        return { batchItemFailures: [] };
      },
      { bisectBatchOnFunctionError: true, maximumRetryAttempts: 0, onFailure: async (f) => void failures.push(f) },
    );
    await m.waitCaughtUp(5000);
    expect(handled).toEqual(labels('p', 8).filter((x) => x !== 'p5'));
    expect(failures.map((f) => [f.KinesisBatchInfo.startSequenceNumber, f.KinesisBatchInfo.batchSize])).toEqual([
      [seqs[5], 1],
    ]);
  });

  it('sends records older than maximumRecordAgeMs to onFailure instead of the handler', async () => {
    const kinesis = new FakeKinesis([S0]);
    const old = kinesis.put(S0, labels('o', 3), Date.now() - 600_000);
    kinesis.put(S0, labels('n', 2));
    const handled: string[] = [];
    const failures: OnFailureRecord[] = [];
    const { m } = mapping(
      kinesis,
      new FakeCheckpoints(),
      async (e) => {
        handled.push(...decode(e));
        return { batchItemFailures: [] };
      },
      { maximumRecordAgeMs: 60_000, onFailure: async (f) => void failures.push(f) },
    );
    await m.waitCaughtUp(5000);
    expect(handled).toEqual(labels('n', 2));
    expect(failures).toHaveLength(1);
    expect(failures[0].requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
    expect(failures[0].KinesisBatchInfo).toMatchObject({
      startSequenceNumber: old[0],
      endSequenceNumber: old[2],
      batchSize: 3,
    });
  });

  it('rides out a checkpoint store outage: degraded, then ok, nothing redelivered', async () => {
    const kinesis = new FakeKinesis([S0]);
    const cps = new FakeCheckpoints();
    const handled: string[] = [];
    const { m, rejected } = mapping(kinesis, cps, async (e) => {
      handled.push(...decode(e));
      return { batchItemFailures: [] };
    });
    await m.waitCaughtUp(5000);
    cps.down = Object.assign(new Error('Service Unavailable'), {
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    kinesis.put(S0, labels('c', 3));
    await until(() => m.status().status === 'degraded');
    expect(m.status().reasons).toEqual(['checkpoint store: ServiceUnavailable: Service Unavailable']);
    cps.down = undefined;
    await m.waitCaughtUp(5000);
    expect(m.status()).toMatchObject({ status: 'ok', reasons: [] });
    expect(handled).toEqual(labels('c', 3));
    expect(rejected()).toBeUndefined();
  });

  it('rides out a Kinesis outage (the reader gives up, a new one resumes after the last record read)', async () => {
    const kinesis = new FakeKinesis([S0]);
    const handled: string[] = [];
    const { m, rejected } = mapping(kinesis, new FakeCheckpoints(), async (e) => {
      handled.push(...decode(e));
      return { batchItemFailures: [] };
    });
    kinesis.put(S0, labels('k', 3));
    await m.waitCaughtUp(5000);
    kinesis.fault = () => connRefused();
    kinesis.put(S0, labels('k', 3, 3));
    await until(() => m.status().reasons.some((r) => r.startsWith('kinesis unreachable: ECONNREFUSED')));
    expect(m.status().status).toBe('degraded');
    await expect(m.waitCaughtUp(100)).rejects.toBeInstanceOf(CaughtUpTimeoutError);
    kinesis.fault = undefined;
    await m.waitCaughtUp(5000);
    expect(handled).toEqual(labels('k', 6));
    expect(m.status().status).toBe('ok');
    expect(rejected()).toBeUndefined();
  });

  it('with LATEST and nothing read yet, a reader recreated after an outage skips nothing put meanwhile', async () => {
    const kinesis = new FakeKinesis([S0]);
    kinesis.put(S0, ['old'], Date.now() - 1000);
    const handled: string[] = [];
    const { m } = mapping(
      kinesis,
      new FakeCheckpoints(),
      async (e) => {
        handled.push(...decode(e));
        return { batchItemFailures: [] };
      },
      { startingPosition: 'LATEST' },
    );
    await m.waitCaughtUp(5000);
    kinesis.fault = (c) => (c instanceof GetRecordsCommand ? connRefused() : undefined);
    kinesis.put(S0, labels('l', 3));
    await until(() => m.status().status === 'degraded');
    kinesis.fault = undefined;
    await m.waitCaughtUp(5000);
    expect(handled).toEqual(labels('l', 3));
  });

  it('on a checkpoint conflict resumes from the stored checkpoint', async () => {
    const kinesis = new FakeKinesis([S0]);
    const cps = new FakeCheckpoints();
    const handled: string[] = [];
    const warnings: string[] = [];
    const logger = { info() {}, error() {}, warn: (_: object, msg?: string) => void warnings.push(msg ?? '') };
    const { m } = mapping(
      kinesis,
      cps,
      async (e) => {
        handled.push(...decode(e));
        return { batchItemFailures: [] };
      },
      { logger },
    );
    kinesis.put(S0, labels('v', 2));
    await m.waitCaughtUp(5000);
    // Another writer moves the checkpoint ahead (e.g. a second mapping on the same group).
    const later = kinesis.put(S0, labels('v', 3, 2));
    const current = cps.items.get(`test/${S0}`)!;
    cps.items.set(`test/${S0}`, { ...current, sequenceNumber: later[1], version: current.version + 5 });
    kinesis.put(S0, labels('v', 2, 5));
    await m.waitCaughtUp(5000);
    expect(warnings).toContain('event source mapping: checkpoint conflict, resuming from the stored checkpoint');
    // v2..v4 were delivered once (then the conflict); after it, the shard resumed after v3: v4 again, then v5, v6.
    expect(handled.slice(0, 2)).toEqual(['v0', 'v1']);
    expect(handled.at(-1)).toBe('v6');
    expect(new Set(handled)).toEqual(new Set(labels('v', 7)));
    expect(cps.items.get(`test/${S0}`)!.sequenceNumber).toBe(seqOf(7));
  });

  it('reads a parent to its end before its children, which start at TRIM_HORIZON', async () => {
    const kinesis = new FakeKinesis([S0]);
    const order: string[] = [];
    const cps = new FakeCheckpoints();
    const { m } = mapping(
      kinesis,
      cps,
      async (e) => {
        order.push(...decode(e));
        return { batchItemFailures: [] };
      },
      { startingPosition: 'LATEST' },
    );
    await m.waitCaughtUp(5000);
    kinesis.put(S0, labels('parent', 3));
    kinesis.split(S0, ['shardId-000000000001', 'shardId-000000000002']);
    kinesis.put('shardId-000000000001', labels('left', 2));
    kinesis.put('shardId-000000000002', labels('right', 2));
    await m.waitCaughtUp(5000);
    expect(order.slice(0, 3)).toEqual(labels('parent', 3));
    expect(order.slice(3).sort()).toEqual([...labels('left', 2), ...labels('right', 2)].sort());
    expect(cps.items.get(`test/${S0}`)).toMatchObject({ ended: true });
    expect(m.status().shards[S0].ended).toBe(true);
  });

  it('stop() waits for the batch in flight and its checkpoint', async () => {
    const kinesis = new FakeKinesis([S0]);
    const cps = new FakeCheckpoints();
    const seqs = kinesis.put(S0, labels('s', 2));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const { m, run } = mapping(kinesis, cps, async () => {
      entered();
      await gate;
      return { batchItemFailures: [] };
    });
    await inHandler;
    expect(m.status().shards[S0].inFlight).toBe(true);
    const stopped = m.stop();
    expect(cps.items.size).toBe(0);
    release();
    await stopped;
    await run;
    expect(cps.items.get(`test/${S0}`)?.sequenceNumber).toBe(seqs[1]);
  });
});

/** Waits for a condition the mapping reaches asynchronously (polls its state, bounded). */
async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}
