import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentStore, openPointerKey } from '../../processors/paging/incident-store.js';
import type { IncidentState } from '../../processors/paging/incident-state.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { alarmPointerKey, IncidentViewReader } from '../../shared/incident-view.js';

/**
 * The read side's view of the paging state, on dynalite: the paging processor's own store writes the
 * incident and the alarm's pointer, the view reads them back (by incident id, and by alarm name across
 * accounts: the newest episode wins).
 */
const T = Date.parse('2026-11-28T12:00:00.000Z');
const arn = (account: string, name: string) => `arn:aws:cloudwatch:us-east-1:${account}:alarm:${name}`;

function state(incidentId: string, alarmArn: string, openedAt: number, extra: Partial<IncidentState> = {}) {
  return {
    incidentId,
    alarmArn,
    alarmName: alarmArn.split(':alarm:')[1],
    severity: 'P1',
    team: 'platform',
    reason: 'Threshold Crossed',
    openedAt,
    round: 0,
    level: 1,
    deadlineAt: openedAt + 60_000,
    levelStopped: false,
    pages: {
      s1: {
        stepKey: 's1',
        dispatchId: 'd1',
        round: 0,
        level: 1,
        person: 'bob',
        channel: 'sms',
        status: 'delivered',
        messageId: 'SM1',
        dispatched: true,
      },
    },
    dispatches: {},
    messages: {},
    seen: [],
    outbox: [],
    ...extra,
  } as IncidentState;
}

let stack: LocalStack;
let store: IncidentStore;
let view: IncidentViewReader;

beforeAll(async () => {
  stack = await startLocalStack();
  const opts = { dynamodb: stack.clients.dynamodb, table: stack.config.INCIDENTS_TABLE };
  store = new IncidentStore(opts);
  view = new IncidentViewReader(opts);
});
afterAll(async () => {
  await stack?.stop();
});

describe('IncidentViewReader', () => {
  it('keys the alarm pointer as the paging processor does', () => {
    expect(alarmPointerKey(arn('1', 'x'))).toBe(openPointerKey(arn('1', 'x')));
  });

  it('reads the state the paging store wrote; a missing incident is undefined', async () => {
    const s = state('inc_view_1', arn('111111111111', 'orders-db-cpu-high'), T, { ackedAt: T + 9000, ackedBy: 'bob' });
    await store.put(s, undefined);
    const got = await view.incident('inc_view_1');
    expect(got).toMatchObject({
      incidentId: 'inc_view_1',
      alarmName: 'orders-db-cpu-high',
      level: 1,
      ackedBy: 'bob',
      pages: { s1: { person: 'bob', channel: 'sms', status: 'delivered' } },
    });
    expect(await view.incident('inc_view_nope')).toBeUndefined();
  });

  it('finds the newest incident of an alarm by name, across accounts, not a name that only starts alike', async () => {
    const older = state('inc_view_a', arn('111111111111', 'orders-db-cpu'), T - 3_600_000);
    const newer = state('inc_view_b', arn('222222222222', 'orders-db-cpu'), T);
    const alike = state('inc_view_c', arn('111111111111', 'orders-db-cpu-high-2'), T + 5000);
    for (const s of [older, newer, alike]) {
      await store.put(s, undefined);
      await store.markOpen(s);
    }
    await store.markResolved(newer.alarmArn, 'inc_view_b', T + 60_000);
    expect(await view.latestByAlarmName('orders-db-cpu')).toEqual({
      alarmArn: newer.alarmArn,
      incidentId: 'inc_view_b',
      openedAt: T,
      resolvedAt: T + 60_000,
    });
    expect(await view.pointerOf(older.alarmArn)).toMatchObject({ incidentId: 'inc_view_a', openedAt: T - 3_600_000 });
    expect(await view.latestByAlarmName('no-such-alarm')).toBeUndefined();
  });
});
