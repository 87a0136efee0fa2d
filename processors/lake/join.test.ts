import { describe, expect, it } from 'vitest';
import { DISPATCH_WAIT_REASON, EventJoin, eventTimeError, joinOptions } from './join.js';
import { ShardPipeline, type FlushBatch, type LakeInputRecord } from './shard-pipeline.js';
import { flushRecords } from './flush.js';
import {
  ALARM_ARN,
  T0,
  ack,
  alarmEvent,
  asShardRecords,
  decoded,
  dispatch,
  escalation,
  receipt,
} from '../../test/fixtures/records.js';
import { encodeRecord, encodeTick, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';

const meta = (i: number) => ({
  shardId: 'shardId-000000000000',
  sequenceNumber: String(1000 + i),
  arrivalTime: T0 + i,
});

function run(records: StreamRecordIn[], opts = {}) {
  const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000, ...opts });
  records.forEach((r, i) => {
    join.push(decoded(r), meta(i));
  });
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
    expect(r).toMatchObject({
      person: 'alice',
      level: 1,
      severity: 'P1',
      alarm_name: 'api-cpu-high',
      dispatched_at: T0 + 1000,
      escalate_at: T0 + 301_000,
    });
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
    const { rows, join } = run([
      dispatch('SM1', T0),
      receipt('SM1', 'delivered', T0 + 1),
      receipt('SM1', 'delivered', T0 + 1),
      dispatch('SM1', T0),
    ]);
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

  it('expires dispatches past the window (event time), and counts them', () => {
    const join = new EventJoin({ allowedLatenessMs: 0, windowMs: 60_000 });
    join.push(decoded(dispatch('SM1', T0)), meta(0));
    join.push(decoded(dispatch('SM2', T0 + 120_000)), meta(1));
    expect(join.counters.expired).toBe(2); // SM1's dispatch and incident entries (its id is remembered by arrival time)
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
    recs.forEach((r, i) => {
      join.push(decoded(r), meta(i));
    });
    expect(join.stateSize).toBeLessThanOrEqual(10);
    expect(join.counters.evicted).toBeGreaterThan(0);
    const emitted = join.drain();
    expect(emitted.length + join.pendingCount).toBe(20);
    expect(emitted.every((r) => r.join_status === 'unmatched')).toBe(true);
  });

  it('joins acks and escalations to the message they name, without waiting', () => {
    const { rows } = run([dispatch('SM1', T0), ack(T0 + 5000, 'SM1'), escalation(T0 + 6000, 1, 2)]);
    expect(rows[1]).toMatchObject({
      kind: 'ack',
      status: 'acked',
      join_status: 'matched',
      level: 1,
      dispatched_at: T0,
    });
    expect(rows[2]).toMatchObject({
      kind: 'escalation',
      status: 'escalated',
      level: 1,
      to_level: 2,
      join_status: 'none',
      severity: 'P1',
    });
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
    recs.slice(0, 4).forEach((r, i) => {
      first.push(decoded(r), meta(i));
    });
    const part1 = first.drain();
    const snap = JSON.parse(JSON.stringify(first.snapshot()));
    const second = EventJoin.restore([snap], { allowedLatenessMs: 60_000, windowMs: 3600_000 });
    recs.slice(4).forEach((r, i) => {
      second.push(decoded(r), meta(i + 4));
    });
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

  it("keeps a waiting receipt's partition key (snapshot v2) and restores only those a filter keeps", () => {
    const parent = new EventJoin({ allowedLatenessMs: 60_000 });
    parent.push(decoded(receipt('SM1', 'delivered', T0)), { ...meta(0), partitionKey: 'pk-a' });
    parent.push(decoded(receipt('SM2', 'delivered', T0 + 1)), { ...meta(1), partitionKey: 'pk-b' });
    const snap = parent.snapshot();
    expect(snap.v).toBe(3);
    expect(snap.pending.map((p) => p.pk)).toEqual(['pk-a', 'pk-b']);
    const child = EventJoin.restore(
      [JSON.parse(JSON.stringify(snap))],
      { allowedLatenessMs: 60_000 },
      (pk) => pk === 'pk-b',
    );
    expect(child.pendingCount).toBe(1);
    child.push(decoded(dispatch('SM1', T0 - 10)), meta(2));
    child.push(decoded(dispatch('SM2', T0 - 5)), meta(3));
    expect(
      child
        .drain()
        .filter((r) => r.kind === 'receipt')
        .map((r) => [r.message_id, r.join_status]),
    ).toEqual([['SM2', 'matched']]);
  });

  it('reads a v1 snapshot (no partition keys: a waiting receipt is filtered by its alarm ARN)', () => {
    const j = new EventJoin({ allowedLatenessMs: 60_000 });
    j.push(decoded(receipt('SM1', 'delivered', T0)), meta(0));
    const v1 = { ...j.snapshot(), v: 1 as const, pending: j.snapshot().pending.map(({ key, row }) => ({ key, row })) };
    expect(EventJoin.restore([v1]).pendingCount).toBe(1);
    expect(EventJoin.restore([v1], {}, (pk) => pk === ALARM_ARN).pendingCount).toBe(1);
    expect(EventJoin.restore([v1], {}, (pk) => pk !== ALARM_ARN).pendingCount).toBe(0);
    expect(() => EventJoin.restore([{ ...v1, v: 4 as never }])).toThrow(/unknown join snapshot version 4/);
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
    expect(Buffer.from(batch.errors[0].data_base64, 'base64').toString()).toBe(
      '{"v":1,"kind":"receipt","event_id":"x"}',
    );
    expect(batch.errors[1].reason).toMatch(/not UTF-8 JSON/);
    expect(p.take()).toBeUndefined();
  });

  it('rejects event times out of bounds of the arrival time, with the reason, and keeps going', () => {
    const p = new ShardPipeline('shardId-000000000000', new EventJoin({ allowedLatenessMs: 60_000 }));
    const far = Date.parse('2099-01-01T00:00:00Z');
    const recs = asShardRecords([
      dispatch('SM1', T0),
      receipt('SM1', 'delivered', far),
      receipt('SM1', 'opened', T0 - 9 * 86_400_000),
      receipt('SM1', 'sent', T0 + 1),
    ]);
    for (const r of recs) p.push(r);
    const batch = p.take()!;
    expect(batch.events.map((r) => [r.kind, r.status, r.join_status])).toEqual([
      ['dispatch', 'sent', 'none'],
      ['receipt', 'sent', 'matched'],
    ]);
    expect(batch.errors.map((e) => [e.path, e.sequence_number])).toEqual([
      ['event_time', recs[1].sequenceNumber],
      ['event_time', recs[2].sequenceNumber],
    ]);
    expect(batch.errors[0].reason).toMatch(
      new RegExp(
        [
          "^event_time 2099-01-01T00:00:00.000Z is .* h after the record's arrival 2026-11-28T10:00:00.001Z ",
          String.raw`\(more than 24.0 h ahead\)$`,
        ].join(''),
      ),
    );
    expect(batch.errors[1].reason).toMatch(/before the record's arrival .* \(more than 192.0 h behind\)$/);
    expect(Buffer.from(batch.errors[0].data_base64, 'base64').equals(Buffer.from(recs[1].data))).toBe(true);
    expect(p.join.watermark).toBe(T0 + 1 - 60_000); // the 2099 record never moved it
  });
});

describe('eventTimeError', () => {
  const o = joinOptions();
  it('bounds event times by the arrival time: 1 day ahead, retention (7 d) + window (1 d) behind', () => {
    expect(o.maxAheadMs).toBe(86_400_000);
    expect(o.maxBehindMs).toBe(8 * 86_400_000);
    expect(eventTimeError(T0 + 86_400_000, T0, o)).toBeUndefined();
    expect(eventTimeError(T0 + 86_400_001, T0, o)).toMatch(/ahead/);
    expect(eventTimeError(T0 - 8 * 86_400_000, T0, o)).toBeUndefined();
    expect(eventTimeError(T0 - 8 * 86_400_000 - 1, T0, o)).toMatch(/behind/);
    expect(eventTimeError(Number.NaN, T0, o)).toMatch(/not a finite time/);
    expect(joinOptions({ windowMs: 3600_000 }).maxBehindMs).toBe(7 * 86_400_000 + 3600_000);
  });
});

describe('deduplication whatever the event times', () => {
  const DAY = 86_400_000;
  /** Records through a pipeline, arriving 1 s apart from T0 (optionally batch by batch with snapshot/restore). */
  function lake(records: ReturnType<typeof dispatch>[], opts: { arrivals?: number[]; restartEvery?: number } = {}) {
    const join0 = { allowedLatenessMs: 60_000 };
    let join = new EventJoin(join0);
    const rows = [];
    const errors = [];
    const shard = asShardRecords(records).map((r, i) => ({ ...r, arrivalTime: opts.arrivals?.[i] ?? T0 + i * 1000 }));
    for (let i = 0; i < shard.length; i++) {
      const p = new ShardPipeline(shard[i].shardId, join);
      p.push(shard[i]);
      const b = p.take()!;
      rows.push(...b.events);
      errors.push(...b.errors);
      if (opts.restartEvery && (i + 1) % opts.restartEvery === 0)
        join = EventJoin.restore([JSON.parse(JSON.stringify(join.snapshot()))], join0);
    }
    return { rows, errors, join };
  }
  const ids = (rows: { event_id: string }[]) => rows.map((r) => r.event_id);

  it('a 2099 event neither moves the watermark nor switches deduplication off', () => {
    const recs = [
      dispatch('SM1', T0),
      receipt('SM9', 'delivered', Date.parse('2099-06-01T00:00:00Z')),
      receipt('SM1', 'delivered', T0 + 1),
      receipt('SM1', 'delivered', T0 + 1),
      dispatch('SM1', T0),
    ];
    const { rows, errors, join } = lake(recs, { restartEvery: 2 });
    expect(ids(rows)).toEqual([decoded(recs[0]).event_id, decoded(recs[2]).event_id]);
    expect(errors).toHaveLength(1);
    expect(join.counters.duplicates).toBe(2);
  });

  it('an event a day ahead (within bounds) does not switch deduplication off for what follows', () => {
    const recs = [
      dispatch('SM1', T0),
      receipt('SM8', 'delivered', T0 + DAY - 1000),
      receipt('SM1', 'delivered', T0 + 5),
      receipt('SM1', 'delivered', T0 + 5),
      dispatch('SM1', T0),
    ];
    const { rows, join } = lake(recs);
    expect(rows.map((r) => [r.kind, r.message_id, r.join_status])).toEqual([
      ['dispatch', 'SM1', 'none'],
      ['receipt', 'SM1', 'matched'],
    ]);
    expect(join.pendingCount).toBe(1); // SM8 waits for its dispatch
    expect(join.counters.duplicates).toBe(2);
  });

  it('deduplicates records whose event time is older than the window (a provider retrying for a day)', () => {
    const old = T0 - 3 * DAY;
    const recs = [dispatch('SM2', T0), receipt('SM1', 'delivered', old), receipt('SM1', 'delivered', old)];
    const { rows, join } = lake(recs, { arrivals: [T0, T0 + 1000, T0 + 20 * 3600_000] });
    expect(rows.map((r) => [r.message_id, r.join_status])).toEqual([
      ['SM2', 'none'],
      ['SM1', 'late'],
    ]);
    expect(join.counters.duplicates).toBe(1);
  });

  it('remembers ids for the dedupe window of arrival time, then expires them (counted)', () => {
    const recs = [dispatch('SM1', T0), dispatch('SM2', T0 + 10), dispatch('SM1', T0)];
    const { rows, join } = lake(recs, { arrivals: [T0, T0 + DAY + 1, T0 + DAY + 2] });
    expect(rows.filter((r) => r.message_id === 'SM1')).toHaveLength(2); // remembered a day, not for ever
    expect(join.counters.expired).toBeGreaterThanOrEqual(1);
    expect(join.stateSize).toBeLessThan(10);
  });

  it('reads a v2 snapshot (seen by event time) as arrival times, and still deduplicates', () => {
    const j = new EventJoin({ allowedLatenessMs: 60_000 });
    j.push(decoded(dispatch('SM1', T0)), meta(0));
    j.push(decoded(receipt('SM2', 'delivered', Date.parse('2099-01-01T00:00:00Z'))), meta(1)); // a v2 lake may hold one
    const { maxArrivalTime, ...rest } = j.snapshot();
    void maxArrivalTime;
    const v2 = {
      ...rest,
      v: 2 as const,
      seen: rest.seen.map(([id], k) => [id, k === 0 ? T0 : Date.parse('2099-01-01T00:00:00Z')] as [string, number]),
    };
    const restored = EventJoin.restore([JSON.parse(JSON.stringify(v2))], { allowedLatenessMs: 60_000 });
    restored.push(decoded(dispatch('SM1', T0)), meta(2));
    restored.push(decoded(dispatch('SM3', T0 + 2 * DAY)), { ...meta(3), arrivalTime: T0 + 2 * DAY });
    restored.push(decoded(dispatch('SM3', T0 + 2 * DAY)), { ...meta(4), arrivalTime: T0 + 2 * DAY });
    expect(restored.counters.duplicates).toBe(2);
    // The 2099 time was clamped to the first arrival after the restore, so it expired with SM1 instead of blocking
    // expiry.
    expect(restored.snapshot().seen.map(([, t]) => t)).toEqual([T0 + 2 * DAY]);
  });
});

describe('EventJoin: a receipt waits for its dispatch at most maxWaitMs of arrival time', () => {
  const SHARD = 'shardId-000000000000';
  // The clock is the records' arrival times (controlled here), never the machine's.
  const at = (i: number, arrivalTime: number) => ({
    shardId: SHARD,
    sequenceNumber: String(1000 + i),
    arrivalTime,
    partitionKey: ALARM_ARN,
  });
  // Event times within a second: the watermark (5 min behind) never releases anything here.
  const scenario: [StreamRecordIn, number][] = [
    [alarmEvent(), T0],
    [receipt('SM1', 'delivered', T0 + 500), T0 + 1_000], // its dispatch comes 25 s later
    [receipt('SM2', 'delivered', T0 + 600), T0 + 2_000], // its dispatch comes in time
    [dispatch('SM2', T0 + 400), T0 + 4_000],
    [ack(T0 + 700, 'SM2'), T0 + 10_999], // 9.999 s after SM1 arrived: SM1 still waits
    [ack(T0 + 800, 'SM2'), T0 + 11_000], // 10 s: SM1 is written unmatched
    [dispatch('SM1', T0 + 300), T0 + 26_000], // written as any dispatch; SM1 is not written again
  ];

  it('writes it unmatched, reason dispatch_wait, once a record arrives maxWaitMs after it', () => {
    const join = new EventJoin({ maxWaitMs: 10_000 });
    const emitted: string[][] = [];
    scenario.forEach(([r, t], i) => {
      join.push(decoded(r), at(i, t));
      emitted.push(join.drain().map((row) => `${row.kind}:${row.message_id ?? ''}:${row.join_status}`));
    });
    expect(emitted).toEqual([
      ['alarm::none'],
      [],
      [],
      ['dispatch:SM2:none', 'receipt:SM2:matched'],
      ['ack:SM2:matched'],
      ['ack:SM2:matched', 'receipt:SM1:unmatched'],
      ['dispatch:SM1:none'],
    ]);
    expect(join.pendingCount).toBe(0);
    expect(join.counters).toMatchObject({ unmatched: 1, waitTimeouts: 1, matched: 3 });
  });

  it('keeps the receipt row and says why (alarm and severity from its incident)', () => {
    const join = new EventJoin({ maxWaitMs: 10_000 });
    scenario.slice(0, 6).forEach(([r, t], i) => {
      join.push(decoded(r), at(i, t));
    });
    const row = join.drain().find((r) => r.message_id === 'SM1')!;
    expect(row).toMatchObject({
      kind: 'receipt',
      join_status: 'unmatched',
      reason: DISPATCH_WAIT_REASON,
      alarm_name: 'api-cpu-high',
      status: 'delivered',
      arrival_time: T0 + 1_000,
      dispatched_at: null,
    });
  });

  it('is a pure function of the records: any batch cut and restore gives the same rows', () => {
    const whole = new EventJoin({ maxWaitMs: 10_000 });
    scenario.forEach(([r, t], i) => {
      whole.push(decoded(r), at(i, t));
    });
    const expected = whole.drain();
    for (let cut = 1; cut < scenario.length; cut++) {
      const first = new EventJoin({ maxWaitMs: 10_000 });
      scenario.slice(0, cut).forEach(([r, t], i) => {
        first.push(decoded(r), at(i, t));
      });
      const rows = first.drain();
      const restored = EventJoin.restore([JSON.parse(JSON.stringify(first.snapshot()))], { maxWaitMs: 10_000 });
      scenario.slice(cut).forEach(([r, t], i) => {
        restored.push(decoded(r), at(cut + i, t));
      });
      expect([...rows, ...restored.drain()]).toEqual(expected);
    }
  });

  it('a dispatch that arrives exactly at the bound still matches; Infinity waits for the watermark only', () => {
    const join = new EventJoin({ maxWaitMs: 10_000 });
    join.push(decoded(receipt('SM1', 'delivered', T0 + 500)), at(0, T0));
    join.push(decoded(dispatch('SM1', T0 + 300)), at(1, T0 + 10_000));
    expect(join.drain().map((r) => `${r.kind}:${r.join_status}`)).toEqual(['dispatch:none', 'receipt:matched']);

    const unbounded = new EventJoin({ maxWaitMs: Infinity });
    unbounded.push(decoded(receipt('SM1', 'delivered', T0 + 500)), at(0, T0));
    unbounded.push(decoded(ack(T0 + 600)), at(1, T0 + 3600_000));
    expect(unbounded.pendingCount).toBe(1);
  });

  it('defaults to 10 s', () => {
    expect(joinOptions().maxWaitMs).toBe(10_000);
  });
});

describe('ticks: the clock of a shard with no other traffic', () => {
  const SHARD = 'shardId-000000000000';
  const tickBytes = (n: number) =>
    encodeTick({ v: 1, kind: 'tick', event_id: `evt_tick_${n}`, event_time: new Date(T0 + n).toISOString() });
  /** Shard records at the arrival times given (the clock the join reads), sequence numbers in order. */
  const onShard = (items: [StreamRecordIn | Uint8Array, number][]): LakeInputRecord[] =>
    items.map(([r, arrivalTime], i) => ({
      shardId: SHARD,
      sequenceNumber: String(49650000000000000000000000000000000000000000000000000n + BigInt(i) * 10n),
      partitionKey: r instanceof Uint8Array ? ALARM_ARN : partitionKeyOf(r),
      data: r instanceof Uint8Array ? r : encodeRecord(r),
      arrivalTime,
    }));
  const rowsOf = (batches: FlushBatch[]) =>
    batches
      .flatMap((b) => b.events)
      .map((r) => `${r.kind}:${r.message_id}:${r.join_status}:${r.kind === 'receipt' ? (r.reason ?? '') : ''}`);

  // A receipt whose dispatch never comes, then only ticks: one early (5 s), one at the bound (10 s).
  const quiet = onShard([
    [alarmEvent(), T0],
    [receipt('SM1', 'delivered', T0 + 500), T0 + 1_000],
    [tickBytes(1), T0 + 6_000],
    [tickBytes(2), T0 + 11_000],
  ]);

  it('a tick arriving maxWaitMs after a waiting receipt releases it (dispatch_wait); an earlier one does not', () => {
    const join = new EventJoin({ maxWaitMs: 10_000 });
    const emitted = quiet.map((r) => flushRecords(SHARD, join, [r]).batch);
    expect(emitted.map((b) => rowsOf([b]))).toEqual([
      ['alarm:null:none:'],
      [],
      [],
      [`receipt:SM1:unmatched:${DISPATCH_WAIT_REASON}`],
    ]);
    expect(emitted[3].events[0]).toMatchObject({ arrival_time: T0 + 1_000, alarm_name: 'api-cpu-high' });
    expect(join.pendingCount).toBe(0);
    expect(join.counters).toMatchObject({ records: 2, ticks: 2, waitTimeouts: 1, unmatched: 1 });
  });

  it('a tick alone writes no row and no error, is archived, and changes nothing but the clock', () => {
    const join = new EventJoin({ maxWaitMs: 10_000 });
    flushRecords(SHARD, join, quiet.slice(0, 2));
    const before = join.snapshot();
    const { batch } = flushRecords(SHARD, join, [quiet[2]]);
    expect(batch.events).toEqual([]);
    expect(batch.errors).toEqual([]);
    expect(batch.raw.map((r) => r.sequence_number)).toEqual([quiet[2].sequenceNumber]);
    const after = join.snapshot();
    expect(after).toEqual({
      ...before,
      maxArrivalTime: T0 + 6_000,
      counters: { ...before.counters, ticks: 1 },
    });
    // a tick redelivered, or one that arrives before the newest record, changes nothing at all
    flushRecords(SHARD, join, [{ ...quiet[2], sequenceNumber: `${quiet[2].sequenceNumber}1` }]);
    flushRecords(SHARD, join, [{ ...quiet[2], arrivalTime: T0 + 2_000 }]);
    expect({ ...join.snapshot(), counters: after.counters }).toEqual(after);
    expect(join.drain()).toEqual([]);
  });

  it('a replay of the same records (ticks included) releases the same receipts in the same rows, any cut', () => {
    const mixed = onShard([
      [alarmEvent(), T0],
      [receipt('SM1', 'delivered', T0 + 500), T0 + 1_000], // never dispatched: released by the second tick
      [receipt('SM2', 'delivered', T0 + 600), T0 + 2_000], // dispatched after the first tick
      [tickBytes(1), T0 + 6_000],
      [dispatch('SM2', T0 + 400), T0 + 7_000],
      [receipt('SM3', 'delivered', T0 + 700), T0 + 8_000], // still waiting at the end
      [tickBytes(2), T0 + 11_000],
    ]);
    const live = new EventJoin({ maxWaitMs: 10_000 });
    const expected = rowsOf(mixed.map((r) => flushRecords(SHARD, live, [r]).batch));
    expect(expected).toEqual([
      'alarm:null:none:',
      'dispatch:SM2:none:',
      'receipt:SM2:matched:',
      `receipt:SM1:unmatched:${DISPATCH_WAIT_REASON}`,
    ]);
    expect(live.waitingPartitionKeys(16)).toEqual([ALARM_ARN]); // SM3: the next flush ticks again
    for (let cut = 1; cut < mixed.length; cut++) {
      const first = new EventJoin({ maxWaitMs: 10_000 });
      const a = flushRecords(SHARD, first, mixed.slice(0, cut)).batch;
      const restored = EventJoin.restore([JSON.parse(JSON.stringify(first.snapshot()))], { maxWaitMs: 10_000 });
      const b = flushRecords(SHARD, restored, mixed.slice(cut)).batch;
      expect(rowsOf([a, b])).toEqual(expected);
      expect(restored.snapshot()).toEqual(live.snapshot());
    }
  });

  it('names where ticks go: each waiting receipt partition key once, the longest-waiting first, capped', () => {
    const join = new EventJoin({ maxWaitMs: 10_000 });
    expect(join.waitingPartitionKeys(16)).toEqual([]);
    const pk = (n: number) => `${ALARM_ARN}-${n}`;
    for (let n = 0; n < 5; n++)
      for (const m of ['a', 'b'])
        join.push(decoded(receipt(`SM${n}${m}`, 'delivered', T0 + n)), {
          shardId: SHARD,
          sequenceNumber: String(1000 + n * 2 + (m === 'a' ? 0 : 1)),
          arrivalTime: T0 + 100 - n, // arrival times step back: the last one pushed has waited longest
          partitionKey: pk(n),
        });
    expect(join.waitingPartitionKeys(16).sort()).toEqual([0, 1, 2, 3, 4].map(pk).sort());
    expect(join.waitingPartitionKeys(2)).toHaveLength(2);
    expect(join.waitingPartitionKeys(1)).toEqual([pk(4)]);
    expect(new EventJoin({ maxWaitMs: Infinity }).waitingPartitionKeys(16)).toEqual([]);
    const unbounded = EventJoin.restore([join.snapshot()], { maxWaitMs: Infinity });
    expect(unbounded.waitingPartitionKeys(16)).toEqual([]); // a tick would release nothing: none
  });
});
