import { describe, expect, it } from 'vitest';
import { chaosSettings, jammedShards, outageAt, phaseAt, type Window } from './chaos-plan.js';
import { countPages, lakeDiff, pageShortfall, pct } from './paging-traffic.js';

const send = (dispatchId: string | undefined, receivedAt: number, o: { status?: number; replayed?: boolean } = {}) => ({
  method: 'POST',
  status: o.status ?? 201,
  receivedAt,
  dispatchId,
  replayed: o.replayed,
});

describe('the benchmarks’ counting', () => {
  it('pct: nearest rank; NaN when empty', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect([pct(xs, 50), pct(xs, 99), pct(xs, 100), pct(xs, 0)]).toEqual([50, 99, 100, 1]);
    expect(pct([], 99)).toBeNaN();
  });

  it('countPages: a page per accepted dispatch id; refused sends, replays and lists are not pages', () => {
    const c = countPages([
      send('d1', 30),
      send('d1', 10), // the same page accepted again: a duplicate, and the earlier time counts
      send('d2', 20, { status: 503 }),
      send('d2', 40),
      send('d3', 50, { replayed: true }),
      send(undefined, 60),
      { method: 'GET', status: 200, receivedAt: 70, dispatchId: 'd4' },
    ]);
    expect(c.pagesSent).toBe(2);
    expect(c.duplicated).toBe(1);
    expect(Object.fromEntries(c.byDispatch)).toEqual({ d1: { n: 2, first: 10 }, d2: { n: 1, first: 40 } });
  });

  it('pageShortfall: missing pages per incident, and pages beyond what each owed', () => {
    const got = new Map([
      ['a', 3],
      ['b', 1],
      ['c', 4],
    ]);
    expect(pageShortfall(['a', 'b', 'c', 'd'], got)).toEqual({ lost: 2 + 3, extra: 1, short: ['b', 'd'] });
  });

  it('lakeDiff: stream records without a row, rows beyond one per event', () => {
    const lake = new Map([
      ['e1', 1],
      ['e2', 3],
      ['x', 1],
    ]);
    expect(lakeDiff(['e1', 'e2', 'e3', 'e3'], lake)).toEqual({ lost: 1, duplicated: 2, lostIds: ['e3'] });
  });
});

describe('make chaos: plan', () => {
  const windows: Window[] = [
    { outage: 'stream', start: 100, end: 200 },
    { outage: 'scheduler', start: 300, end: 400 },
  ];

  it('an alarm belongs to the outage in force when first posted, and to its phase until the next outage', () => {
    expect([50, 100, 199, 200, 299, 300, 450].map((t) => outageAt(windows, t))).toEqual([
      undefined,
      'stream',
      'stream',
      undefined,
      undefined,
      'scheduler',
      undefined,
    ]);
    expect([50, 100, 250, 300, 450].map((t) => phaseAt(windows, t))).toEqual([
      'warmup',
      'stream',
      'stream',
      'scheduler',
      'scheduler',
    ]);
  });

  it('a shard is jammed when a group’s checkpoint is short of its last record (ended shards are done)', () => {
    const tips = new Map([
      ['s0', '49000000000000000000000000000000000000000000000000000009'],
      ['s1', '200'],
    ]);
    const cps = new Map([
      ['lake:s0', { sequenceNumber: '49000000000000000000000000000000000000000000000000000010' }],
      ['lake:s1', { sequenceNumber: '199' }],
      ['paging:s0', { ended: true }],
    ]);
    expect(jammedShards(tips, cps, ['lake', 'paging'])).toEqual(['lake:s1', 'paging:s1']);
  });

  it('settings: defaults, an outage subset in run order, and a refused unknown outage', () => {
    const d = chaosSettings({});
    expect(d.CHAOS_OUTAGES).toHaveLength(7);
    expect([d.CHAOS_OUTAGE_S, d.CHAOS_RATE, d.CHAOS_FIRST_PAGE_TARGET_MS]).toEqual([10, 2, 2000]);
    expect(chaosSettings({ CHAOS_OUTAGES: 'scheduler, stream,provider-hung', CHAOS_OUTAGE_S: '3' })).toMatchObject({
      CHAOS_OUTAGES: ['stream', 'scheduler', 'provider_hung'],
      CHAOS_OUTAGE_S: 3,
    });
    expect(() => chaosSettings({ CHAOS_OUTAGES: 'stream,power' })).toThrow(/unknown power/);
  });
});
