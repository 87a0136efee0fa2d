import { describe, expect, it } from 'vitest';
import { EventJoin } from './join.js';
import { ShardPipeline } from './shard-pipeline.js';
import { ALARM_ARN, T0, ack, alarmEvent, asShardRecords, decoded, dispatch, escalation, receipt } from '../../test/fixtures/records.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';

const meta = (i: number) => ({ shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i), arrivalTime: T0 + i });

function run(records: StreamRecordIn[], opts = {}) {
  const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000, ...opts });
  records.forEach((r, i) => join.push(decoded(r), meta(i)));
  return { join, rows: join.drain() };
}

describe('EventJoin', () => {
  it('enriches a receipt with its dispatch (in order)', () => {
    const { rows } = run([alarmEvent(), dispatch('SM1', T0 + 1000), receipt('SM1', 'delivered', T0 + 3000)]);
    expect(rows.map((r) => [r.kind, r.status, r.join_status])).toEqual([
      ['alarm', 'alarm', 'none'],
      ['dispatch', 'sent', 'none'],
      ['receipt', 'delivered', 'matched'],
    ]);
    const r = rows[2];
    expect(r).toMatchObject({ person: 'alice', level: 1, severity: 'P1', alarm_name: 'api-cpu-high', dispatched_at: T0 + 1000, escalate_at: T0 + 301_000 });
  });

  it('holds a receipt that arrives before its dispatch, then joins it', () => {
    const join = new EventJoin({ allowedLatenessMs: 60_000 });
    join.push(decoded(receipt('SM1', 'delivered', T0 + 3000)), meta(0));
    expect(join.drain()).toEqual([]);
    expect(join.pendingCount).toBe(1);
    join.push(decoded(dispatch('SM1', T0 + 1000)), meta(1));
    const rows = join.drain();
    expect(rows.map((r) => [r.kind, r.join_status])).toEqual([
      ['dispatch', 'none'],
      ['receipt', 'matched'],
    ]);
    expect(rows[1].dispatched_at).toBe(T0 + 1000);
    expect(join.counters.matched).toBe(1);
  });

  it('drops duplicates by event id (provider retries, Kinesis redelivery)', () => {
    const { rows, join } = run([dispatch('SM1', T0), receipt('SM1', 'delivered', T0 + 1), receipt('SM1', 'delivered', T0 + 1), dispatch('SM1', T0)]);
    expect(rows).toHaveLength(2);
    expect(join.counters.duplicates).toBe(2);
  });

  it('releases an orphan receipt as unmatched once the watermark passes it', () => {
    const join = new EventJoin({ allowedLatenessMs: 60_000 });
    join.push(decoded(receipt('SM9', 'delivered', T0)), meta(0));
    join.push(decoded(dispatch('SM1', T0 + 30_000)), meta(1));
    expect(join.drain().map((r) => r.kind)).toEqual(['dispatch']);
    join.push(decoded(dispatch('SM2', T0 + 61_000)), meta(2)); // watermark = T0 + 1 s > receipt time
    const rows = join.drain();
    expect(rows.map((r) => [r.kind, r.message_id, r.join_status])).toEqual([
      ['dispatch', 'SM2', 'none'],
      ['receipt', 'SM9', 'unmatched'],
    ]);
    expect(rows[1].alarm_name).toBe('api-cpu-high'); // from the incident it belongs to
    expect(join.counters.unmatched).toBe(1);
  });

  it('emits a late receipt at once: matched when its dispatch is still held, else late', () => {
    const join = new EventJoin({ allowedLatenessMs: 1000 });
    join.push(decoded(dispatch('SM1', T0)), meta(0));
    join.push(decoded(dispatch('SM2', T0 + 600_000)), meta(1)); // watermark = T0 + 599 s
    join.push(decoded(receipt('SM1', 'delivered', T0 + 2000)), meta(2)); // late, dispatch held
    join.push(decoded(receipt('SM7', 'delivered', T0 + 3000)), meta(3)); // late, no dispatch
    const rows = join.drain();
    expect(rows.slice(2).map((r) => [r.message_id, r.join_status])).toEqual([
      ['SM1', 'matched'],
      ['SM7', 'late'],
    ]);
    expect(join.counters.late).toBe(1);
    expect(join.pendingCount).toBe(0);
  });

  it('expires dispatches and remembered ids past the window, and counts them', () => {
    const join = new EventJoin({ allowedLatenessMs: 0, windowMs: 60_000 });
    join.push(decoded(dispatch('SM1', T0)), meta(0));
    join.push(decoded(dispatch('SM2', T0 + 120_000)), meta(1));
    expect(join.counters.expired).toBeGreaterThanOrEqual(2); // SM1's id and its dispatch entry
    join.push(decoded(receipt('SM1', 'delivered', T0 + 130_000)), meta(2));
    join.push(decoded(dispatch('SM3', T0 + 200_000)), meta(3));
    const receiptRow = join.drain().find((r) => r.kind === 'receipt')!;
    expect(receiptRow.join_status).toBe('unmatched');
    expect(receiptRow.dispatched_at).toBeNull();
  });

  it('bounds state: evicts oldest entries past maxStateEntries, never losing a held receipt', () => {
    const join = new EventJoin({ maxStateEntries: 10, allowedLatenessMs: 3600_000 });
    const recs: StreamRecordIn[] = [];
    for (let i = 0; i < 20; i++) recs.push(receipt(`SMX${i}`, 'delivered', T0 + i));
    recs.forEach((r, i) => join.push(decoded(r), meta(i)));
    expect(join.stateSize).toBeLessThanOrEqual(10);
    expect(join.counters.evicted).toBeGreaterThan(0);
    const emitted = join.drain();
    expect(emitted.length + join.pendingCount).toBe(20);
    expect(emitted.every((r) => r.join_status === 'unmatched')).toBe(true);
  });

  it('joins acks and escalations to the message they name, without waiting', () => {
    const { rows } = run([dispatch('SM1', T0), ack(T0 + 5000, 'SM1'), escalation(T0 + 6000, 1, 2)]);
    expect(rows[1]).toMatchObject({ kind: 'ack', status: 'acked', join_status: 'matched', level: 1, dispatched_at: T0 });
    expect(rows[2]).toMatchObject({ kind: 'escalation', status: 'escalated', level: 1, to_level: 2, join_status: 'none', severity: 'P1' });
  });

  it('gives the same rows whatever the batch boundaries, and across snapshot/restore', () => {
    const recs: StreamRecordIn[] = [
      alarmEvent(),
      receipt('SM1', 'delivered', T0 + 3000),
      dispatch('SM1', T0 + 1000),
      receipt('SM9', 'sent', T0 + 4000),
      dispatch('SM2', T0 + 5000),
      receipt('SM2', 'opened', T0 + 9000),
      receipt('SM2', 'opened', T0 + 9000),
      dispatch('SM3', T0 + 200_000),
      receipt('SM3', 'delivered', T0 + 201_000),
    ];
    const whole = run(recs).rows;
    // Split in two with a snapshot in between, as a restart after a flush would.
    const first = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000 });
    recs.slice(0, 4).forEach((r, i) => first.push(decoded(r), meta(i)));
    const part1 = first.drain();
    const snap = JSON.parse(JSON.stringify(first.snapshot()));
    const second = EventJoin.restore([snap], { allowedLatenessMs: 60_000, windowMs: 3600_000 });
    recs.slice(4).forEach((r, i) => second.push(decoded(r), meta(i + 4)));
    expect([...part1, ...second.drain()]).toEqual(whole);
  });

  it('merges the state of two parent shards into a child (reshard)', () => {
    const a = new EventJoin();
    a.push(decoded(dispatch('SM1', T0)), meta(0));
    const b = new EventJoin();
    b.push(decoded(dispatch('SM2', T0 + 10)), meta(1));
    const child = EventJoin.restore([a.snapshot(), b.snapshot()]);
    child.push(decoded(receipt('SM1', 'delivered', T0 + 20)), meta(2));
    child.push(decoded(receipt('SM2', 'delivered', T0 + 30)), meta(3));
    expect(child.drain().map((r) => r.join_status)).toEqual(['matched', 'matched']);
  });

  it('keeps a waiting receipt\'s partition key (snapshot v2) and restores only those a filter keeps', () => {
    const parent = new EventJoin({ allowedLatenessMs: 60_000 });
    parent.push(decoded(receipt('SM1', 'delivered', T0)), { ...meta(0), partitionKey: 'pk-a' });
    parent.push(decoded(receipt('SM2', 'delivered', T0 + 1)), { ...meta(1), partitionKey: 'pk-b' });
    const snap = parent.snapshot();
    expect(snap.v).toBe(2);
    expect(snap.pending.map((p) => p.pk)).toEqual(['pk-a', 'pk-b']);
    const child = EventJoin.restore([JSON.parse(JSON.stringify(snap))], { allowedLatenessMs: 60_000 }, (pk) => pk === 'pk-b');
    expect(child.pendingCount).toBe(1);
    child.push(decoded(dispatch('SM1', T0 - 10)), meta(2));
    child.push(decoded(dispatch('SM2', T0 - 5)), meta(3));
    expect(child.drain().filter((r) => r.kind === 'receipt').map((r) => [r.message_id, r.join_status])).toEqual([['SM2', 'matched']]);
  });

  it('reads a v1 snapshot (no partition keys: a waiting receipt is filtered by its alarm ARN)', () => {
    const j = new EventJoin({ allowedLatenessMs: 60_000 });
    j.push(decoded(receipt('SM1', 'delivered', T0)), meta(0));
    const v1 = { ...j.snapshot(), v: 1 as const, pending: j.snapshot().pending.map(({ key, row }) => ({ key, row })) };
    expect(EventJoin.restore([v1]).pendingCount).toBe(1);
    expect(EventJoin.restore([v1], {}, (pk) => pk === ALARM_ARN).pendingCount).toBe(1);
    expect(EventJoin.restore([v1], {}, (pk) => pk !== ALARM_ARN).pendingCount).toBe(0);
    expect(() => EventJoin.restore([{ ...v1, v: 3 as never }])).toThrow(/unknown join snapshot version 3/);
  });

  it('releases waiting receipts on demand (a replay that ends), unmatched', () => {
    const j = new EventJoin({ allowedLatenessMs: 60_000 });
    j.push(decoded(receipt('SM1', 'delivered', T0)), meta(0));
    j.push(decoded(receipt('SM2', 'delivered', T0 + 1)), meta(1));
    expect(j.waiting((r) => r.message_id === 'SM2')).toBe(1);
    j.releaseWaiting((r) => r.message_id === 'SM2');
    expect(j.drain().map((r) => [r.message_id, r.join_status])).toEqual([['SM2', 'unmatched']]);
    expect(j.pendingCount).toBe(1);
  });
});

describe('ShardPipeline', () => {
  it('sends a malformed record to the error lines with the reason and raw bytes, and goes on', () => {
    const bad = new TextEncoder().encode('{"v":1,"kind":"receipt","event_id":"x"}');
    const notJson = new TextEncoder().encode('\u0000garbage');
    const p = new ShardPipeline('shardId-000000000000', new EventJoin());
    for (const r of asShardRecords([dispatch('SM1', T0), bad, notJson, receipt('SM1', 'delivered', T0 + 1)])) p.push(r);
    const batch = p.take()!;
    expect(batch.records).toBe(4);
    expect(batch.raw).toHaveLength(4);
    expect(batch.events.map((r) => r.kind)).toEqual(['dispatch', 'receipt']);
    expect(batch.errors).toHaveLength(2);
    expect(batch.errors[0].reason).toMatch(/invalid stream record at event_id/);
    expect(Buffer.from(batch.errors[0].data_base64, 'base64').toString()).toBe('{"v":1,"kind":"receipt","event_id":"x"}');
    expect(batch.errors[1].reason).toMatch(/not UTF-8 JSON/);
    expect(p.take()).toBeUndefined();
  });
});
