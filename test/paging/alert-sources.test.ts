import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { TestStream } from '../helpers/test-stream.js';
import { pagingHarness } from '../helpers/paging-harness.js';
import type { IncidentStore } from '../../processors/paging/incident-store.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import type { PageRequest } from '../../processors/paging/dispatcher.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { AlertmanagerWebhook } from '../../schemas/alertmanager-webhook.js';
import { EventsV2Event } from '../../schemas/events-v2.js';
import { alertmanagerRecord, eventsV2Record } from '../../producers/receiver/alert-intake.js';

/**
 * Alertmanager groups and Events API v2 events through the real paging handler on dynalite (issue 22 items 2, 3):
 * a group is one incident, paged once; a member resolving leaves it open; every member resolved resolves it; a
 * repeat notification or a changed group pages nobody again; events-v2 trigger / acknowledge / resolve, and a
 * trigger after the resolve opens a new incident. The records are what the receiver writes (alert-intake.ts) from
 * the samples in schemas/fixtures/; the on-call file is the demo's (payments P1: the payments-primary schedule by
 * voice; db P1: bob on sms + email).
 */
let stack: LocalStack;
let store: IncidentStore;
let handler: KinesisBatchHandler;
let reached: PageRequest[];
let stream: TestStream;
let clock = 0;
let n = 0;
const T0 = Date.parse('2026-12-07T22:00:00.000Z');

const fixture = (name: string): any =>
  JSON.parse(readFileSync(new URL(`../../schemas/fixtures/${name}`, import.meta.url), 'utf8'));

/** The group's notification as received now (a receiver name of its own per test: a fresh alarm). */
function group(name: 'firing' | 'partial' | 'resolved', edit?: (m: any) => void): StreamRecordIn {
  const m = fixture(`alertmanager-group-${name}.json`);
  m.receiver = `pagetrail-${n}`;
  edit?.(m);
  return alertmanagerRecord(AlertmanagerWebhook.parse(m), JSON.stringify(m), clock);
}

function ev2(action: 'trigger' | 'acknowledge' | 'resolve'): StreamRecordIn {
  const e = action === 'trigger' ? fixture('events-v2-trigger.json') : fixture(`events-v2-${action}.json`);
  e.dedup_key = `srv01/mysql-${n}`;
  return eventsV2Record(EventsV2Event.parse(e), 'db', e.dedup_key, clock);
}

const pump = () => stream.pump(handler);
const parsed = () => stream.records.map((r) => StreamRecord.parse(r));
type AlertAlarm = Extract<StreamRecord, { kind: 'alarm'; source: 'alertmanager' | 'events-v2' | 'heartbeat' }>;
const restated = () =>
  parsed().filter((r): r is AlertAlarm => r.kind === 'alarm' && r.source !== 'cloudwatch' && r.restates !== undefined);

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());
beforeEach(() => {
  n++;
  clock = T0;
  stream = new TestStream(() => clock);
  const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
  ({ handler, store, reached } = pagingHarness({ stack, oncall, stream, now: () => clock }));
});

describe('an Alertmanager group', () => {
  it('is one incident: paged once, open while a member fires, resolved when every member has resolved', async () => {
    const firing = group('firing');
    stream.push(firing);
    await pump();
    const incident = StreamRecord.parse(firing).incident_id;
    // team label payments, severity label critical → P1: the payments-primary schedule by voice
    expect(reached.length).toBeGreaterThan(0);
    expect(new Set(reached.map((r) => r.incidentId))).toEqual(new Set([incident]));
    expect(reached.every((r) => r.channel === 'voice')).toBe(true);
    const paged = reached.length;
    expect((await store.get(incident))!.state).toMatchObject({ severity: 'P1', team: 'payments' });

    // the same notification again (Alertmanager's retry or repeat_interval), later: no page
    clock += 60_000;
    stream.push(group('firing'));
    await pump();
    expect(reached).toHaveLength(paged);

    // one member resolves: the same incident, still open, no page
    clock += 240_000;
    stream.push(group('partial'));
    await pump();
    expect(reached).toHaveLength(paged);
    const open = (await store.get(incident))!.state;
    expect(open.resolvedAt).toBeUndefined();
    expect(open.reevaluations).toBe(1);

    // every member resolved: resolved
    clock += 300_000;
    stream.push(group('resolved'));
    await pump();
    expect((await store.get(incident))!.state.resolvedAt).toBe(clock);
    expect(reached.filter((r) => !r.content.notice)).toHaveLength(paged);
    // the policy's notify: the people paged are told it resolved
    expect(reached.filter((r) => r.content.notice?.kind === 'resolve').length).toBeGreaterThan(0);

    // the lake's view of it: restatements under the incident's id, opened (alarm) … resolved (ok), none twice
    expect(restated().map((r) => [r.incident_id, r.state, r.firing])).toEqual([
      [incident, 'ALARM', 2],
      [incident, 'ALARM', 1],
      [incident, 'OK', 0],
    ]);
    // a replay of everything: no page, nothing new
    const before = stream.records.length;
    expect((await handler(stream.event(stream.records.slice(0, before)))).batchItemFailures).toEqual([]);
    expect(stream.records).toHaveLength(before);
  });

  it('whose labels change (a new member, new common labels) stays one incident; resolved, it opens anew', async () => {
    stream.push(group('firing'));
    await pump();
    const paged = reached.length;
    clock += 60_000;
    stream.push(
      group('firing', (m) => {
        const extra = structuredClone(m.alerts[1]);
        extra.labels.instance = 'web-3:9090';
        extra.fingerprint = 'b0c1d2e3f4a5b6c7';
        m.alerts.push(extra);
        m.commonLabels = { alertname: 'CheckoutErrorRate', service: 'checkout', team: 'payments' };
      }),
    );
    await pump();
    expect(reached).toHaveLength(paged);
    clock += 60_000;
    stream.push(group('resolved'));
    await pump();
    const first = restated()[0].incident_id;
    expect((await store.get(first))!.state.resolvedAt).toBe(clock);

    // the group fires again an hour later (the same payload): a new incident, paged
    clock += 3600_000;
    const again = group('firing');
    stream.push(again);
    await pump();
    const second = StreamRecord.parse(again).incident_id;
    expect(second).not.toBe(first);
    expect(reached.filter((r) => r.incidentId === second).length).toBe(paged);
  });
});

describe('receiver clocks that differ', () => {
  it('a firing received "before" the incident opened (another task\'s clock) joins it: no second page', async () => {
    stream.push(group('firing'));
    await pump();
    const paged = reached.length;
    const incident = restated()[0].incident_id;
    // the group grew a member at once, posted through a receiver task whose clock is 2 s behind
    clock -= 2_000;
    stream.push(
      group('firing', (m) => {
        const extra = structuredClone(m.alerts[1]);
        extra.labels.instance = 'web-3:9090';
        extra.fingerprint = 'b0c1d2e3f4a5b6c7';
        m.alerts.push(extra);
      }),
    );
    await pump();
    expect(reached).toHaveLength(paged);
    expect(restated().map((r) => r.incident_id)).toEqual([incident, incident]);
  });

  it('a resolve received long before the open incident opened is stale: it does not close it', async () => {
    const stale = group('resolved');
    clock += 600_000;
    stream.push(group('firing'));
    await pump();
    const incident = restated()[0].incident_id;
    stream.push(stale); // received 10 min before the incident opened, delivered late
    await pump();
    expect((await store.get(incident))!.state.resolvedAt).toBeUndefined();
  });
});

describe('Events API v2', () => {
  it('trigger pages; a repeat trigger does not; acknowledge acks (via events-v2); resolve resolves', async () => {
    const trigger = ev2('trigger');
    stream.push(trigger);
    await pump();
    const incident = StreamRecord.parse(trigger).incident_id;
    // service db (a team), payload.severity critical → P1: bob on sms + email
    expect(reached.map((r) => r.channel).sort()).toEqual(['email', 'sms']);

    clock += 5_000;
    stream.push(ev2('trigger')); // a client's retry
    await pump();
    expect(reached).toHaveLength(2);

    clock += 5_000;
    stream.push(ev2('acknowledge'));
    await pump();
    const acked = (await store.get(incident))!.state;
    expect(acked.ackedAt).toBe(clock);
    const acks = parsed().filter((r) => r.kind === 'ack');
    expect(acks).toMatchObject([{ incident_id: incident, via: 'events-v2', channel: 'webhook' }]);

    clock += 5_000;
    stream.push(ev2('resolve'));
    await pump();
    expect((await store.get(incident))!.state.resolvedAt).toBe(clock);
    // the retry was the same event (same event id): nothing restated for it; the ack is an ack record
    expect(restated().map((r) => [r.incident_id, r.state])).toEqual([
      [incident, 'ALARM'],
      [incident, 'OK'],
    ]);

    // a trigger with the same dedup_key after the resolve: a new incident (PagerDuty's rule)
    clock += 600_000;
    const next = ev2('trigger');
    stream.push(next);
    await pump();
    expect(StreamRecord.parse(next).incident_id).not.toBe(incident);
    expect(reached.filter((r) => r.incidentId === StreamRecord.parse(next).incident_id)).toHaveLength(2);
  });

  it('acknowledge or resolve of a dedup_key with no open incident changes nothing', async () => {
    stream.push(ev2('acknowledge'), ev2('resolve'));
    await pump();
    expect(reached).toHaveLength(0);
    expect(parsed().filter((r) => r.kind !== 'alarm' || (r.source !== 'cloudwatch' && r.restates))).toEqual([]);
  });
});
