import { describe, expect, it } from 'vitest';
import {
  KMSAccessDeniedException,
  ProvisionedThroughputExceededException,
  PutRecordsCommand,
  ResourceNotFoundException,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { KinesisProducer, type ProducerEntry } from './kinesis-producer.js';
import { InvalidRecordError, PutRecordsFailedError, RecordTooLargeError } from './errors.js';
import { backoffDelay } from '../aws-errors.js';
import { decodeRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { RecordDecodeError } from '../../schemas/errors.js';
import { eventId, incidentId } from '../../schemas/ids.js';

const MiB = 1024 * 1024;
const enc = new TextEncoder();

type Reply = (input: PutRecordsCommandInput, call: number) => PutRecordsCommandOutput | Error;

/** A KinesisClient stand-in: records every PutRecords input; `reply` decides the answer
 * (default: every entry written, sequence numbers 1000, 1001, … in the order received). */
function fakeKinesis(reply?: Reply) {
  const calls: PutRecordsCommandInput[] = [];
  let seq = 1000n;
  const ok: Reply = (input) => ({
    $metadata: {},
    FailedRecordCount: 0,
    Records: input.Records!.map(() => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(seq++) })),
  });
  return {
    calls,
    async send(command: unknown) {
      if (!(command instanceof PutRecordsCommand)) throw new Error('unexpected command');
      calls.push(command.input);
      const out = (reply ?? ok)(command.input, calls.length);
      if (out instanceof Error) throw out;
      return out;
    },
  };
}

/** Answers with per-entry errors for the entries whose data text is in `fail` (first N calls). */
function failing(fail: (text: string, call: number) => string | undefined): Reply {
  let seq = 5000n;
  return (input, call) => {
    const Records = input.Records!.map((r) => {
      const code = fail(new TextDecoder().decode(r.Data), call);
      return code
        ? { ErrorCode: code, ErrorMessage: `${code} for test` }
        : { ShardId: 'shardId-000000000001', SequenceNumber: String(seq++) };
    });
    return { $metadata: {}, FailedRecordCount: Records.filter((r) => 'ErrorCode' in r).length, Records };
  };
}

const entries = (n: number, size = 10): ProducerEntry[] =>
  Array.from({ length: n }, (_, i) => ({ data: enc.encode(`r${i}:`.padEnd(size, 'x')), partitionKey: `pk-${i % 7}` }));

const batchBytes = (input: PutRecordsCommandInput) =>
  input.Records!.reduce((n, r) => n + r.Data!.byteLength + Buffer.byteLength(r.PartitionKey!, 'utf8'), 0);

const fast = { baseDelayMs: 1, maxDelayMs: 4 };

describe('KinesisProducer batching', () => {
  it('splits at 500 records and returns results in input order', async () => {
    const kinesis = fakeKinesis();
    const producer = new KinesisProducer({ kinesis, streamName: 's' });
    const results = await producer.putRecords(entries(1201));
    expect(kinesis.calls.map((c) => c.Records!.length)).toEqual([500, 500, 201]);
    expect(kinesis.calls.every((c) => c.StreamName === 's')).toBe(true);
    expect(results).toHaveLength(1201);
    // The fake numbers records in the order it receives them: input order is preserved.
    expect(results.map((r) => Number(r.sequenceNumber))).toEqual(Array.from({ length: 1201 }, (_, i) => 1000 + i));
    // Partition keys and data pass through unchanged.
    expect(new TextDecoder().decode(kinesis.calls[1].Records![0].Data)).toMatch(/^r500:/);
    expect(kinesis.calls[1].Records![0].PartitionKey).toBe(`pk-${500 % 7}`);
  });

  it('splits at 5 MiB counting partition keys, as Kinesis does', async () => {
    const kinesis = fakeKinesis();
    const producer = new KinesisProducer({ kinesis, streamName: 's' });
    // 10 × 0.5 MiB of data is exactly 5 MiB: it would fit without the keys; with them it does not.
    const half = Array.from({ length: 10 }, (_, i) => ({ data: new Uint8Array(MiB / 2), partitionKey: `k${i}` }));
    await producer.putRecords(half);
    expect(kinesis.calls.map((c) => c.Records!.length)).toEqual([9, 1]);

    kinesis.calls.length = 0;
    // Exactly 5 MiB including keys: one call. Records of exactly 1 MiB (data + key) are accepted.
    const exact = Array.from({ length: 5 }, (_, i) => ({ data: new Uint8Array(MiB - 4), partitionKey: `pk-${i}` }));
    await producer.putRecords(exact);
    expect(kinesis.calls.map((c) => c.Records!.length)).toEqual([5]);
    expect(batchBytes(kinesis.calls[0])).toBe(5 * MiB);

    kinesis.calls.length = 0;
    const mixed = Array.from({ length: 40 }, (_, i) => ({
      data: new Uint8Array(((i * 7919) % 700_000) + 1),
      partitionKey: 'ünïcode-' + i,
    }));
    await producer.putRecords(mixed);
    expect(kinesis.calls.reduce((n, c) => n + c.Records!.length, 0)).toBe(40);
    for (const c of kinesis.calls) expect(batchBytes(c)).toBeLessThanOrEqual(5 * MiB);
    expect(kinesis.calls.length).toBeGreaterThan(1);
  });

  it('honours smaller configured limits', async () => {
    const kinesis = fakeKinesis();
    const producer = new KinesisProducer({
      kinesis,
      streamName: 's',
      maxBatchRecords: 3,
      maxBatchBytes: 100,
      maxRecordBytes: 50,
    });
    await producer.putRecords(entries(7, 10));
    expect(kinesis.calls.map((c) => c.Records!.length)).toEqual([3, 3, 1]);
    kinesis.calls.length = 0;
    await producer.putRecords(entries(5, 40)); // 44 bytes each with the key: 2 per 100 bytes
    expect(kinesis.calls.map((c) => c.Records!.length)).toEqual([2, 2, 1]);
  });

  it('sends nothing for no entries', async () => {
    const kinesis = fakeKinesis();
    expect(await new KinesisProducer({ kinesis, streamName: 's' }).putRecords([])).toEqual([]);
    expect(kinesis.calls).toHaveLength(0);
  });
});

describe('KinesisProducer retries', () => {
  it('retries only the failed entries of a partial failure, in input order', async () => {
    const failFirst: Record<string, string> = {
      'r1:': 'ProvisionedThroughputExceededException',
      'r3:': 'InternalFailure',
      'r4:': 'ProvisionedThroughputExceededException',
    };
    const reply = failing((text, call) => {
      const id = text.slice(0, 3);
      if (call === 1) return failFirst[id];
      if (call === 2 && id === 'r4:') return 'ProvisionedThroughputExceededException';
      return undefined;
    });
    const client = fakeKinesis(reply);
    const warnings: object[] = [];
    const producer = new KinesisProducer({
      kinesis: client,
      streamName: 's',
      ...fast,
      logger: { warn: (o) => warnings.push(o) },
    });
    const input = entries(6, 8);
    const results = await producer.putRecords(input);

    const sent = client.calls.map((c) => c.Records!.map((r) => new TextDecoder().decode(r.Data).slice(0, 3)));
    expect(sent).toEqual([['r0:', 'r1:', 'r2:', 'r3:', 'r4:', 'r5:'], ['r1:', 'r3:', 'r4:'], ['r4:']]);
    expect(results.every((r) => r.shardId === 'shardId-000000000001' && /^\d+$/.test(r.sequenceNumber))).toBe(true);
    expect(new Set(results.map((r) => r.sequenceNumber)).size).toBe(6);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ attempt: 1, failed: 3 });
  });

  it('gives up after maxAttempts with PutRecordsFailedError carrying the failed entries', async () => {
    const client = fakeKinesis(
      failing((text) => (text.startsWith('r2:') ? 'ProvisionedThroughputExceededException' : undefined)),
    );
    const producer = new KinesisProducer({ kinesis: client, streamName: 's', maxAttempts: 3, ...fast });
    const err = await producer.putRecords(entries(4)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PutRecordsFailedError);
    const e = err as PutRecordsFailedError;
    expect(e.attempts).toBe(3);
    expect(e.failed).toEqual([
      {
        index: 2,
        partitionKey: 'pk-2',
        errorCode: 'ProvisionedThroughputExceededException',
        errorMessage: 'ProvisionedThroughputExceededException for test',
      },
    ]);
    expect(e.errorCodes).toEqual(['ProvisionedThroughputExceededException']);
    expect(e.results.map((r) => r !== undefined)).toEqual([true, true, false, true]);
    expect(e.unsent).toEqual([]);
    expect(client.calls).toHaveLength(3);
  });

  it('does not send later batches after giving up, and reports them unsent', async () => {
    const client = fakeKinesis(failing((text) => (text.startsWith('r1:') ? 'InternalFailure' : undefined)));
    const producer = new KinesisProducer({
      kinesis: client,
      streamName: 's',
      maxBatchRecords: 2,
      maxAttempts: 2,
      ...fast,
    });
    const e = (await producer.putRecords(entries(6)).catch((x: unknown) => x)) as PutRecordsFailedError;
    expect(e).toBeInstanceOf(PutRecordsFailedError);
    expect(e.failed.map((f) => f.index)).toEqual([1]);
    expect(e.unsent).toEqual([2, 3, 4, 5]);
    expect(client.calls.map((c) => c.Records!.length)).toEqual([2, 1]);
    expect(e.message).toMatch(/5 of 6 records not written/);
  });

  it('retries a throttled or failed whole call, then succeeds', async () => {
    const succeed = failing(() => undefined);
    const client = fakeKinesis((input, call) => {
      if (call === 1)
        return new ProvisionedThroughputExceededException({
          message: 'Rate exceeded',
          $metadata: { httpStatusCode: 400 },
        });
      if (call === 2) return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      if (call === 3)
        return Object.assign(new Error('Service Unavailable'), {
          name: 'ServiceUnavailable',
          $metadata: { httpStatusCode: 503 },
        });
      return succeed(input, call);
    });
    const producer = new KinesisProducer({ kinesis: client, streamName: 's', ...fast });
    const results = await producer.putRecords(entries(3));
    expect(results).toHaveLength(3);
    expect(client.calls).toHaveLength(4);
    expect(client.calls.every((c) => c.Records!.length === 3)).toBe(true);
  });

  it('does not retry non-retryable errors', async () => {
    const notFound = new ResourceNotFoundException({
      message: 'Stream s not found',
      $metadata: { httpStatusCode: 400 },
    });
    const client = fakeKinesis(() => notFound);
    const producer = new KinesisProducer({ kinesis: client, streamName: 's', ...fast });
    const e = (await producer.putRecords(entries(3)).catch((x: unknown) => x)) as PutRecordsFailedError;
    expect(e).toBeInstanceOf(PutRecordsFailedError);
    expect(e.attempts).toBe(1);
    expect(e.cause).toBe(notFound);
    expect(e.errorCodes).toEqual([
      'ResourceNotFoundException',
      'ResourceNotFoundException',
      'ResourceNotFoundException',
    ]);
    expect(client.calls).toHaveLength(1);

    // A per-entry KMS error other than throttling needs an operator: no retry either.
    const kms = fakeKinesis(failing((text) => (text.startsWith('r0:') ? KMSAccessDeniedException.name : undefined)));
    const e2 = (await new KinesisProducer({ kinesis: kms, streamName: 's', ...fast })
      .putRecords(entries(2))
      .catch((x: unknown) => x)) as PutRecordsFailedError;
    expect(e2.failed).toMatchObject([{ index: 0, errorCode: 'KMSAccessDeniedException' }]);
    expect(kms.calls).toHaveLength(1);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(1, 100, 5000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 5000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 5000, () => 0.5)).toBe(600);
    expect(backoffDelay(20, 100, 5000, () => 1)).toBe(5000);
  });
});

describe('KinesisProducer validation', () => {
  it('throws RecordTooLargeError for a record over 1 MiB (data + key) before sending anything', async () => {
    const kinesis = fakeKinesis();
    const producer = new KinesisProducer({ kinesis, streamName: 's' });
    const input = [...entries(600), { data: new Uint8Array(MiB - 3), partitionKey: 'pk-1' }];
    const err = await producer.putRecords(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordTooLargeError);
    expect(err).toMatchObject({ index: 600, bytes: MiB + 1, limit: MiB });
    expect(kinesis.calls).toHaveLength(0);
  });

  it('rejects bad partition keys before sending', async () => {
    const kinesis = fakeKinesis();
    const producer = new KinesisProducer({ kinesis, streamName: 's' });
    await expect(producer.putRecords([{ data: new Uint8Array(1), partitionKey: '' }])).rejects.toBeInstanceOf(
      InvalidRecordError,
    );
    await expect(
      producer.putRecords([{ data: new Uint8Array(1), partitionKey: 'x'.repeat(257) }]),
    ).rejects.toBeInstanceOf(InvalidRecordError);
    await expect(
      producer.putRecords([{ data: new Uint8Array(1), partitionKey: 'k', explicitHashKey: '-1' }]),
    ).rejects.toBeInstanceOf(InvalidRecordError);
    // Counted in UTF-16 code units, as kinesalite counts (AWS counts code points): 129 emoji are 129 code points
    // but 258 units, refused before sending instead of failing at the engine on every retry.
    await expect(producer.putRecords([{ data: new Uint8Array(1), partitionKey: '😀'.repeat(129) }])).rejects.toThrow(
      /258 UTF-16 code units/,
    );
    expect(kinesis.calls).toHaveLength(0);
    // 128 characters that are 4 UTF-8 bytes each (256 units) are allowed.
    await producer.putRecords([{ data: new Uint8Array(1), partitionKey: '😀'.repeat(128) }]);
    expect(kinesis.calls).toHaveLength(1);
  });
});

describe('KinesisProducer stream records', () => {
  const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-cpu-high';
  const INC = incidentId(ARN, Date.parse('2026-11-28T10:00:00.000Z'));
  const ackRecord = (i: number): StreamRecordIn => ({
    v: 1,
    kind: 'ack',
    event_id: eventId('ack', INC, String(i)),
    incident_id: INC,
    alarm_arn: ARN,
    event_time: new Date(Date.parse('2026-11-28T10:01:00.000Z') + i).toISOString(),
    channel: 'sms',
    via: 'sms_reply',
  });

  it('encodes with encodeRecord and keys by the alarm ARN', async () => {
    const kinesis = fakeKinesis();
    const producer = new KinesisProducer({ kinesis, streamName: 's' });
    const one = await producer.putRecord(ackRecord(1));
    expect(one).toEqual({ shardId: 'shardId-000000000000', sequenceNumber: '1000' });
    await producer.putStreamRecords([ackRecord(2), ackRecord(3)]);
    const sent = kinesis.calls.flatMap((c) => c.Records!);
    expect(sent.map((r) => r.PartitionKey)).toEqual([ARN, ARN, ARN]);
    expect(decodeRecord(sent[2].Data!)).toMatchObject({ kind: 'ack', event_id: eventId('ack', INC, '3') });
  });

  it('validates every record before sending any', async () => {
    const kinesis = fakeKinesis();
    const producer = new KinesisProducer({ kinesis, streamName: 's' });
    const bad = { ...ackRecord(2), event_time: 'yesterday' } as StreamRecordIn;
    await expect(producer.putStreamRecords([ackRecord(1), bad])).rejects.toBeInstanceOf(RecordDecodeError);
    expect(kinesis.calls).toHaveLength(0);
  });
});
