import { describe, expect, it } from 'vitest';
import {
  PutRecordsCommand,
  ResourceNotFoundException,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { BatchingProducer, ProducerClosedError, ProducerOverloadedError } from './batching-producer.js';
import { InvalidRecordError, PutRecordsFailedError, RecordTooLargeError } from './errors.js';
import type { ProducerEntry } from './kinesis-producer.js';
import { decodeRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { RecordDecodeError } from '../../schemas/errors.js';
import { eventId } from '../../schemas/ids.js';
import { ack, ALARM_ARN, INCIDENT, T0 } from '../../test/fixtures/records.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

type Reply = (
  input: PutRecordsCommandInput,
  call: number,
  signal?: AbortSignal,
) => PutRecordsCommandOutput | Error | Promise<PutRecordsCommandOutput | Error>;

/** A KinesisClient stand-in: every PutRecords input in `calls`; `reply` decides the answer (default:
 * all written, sequence numbers 1000, 1001, … in the order received); `inFlight` counts open calls. */
function fakeKinesis(reply?: Reply) {
  const calls: PutRecordsCommandInput[] = [];
  let seq = 1000;
  let inFlight = 0;
  let maxInFlight = 0;
  const ok = (input: PutRecordsCommandInput): PutRecordsCommandOutput => ({
    $metadata: {},
    FailedRecordCount: 0,
    Records: input.Records!.map(() => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(seq++) })),
  });
  return {
    calls,
    ok,
    get maxInFlight() {
      return maxInFlight;
    },
    async send(command: unknown, options?: unknown) {
      if (!(command instanceof PutRecordsCommand)) throw new Error('unexpected command');
      calls.push(command.input);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        const out = await (reply ?? ok)(
          command.input,
          calls.length,
          (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal,
        );
        if (out instanceof Error) throw out;
        return out;
      } finally {
        inFlight--;
      }
    },
  };
}

/** Per-entry errors for the entries whose data text `fail` names (by call number). */
function failing(fail: (text: string, call: number) => string | undefined): Reply {
  let seq = 5000;
  return (input, call) => {
    const Records = input.Records!.map((r) => {
      const code = fail(dec.decode(r.Data), call);
      return code
        ? { ErrorCode: code, ErrorMessage: `${code} for test` }
        : { ShardId: 'shardId-000000000001', SequenceNumber: String(seq++) };
    });
    return { $metadata: {}, FailedRecordCount: Records.filter((r) => 'ErrorCode' in r).length, Records };
  };
}

const entry = (text: string, partitionKey = 'pk'): ProducerEntry => ({ data: enc.encode(text), partitionKey });
const texts = (input: PutRecordsCommandInput) => input.Records!.map((r) => dec.decode(r.Data));
const fast = { baseDelayMs: 1, maxDelayMs: 4 };
/** One turn of the event loop (timers due now and I/O run). */
const turn = () => new Promise((r) => setImmediate(r));
/** Waits (turn by turn, at most 2 s) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met within 2 s');
    await turn();
  }
}

describe('BatchingProducer', () => {
  it('sends concurrent puts as one PutRecords call; each caller gets its own results in input order', async () => {
    const kinesis = fakeKinesis();
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 60_000, maxBatchRecords: 5 });
    const a = producer.putRecords([entry('a0'), entry('a1')]);
    const b = producer.putRecords([entry('b0')]);
    const c = producer.putRecords([entry('c0'), entry('c1')]); // 5 records: a full batch goes at once
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    expect(kinesis.calls.map(texts)).toEqual([['a0', 'a1', 'b0', 'c0', 'c1']]);
    expect(kinesis.calls[0].StreamName).toBe('s');
    expect(ra.map((r) => r.sequenceNumber)).toEqual(['1000', '1001']);
    expect(rb.map((r) => r.sequenceNumber)).toEqual(['1002']);
    expect(rc.map((r) => r.sequenceNumber)).toEqual(['1003', '1004']);
  });

  it('holds a lone record for the linger time, and close() sends it at once', async () => {
    const kinesis = fakeKinesis();
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 60_000 });
    let settled = false;
    const put = producer.putRecords([entry('x')]).then((r) => {
      settled = true;
      return r;
    });
    await turn();
    expect(kinesis.calls).toHaveLength(0);
    expect(settled).toBe(false);
    expect(producer.pendingRecords).toBe(1);
    await producer.close();
    expect(settled).toBe(true);
    expect(await put).toEqual([{ shardId: 'shardId-000000000000', sequenceNumber: '1000' }]);
    expect(producer.pendingRecords).toBe(0);
    await expect(producer.putRecords([entry('late')])).rejects.toBeInstanceOf(ProducerClosedError);
  });

  it('sends after lingerMs without a full batch', async () => {
    const kinesis = fakeKinesis();
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 1 });
    await Promise.all([producer.putRecords([entry('p')]), producer.putRecords([entry('q')])]);
    expect(kinesis.calls.map(texts)).toEqual([['p', 'q']]);
  });

  it('never splits a put across calls, and keeps to the byte limit counting partition keys', async () => {
    const kinesis = fakeKinesis();
    const producer = new BatchingProducer({
      kinesis,
      streamName: 's',
      lingerMs: 60_000,
      maxBatchRecords: 7,
      maxBatchBytes: 1000,
      maxRecordBytes: 400,
    });
    const puts = [0, 1, 2, 3].map((p) => producer.putRecords([0, 1, 2].map((i) => entry(`${p}${i}`))));
    await producer.close();
    await Promise.all(puts);
    expect(kinesis.calls.map((c) => c.Records!.length)).toEqual([6, 6]);
    expect(kinesis.calls.map(texts)).toEqual([
      ['00', '01', '02', '10', '11', '12'],
      ['20', '21', '22', '30', '31', '32'],
    ]);

    // 3 records of 298 + 2-byte key = 300 each: two fit in 800 bytes, a third would not
    const bytes = fakeKinesis();
    const p2 = new BatchingProducer({
      kinesis: bytes,
      streamName: 's',
      lingerMs: 60_000,
      maxBatchBytes: 800,
      maxRecordBytes: 400,
    });
    const big = (t: string) => entry(t.padEnd(298, '.'), 'pk');
    const all = Promise.all([p2.putRecords([big('a')]), p2.putRecords([big('b')]), p2.putRecords([big('c')])]);
    await p2.close();
    await all;
    expect(bytes.calls.map((c) => c.Records!.length)).toEqual([2, 1]);
  });

  it('writes a put larger than one call batch after batch, in input order', async () => {
    const kinesis = fakeKinesis();
    const producer = new BatchingProducer({ kinesis, streamName: 's', maxBatchRecords: 4 });
    const results = await producer.putRecords(Array.from({ length: 10 }, (_, i) => entry(`r${i}`)));
    expect(kinesis.calls.map((c) => c.Records!.length)).toEqual([4, 4, 2]);
    expect(results.map((r) => Number(r.sequenceNumber))).toEqual(Array.from({ length: 10 }, (_, i) => 1000 + i));
    expect(producer.pendingRecords).toBe(0);
  });

  it('retries only the failed entries, then resolves each caller', async () => {
    const kinesis = fakeKinesis(
      failing((t, call) => (t === 'b0' && call === 1 ? 'ProvisionedThroughputExceededException' : undefined)),
    );
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 0, ...fast });
    const [a, b] = await Promise.all([
      producer.putRecords([entry('a0')]),
      producer.putRecords([entry('b0'), entry('b1')]),
    ]);
    expect(kinesis.calls.map(texts)).toEqual([['a0', 'b0', 'b1'], ['b0']]);
    expect(a).toHaveLength(1);
    expect(b.map((r) => r.sequenceNumber)).toEqual(['5002', '5001']); // b0 written by the retry, after b1
  });

  it('rejects only the put whose entry kept failing, with the results of its other entries', async () => {
    const kinesis = fakeKinesis(failing((t) => (t === 'b1' ? 'InternalFailure' : undefined)));
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 0, maxAttempts: 3, ...fast });
    const a = producer.putRecords([entry('a0')]);
    const b = producer.putRecords([entry('b0'), entry('b1')]);
    await expect(a).resolves.toHaveLength(1);
    const err = (await b.catch((e: unknown) => e)) as PutRecordsFailedError;
    expect(err).toBeInstanceOf(PutRecordsFailedError);
    expect(err.attempts).toBe(3);
    expect(err.failed).toEqual([
      { index: 1, partitionKey: 'pk', errorCode: 'InternalFailure', errorMessage: 'InternalFailure for test' },
    ]);
    expect(err.results[0]).toBeDefined();
    expect(err.results[1]).toBeUndefined();
    expect(kinesis.calls.map(texts)).toEqual([['a0', 'b0', 'b1'], ['b1'], ['b1']]);
    expect(producer.pendingRecords).toBe(0);
  });

  it('fails every put of a call at once on a non-retryable error', async () => {
    const kinesis = fakeKinesis(() => new ResourceNotFoundException({ message: 'Stream s not found', $metadata: {} }));
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 0, ...fast });
    const results = await Promise.allSettled([producer.putRecords([entry('a')]), producer.putRecords([entry('b')])]);
    expect(kinesis.calls).toHaveLength(1);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as PutRecordsFailedError;
      expect(err).toBeInstanceOf(PutRecordsFailedError);
      expect(err.errorCodes).toEqual(['ResourceNotFoundException']);
      expect(err.attempts).toBe(1);
      expect(err.cause).toBeInstanceOf(ResourceNotFoundException);
    }
  });

  it('aborts a call that does not answer within callTimeoutMs and retries its entries', async () => {
    const kinesis = fakeKinesis((input, call, signal) =>
      call === 1
        ? new Promise((_, reject) =>
            signal!.addEventListener('abort', () =>
              reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
            ),
          )
        : kinesis.ok(input),
    );
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 0, callTimeoutMs: 20, ...fast });
    const results = await producer.putRecords([entry('slow')]);
    expect(kinesis.calls.map(texts)).toEqual([['slow'], ['slow']]);
    expect(results).toHaveLength(1);
  });

  it('a call that never answers fails its put after maxAttempts timeouts (TimeoutError)', async () => {
    const kinesis = fakeKinesis(
      (_input, _call, signal) =>
        new Promise((_, reject) => signal!.addEventListener('abort', () => reject(new Error('aborted')))),
    );
    const producer = new BatchingProducer({
      kinesis,
      streamName: 's',
      lingerMs: 0,
      callTimeoutMs: 10,
      maxAttempts: 2,
      ...fast,
    });
    const err = (await producer.putRecords([entry('x')]).catch((e: unknown) => e)) as PutRecordsFailedError;
    expect(err).toBeInstanceOf(PutRecordsFailedError);
    expect(err.errorCodes).toEqual(['TimeoutError']);
    expect(kinesis.calls).toHaveLength(2);
  });

  it('keeps at most maxInFlight calls open; records collect meanwhile', async () => {
    const gates: (() => void)[] = [];
    const kinesis = fakeKinesis(async (input) => {
      await new Promise<void>((r) => gates.push(r));
      return kinesis.ok(input);
    });
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 0, maxInFlight: 1 });
    const first = producer.putRecords([entry('1')]);
    await until(() => gates.length === 1);
    // the one call is open: these wait for it, together
    const later = [
      producer.putRecords([entry('2')]),
      producer.putRecords([entry('3')]),
      producer.putRecords([entry('4')]),
    ];
    gates.shift()!();
    await first;
    await until(() => gates.length === 1);
    expect(kinesis.calls.map(texts)).toEqual([['1'], ['2', '3', '4']]);
    gates.shift()!();
    await Promise.all(later);
    expect(kinesis.maxInFlight).toBe(1);
  });

  it('refuses a put past maxPendingRecords, and invalid entries, before queuing anything', async () => {
    const kinesis = fakeKinesis();
    const producer = new BatchingProducer({
      kinesis,
      streamName: 's',
      lingerMs: 60_000,
      maxPendingRecords: 2,
      maxRecordBytes: 100,
    });
    const a = producer.putRecords([entry('a'), entry('b')]);
    await expect(producer.putRecords([entry('c')])).rejects.toBeInstanceOf(ProducerOverloadedError);
    await expect(producer.putRecords([entry('x'.repeat(200))])).rejects.toBeInstanceOf(RecordTooLargeError);
    await expect(producer.putRecords([entry('y', '')])).rejects.toBeInstanceOf(InvalidRecordError);
    expect(producer.pendingRecords).toBe(2);
    await producer.close();
    await a;
    expect(kinesis.calls.map(texts)).toEqual([['a', 'b']]);
  });

  it('encodes stream records, keyed by the alarm ARN; an invalid record queues nothing', async () => {
    const at = (i: number) => T0 + 60_000 + i;
    const kinesis = fakeKinesis();
    const producer = new BatchingProducer({ kinesis, streamName: 's', lingerMs: 0 });
    await expect(
      producer.putStreamRecords([ack(at(1)), { ...ack(at(2)), event_time: 'yesterday' } as StreamRecordIn]),
    ).rejects.toBeInstanceOf(RecordDecodeError);
    expect(producer.pendingRecords).toBe(0);
    await producer.putStreamRecords([ack(at(3))]);
    expect(kinesis.calls).toHaveLength(1);
    expect(kinesis.calls[0].Records![0].PartitionKey).toBe(ALARM_ARN);
    expect(decodeRecord(kinesis.calls[0].Records![0].Data!)).toMatchObject({
      kind: 'ack',
      event_id: eventId('ack', INCIDENT, String(at(3))),
    });
  });
});
