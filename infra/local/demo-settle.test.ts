import { describe, expect, it } from 'vitest';
import type { IncidentStateView } from '../../shared/incident-view.js';
import { expectedRows, LakeIncompleteError, waitForLakeComplete } from './demo-settle.js';

/**
 * The demo's wait for a complete lake, in-process: the paging state and the lake are tables this test
 * changes between polls, the clock is fake (a poll's sleep moves it), so every step is a signal.
 */
const T = Date.parse('2026-11-28T12:00:00.000Z');

const state = (pages: IncidentStateView['pages'], extra: Partial<IncidentStateView> = {}): IncidentStateView => ({
  incidentId: 'inc_1',
  alarmArn: 'arn:aws:cloudwatch:us-east-1:1:alarm:orders-api-cpu-high',
  alarmName: 'orders-api-cpu-high',
  severity: 'P1',
  openedAt: T,
  level: 1,
  pages,
  ...extra,
});
const page = (person: string, channel: string, status: string, messageId?: string, notice?: string) => ({
  person,
  level: 1,
  channel,
  status,
  ...(messageId ? { messageId } : {}),
  ...(notice ? { notice } : {}),
});

/** The lake's `events` rows (incident_id, kind, message_id, status), answering the settle's one query. */
function lakeOf(rows: [string, string, string | null, string][]) {
  const queries: string[] = [];
  return {
    rows,
    queries,
    query: async (sql: string) => {
      queries.push(sql);
      return { columns: ['incident_id', 'kind', 'message_id', 'status'], rows: rows.map((r) => [...r]) };
    },
  };
}

function fakeClock() {
  let now = T;
  const sleep = async (ms: number) => {
    now += ms;
  };
  return { now: () => now, sleep, elapsed: () => now - T };
}

describe('expectedRows', () => {
  it('each sent page: its dispatch and the receipt of its status; the ack; the OK; what is still in flight', () => {
    const s = state(
      {
        a: page('alice', 'email', 'opened', 're_1'),
        b: page('alice', 'sms', 'sent', 'SM1'),
        c: page('bob', 'sms', 'pending'),
        d: page('alice', 'sms', 'failed'),
        n: page('alice', 'email', 'delivered', 're_2', 'resolve'),
      },
      { ackedAt: T + 9000, resolvedAt: T + 20_000 },
    );
    const { rows, waiting } = expectedRows(s);
    expect(rows.map((r) => [r.kind, r.messageId ?? '', r.status ?? ''])).toEqual([
      ['dispatch', 're_1', ''],
      ['receipt', 're_1', 'opened'],
      ['dispatch', 'SM1', ''],
      ['dispatch', 're_2', ''],
      ['receipt', 're_2', 'delivered'],
      ['ack', '', ''],
      ['alarm', '', 'ok'],
    ]);
    expect(waiting).toEqual([
      'inc_1: page to alice by sms has no receipt yet',
      'inc_1: page to bob by sms not sent yet',
    ]);
  });

  it('a page failed over on silence stays `sent` for good: its dispatch is expected, nothing is waited for', () => {
    const silent = { ...page('hank', 'sms', 'sent', 'SM8'), failedOver: true };
    const { rows, waiting } = expectedRows(state({ s: silent, w: page('hank', 'whatsapp', 'opened', 'SM9') }));
    expect(rows.map((r) => [r.kind, r.messageId ?? '', r.status ?? ''])).toEqual([
      ['dispatch', 'SM8', ''],
      ['dispatch', 'SM9', ''],
      ['receipt', 'SM9', 'opened'],
    ]);
    expect(waiting).toEqual([]);
  });
});

describe('waitForLakeComplete', () => {
  it('waits for the OK to reach the paging state, then for the lake to hold every row, then returns', async () => {
    const clock = fakeClock();
    let s = state({ a: page('alice', 'email', 'opened', 're_1') }, { ackedAt: T + 5000 });
    const lake = lakeOf([
      ['inc_1', 'alarm', null, 'alarm'],
      ['inc_1', 'dispatch', 're_1', 'sent'],
      ['inc_1', 'receipt', 're_1', 'delivered'],
    ]);
    const log: string[] = [];
    let polls = 0;
    const done = await waitForLakeComplete({
      incidentIds: ['inc_1'],
      resolved: ['inc_1'],
      paging: async () => {
        polls++;
        // the OK reaches paging on the 3rd poll, with a resolve notice; its receipt on the 5th
        if (polls === 3)
          s = {
            ...s,
            resolvedAt: T + 12_000,
            pages: { ...s.pages, n: page('alice', 'sms', 'sent', 'SMn', 'resolve') },
          };
        if (polls === 5) s = { ...s, pages: { ...s.pages, n: page('alice', 'sms', 'delivered', 'SMn', 'resolve') } };
        // the lake flushes what it has on the 7th
        if (polls === 7)
          lake.rows.push(
            ['inc_1', 'receipt', 're_1', 'opened'],
            ['inc_1', 'ack', null, 'acked'],
            ['inc_1', 'alarm', null, 'ok'],
            ['inc_1', 'dispatch', 'SMn', 'sent'],
            ['inc_1', 'receipt', 'SMn', 'delivered'],
          );
        return s;
      },
      query: lake.query,
      now: clock.now,
      sleep: clock.sleep,
      pollMs: 1000,
      log: (l) => log.push(l),
    });
    expect(done).toEqual({ rows: 6 });
    // complete on the 7th poll, confirmed (the same rows expected) on the 8th
    expect(polls).toBe(8);
    expect(clock.elapsed()).toBe(7000);
    expect(log[0]).toBe("  lake: 1/3 rows of the demo's pages and acks, 1 still being told");
    expect(log.at(-1)).toBe("  lake: 6/6 rows of the demo's pages and acks");
    expect(lake.queries[0]).toContain("WHERE incident_id IN ('inc_1')");
  });

  it('a state that moved between two complete polls is read again (never done on one look)', async () => {
    const clock = fakeClock();
    const lake = lakeOf([
      ['inc_1', 'dispatch', 'SM1', 'sent'],
      ['inc_1', 'receipt', 'SM1', 'delivered'],
      ['inc_1', 'dispatch', 'SM2', 'sent'],
      ['inc_1', 'receipt', 'SM2', 'delivered'],
    ]);
    const states = [
      state({ a: page('bob', 'sms', 'delivered', 'SM1') }),
      state({ a: page('bob', 'sms', 'delivered', 'SM1'), b: page('carol', 'sms', 'delivered', 'SM2') }),
      state({ a: page('bob', 'sms', 'delivered', 'SM1'), b: page('carol', 'sms', 'delivered', 'SM2') }),
    ];
    let polls = 0;
    const done = await waitForLakeComplete({
      incidentIds: ['inc_1'],
      paging: async () => states[Math.min(polls++, states.length - 1)],
      query: lake.query,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(done).toEqual({ rows: 4 });
    expect(polls).toBe(3);
  });

  it('times out with what is missing, by name', async () => {
    const clock = fakeClock();
    const lake = lakeOf([['inc_1', 'dispatch', 'SM1', 'sent']]);
    const err = await waitForLakeComplete({
      incidentIds: ['inc_1', 'inc_2'],
      paging: async (id) => (id === 'inc_1' ? state({ a: page('erin', 'sms', 'delivered', 'SM1') }) : undefined),
      query: lake.query,
      now: clock.now,
      sleep: clock.sleep,
      timeoutMs: 10_000,
      pollMs: 1000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakeIncompleteError);
    expect((err as Error).message).toBe(
      'the lake does not hold all the demo played after 10 s: 2 missing (inc_2: not in the paging state; ' +
        'inc_1: page to erin by sms delivered (receipt) not in the lake); see make status and .data/logs/lake*.log',
    );
    expect(clock.elapsed()).toBe(10_000);
  });
});
