import { readFileSync } from 'node:fs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { TestStream } from '../helpers/test-stream.js';
import { pagingHarness } from '../helpers/paging-harness.js';
import { type IncidentStore, openPointerKey } from '../../processors/paging/incident-store.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import type { DeadlineRequest } from '../../processors/paging/deadlines.js';
import type { PageRequest } from '../../processors/paging/dispatcher.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { incidentId } from '../../schemas/ids.js';

/**
 * ALARM → ALARM (a re-evaluation: a composite alarm whose triggering children change, a metric alarm
 * whose reason changes) gets an incident id of its own, and so does the OK after it. On dynalite with
 * the real paging handler: it continues the alarm's open incident (recorded, never paged), the OK
 * after it resolves that incident, a replay of everything changes nothing, and a stale record never
 * lands on a newer episode. The alarms are raw EventBridge-rule records of the user guide's composite
 * alarm example, tagged `severity=p1`, `team=db` (db P1: bob on sms + email).
 */
let stack: LocalStack;
let store: IncidentStore;
let handler: KinesisBatchHandler;
let reached: PageRequest[];
let scheduled: DeadlineRequest[];
let stream: TestStream;
let clock = 0;
let arn = '';
let n = 0;
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const composite = JSON.parse(
  readFileSync(new URL('../../schemas/fixtures/cloudwatch-alarm-composite.json', import.meta.url), 'utf8'),
);

function alarm(state: 'ALARM' | 'OK', at: number, previous: 'ALARM' | 'OK', previousAt: number): StreamRecordIn {
  const e = structuredClone(composite);
  e.resources = [arn];
  e.detail.alarmTags = { severity: 'p1', team: 'db' };
  e.detail.state = { ...e.detail.state, value: state, timestamp: new Date(at).toISOString() };
  e.detail.previousState = {
    ...e.detail.previousState,
    value: previous,
    timestamp: new Date(previousAt).toISOString(),
  };
  return { v: 1, kind: 'alarm', event: e };
}

const event = (records: StreamRecordIn[]) => stream.event(records);
const pump = () => stream.pump(handler);

const pointerItem = async () =>
  (
    await stack.clients.dynamodb.send(
      new GetItemCommand({
        TableName: stack.config.INCIDENTS_TABLE,
        Key: { pk: { S: openPointerKey(arn) } },
        ConsistentRead: true,
      }),
    )
  ).Item;
const pointer = async () => (await pointerItem())?.incidentId?.S;

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());
beforeEach(() => {
  arn = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServiceAggregatedAlarm-${++n}`;
  clock = T0 + 1000;
  stream = new TestStream(() => clock);
  // the demo's file turns flapping off (each demo replays the same alarms); these tests run the default window
  const oncall = { ...loadOnCallConfig('infra/local/oncall/demo.json'), flapping: { window_s: 300 } };
  ({ handler, store, reached, scheduled } = pagingHarness({ stack, oncall, stream, now: () => clock }));
});

describe('ALARM → ALARM re-evaluations', () => {
  it('continue the open incident without a page; the OK after them resolves it; a replay changes nothing', async () => {
    const first = incidentId(arn, T0);
    stream.push(alarm('ALARM', T0, 'OK', T0 - 60_000));
    await pump();
    // the pages of a level go out at once: in no set order
    expect(reached.map((r) => `${r.content.personName.split(' ')[0].toLowerCase()}:${r.channel}`).sort()).toEqual([
      'bob:email',
      'bob:sms',
    ]);
    expect(reached[0].incidentId).toBe(first);
    expect(await pointer()).toBe(first);

    // two re-evaluations, the second in the same batch as the OK that follows it
    clock += 30_000;
    stream.push(alarm('ALARM', T0 + 30_000, 'ALARM', T0));
    await pump();
    clock += 30_000;
    stream.push(alarm('ALARM', T0 + 60_000, 'ALARM', T0 + 30_000), alarm('OK', T0 + 90_000, 'ALARM', T0 + 60_000));
    await pump();

    expect(reached).toHaveLength(2); // no second incident, no page
    const s = (await store.get(first))!.state;
    expect(s).toMatchObject({
      reevaluations: 2,
      reevaluatedAt: T0 + 60_000,
      resolvedAt: T0 + 90_000,
      severity: 'P1',
      team: 'db',
    });
    expect(await store.get(incidentId(arn, T0 + 30_000))).toBeUndefined(); // an alias, not an incident
    const item = await pointerItem(); // kept for the flapping window, marked resolved
    expect([item?.incidentId?.S, item?.resolvedAt?.N]).toEqual([first, String(T0 + 90_000)]);

    // everything again (a replay): no page, nothing new on the stream
    const before = stream.records.length;
    expect((await handler(event(stream.records.slice(0, before)))).batchItemFailures).toEqual([]);
    expect(reached).toHaveLength(2);
    expect(stream.records.length).toBe(before);
  });

  it('a new episode opens a new incident; a stale record of the old episode never lands on it', async () => {
    stream.push(
      alarm('ALARM', T0, 'OK', T0 - 60_000),
      alarm('ALARM', T0 + 30_000, 'ALARM', T0),
      alarm('OK', T0 + 60_000, 'ALARM', T0 + 30_000),
    );
    await pump();
    expect(reached).toHaveLength(2);
    const episodes = stream.records.slice(0, 3);

    clock = T0 + 600_000;
    const second = incidentId(arn, T0 + 600_000);
    stream.push(alarm('ALARM', T0 + 600_000, 'OK', T0 + 60_000));
    await pump();
    expect(reached).toHaveLength(4);
    expect(reached[2].incidentId).toBe(second);
    expect(await pointer()).toBe(second);

    // the first episode's records again: the OK must not resolve the second incident
    expect((await handler(event(episodes))).batchItemFailures).toEqual([]);
    expect((await store.get(second))!.state.resolvedAt).toBeUndefined();
    expect(reached).toHaveLength(4);
    // and a re-evaluation of the second episode still joins it
    clock += 30_000;
    stream.push(alarm('ALARM', T0 + 630_000, 'ALARM', T0 + 600_000));
    await pump();
    expect(reached).toHaveLength(4);
    expect((await store.get(second))!.state.reevaluations).toBe(1);
  });

  it('without an open incident (none was paged), a re-evaluation is paged as its own incident', async () => {
    stream.push(alarm('ALARM', T0 + 30_000, 'ALARM', T0));
    clock = T0 + 31_000;
    await pump();
    expect(reached.map((r) => r.incidentId)).toEqual([incidentId(arn, T0 + 30_000), incidentId(arn, T0 + 30_000)]);
    expect(await pointer()).toBe(incidentId(arn, T0 + 30_000));
  });
});

/**
 * Flapping (the default flapping.window_s, 300 s): an ALARM within 300 s of the OK continues the
 * incident the OK resolved — a `retrigger` record, no new page, the current level's deadline re-armed
 * — and an ALARM after the window opens a new incident.
 */
describe('flapping', () => {
  it(
    'an ALARM soon after the OK continues the resolved incident: no page, a retrigger record, the deadline ' +
      're-armed; a replay changes nothing',
    async () => {
      const first = incidentId(arn, T0);
      stream.push(alarm('ALARM', T0, 'OK', T0 - 60_000));
      await pump();
      expect(reached).toHaveLength(2);
      clock = T0 + 60_000;
      stream.push(alarm('OK', T0 + 60_000, 'ALARM', T0));
      await pump();
      expect((await store.get(first))!.state.resolvedAt).toBe(T0 + 60_000);

      clock = T0 + 180_000;
      scheduled.length = 0;
      stream.push(alarm('ALARM', T0 + 180_000, 'OK', T0 + 60_000));
      await pump();
      expect(reached).toHaveLength(2); // no new page
      const s = (await store.get(first))!.state;
      expect(s).toMatchObject({ retriggers: 1, retriggeredAt: T0 + 180_000, level: 1 });
      expect(s.resolvedAt).toBeUndefined();
      expect(await store.get(incidentId(arn, T0 + 180_000))).toBeUndefined(); // an alias, not an incident
      const retrigger = stream.records.filter((r) => r.kind === 'escalation' && r.reason === 'retrigger');
      expect(retrigger).toHaveLength(1);
      expect(retrigger[0]).toMatchObject({ incident_id: first, from_level: 1, to_level: 1 });
      // db P1 level 1 has an 8 s deadline: re-armed from the re-trigger, under a name of its own
      expect(scheduled).toHaveLength(1);
      expect(scheduled[0].at).toBe(T0 + 180_000 + 8_000);
      expect(await pointer()).toBe(first);

      // a replay of everything: no page, nothing new on the stream
      const before = stream.records.length;
      expect((await handler(event(stream.records.slice(0, before)))).batchItemFailures).toEqual([]);
      expect(reached).toHaveLength(2);
      expect(stream.records.length).toBe(before);

      // it resolves again with the next OK
      clock = T0 + 240_000;
      stream.push(alarm('OK', T0 + 240_000, 'ALARM', T0 + 180_000));
      await pump();
      expect((await store.get(first))!.state.resolvedAt).toBe(T0 + 240_000);
    },
  );

  it('an ALARM after the window opens a new incident and pages it', async () => {
    stream.push(alarm('ALARM', T0, 'OK', T0 - 60_000));
    await pump();
    clock = T0 + 60_000;
    stream.push(alarm('OK', T0 + 60_000, 'ALARM', T0));
    await pump();
    clock = T0 + 60_000 + 301_000;
    stream.push(alarm('ALARM', T0 + 60_000 + 301_000, 'OK', T0 + 60_000));
    await pump();
    expect(reached).toHaveLength(4);
    expect(reached[2].incidentId).toBe(incidentId(arn, T0 + 361_000));
  });
});
