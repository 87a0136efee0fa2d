import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createPagingHandler, type PagingHandlerOptions } from '../../processors/paging/handler.js';
import type { EscalationEngine } from '../../processors/paging/escalation.js';
import { toKinesisStreamRecord } from '../../processors/runtime/kinesis-event.js';
import { encodeRecord, encodeTick, partitionKeyOf, type StreamRecord } from '../../schemas/envelope.js';
import { ALARM_ARN, T0, receipt } from '../fixtures/records.js';

/**
 * The paging handler skips ticks (schemas/tick-record.ts, put by the lake): no read, no write, no effect, no
 * warning, never a failed record; it counts them (a debug line). The records around them are handled as ever.
 */
const SRC = { streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/test', region: 'us-east-1' };
const tick = (n: number) =>
  encodeTick({ v: 1, kind: 'tick', event_id: `evt_tick_${n}_0000`, event_time: new Date(T0 + n).toISOString() });
const kinesisRecord = (data: Uint8Array, seq: number, partitionKey = ALARM_ARN) =>
  toKinesisStreamRecord(
    { shardId: 'shardId-000000000000', sequenceNumber: String(seq), partitionKey, data, arrivalTime: T0 + seq },
    SRC,
  );

function handlerWithProbes() {
  const calls: string[] = [];
  const applied: StreamRecord[] = [];
  const lines: { level: number; msg: string; ticks?: number }[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const refuse = (name: string) => async () => {
    calls.push(name);
    return undefined;
  };
  const store = {
    get: refuse('get'),
    put: refuse('put'),
    find: refuse('find'),
    findWithPointer: refuse('findWithPointer'),
    alias: refuse('alias'),
    markOpen: refuse('markOpen'),
    markResolved: refuse('markResolved'),
  } as unknown as PagingHandlerOptions['store'];
  const engine = {
    apply: (_state: unknown, record: StreamRecord) => {
      applied.push(record);
      return { state: undefined, changed: false };
    },
    flapWindowMs: () => 0,
  } as unknown as EscalationEngine;
  const effects = { run: refuse('run') } as unknown as PagingHandlerOptions['effects'];
  const handler = createPagingHandler({ store, engine, effects, logger, now: () => T0 });
  return { handler, calls, applied, lines };
}

describe('paging handler: ticks', () => {
  it('a batch of ticks: nothing read, written or sent; no warning; counted', async () => {
    const p = handlerWithProbes();
    const out = await p.handler({ Records: [kinesisRecord(tick(1), 1), kinesisRecord(tick(2), 2, 'other-key')] });
    expect(out).toEqual({ batchItemFailures: [] });
    expect(p.calls).toEqual([]);
    expect(p.applied).toEqual([]);
    expect(p.lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(p.lines.find((l) => l.msg === 'ticks skipped')).toMatchObject({ ticks: 2 });
  });

  it('ticks among records: only the records are applied, in order', async () => {
    const p = handlerWithProbes();
    const r1 = receipt('SM1', 'delivered', T0 + 1);
    const r2 = receipt('SM2', 'delivered', T0 + 2);
    const out = await p.handler({
      Records: [
        kinesisRecord(tick(1), 1),
        kinesisRecord(encodeRecord(r1), 2, partitionKeyOf(r1)),
        kinesisRecord(tick(3), 3),
        kinesisRecord(encodeRecord(r2), 4, partitionKeyOf(r2)),
      ],
    });
    expect(out).toEqual({ batchItemFailures: [] });
    expect(p.applied.map((r) => r.kind === 'receipt' && r.message_id)).toEqual(['SM1', 'SM2']);
    expect(p.calls).toEqual(['find', 'find']);
    expect(p.lines.filter((l) => l.level >= 40)).toEqual([]);
  });
});
