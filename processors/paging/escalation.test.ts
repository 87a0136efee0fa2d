import { beforeEach, describe, expect, it } from 'vitest';
import { EscalationEngine, pageStepKey } from './escalation.js';
import type { IncidentState } from './incident-state.js';
import { loadOnCallConfig, parseOnCallConfig } from '../../schemas/oncall/config.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { alarmEvent, iso } from '../../test/fixtures/records.js';

const cfg = loadOnCallConfig(new URL('../../infra/local/oncall/demo.json', import.meta.url).pathname);
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const RDS_ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-db-connections';
const INC = incidentId(RDS_ARN, T0);

const decode = (r: StreamRecordIn) => StreamRecord.parse(r);
const base = { v: 1 as const, incident_id: INC, alarm_arn: RDS_ARN };

function rdsAlarm(severity: 'P1' | 'P3' = 'P1', state: 'ALARM' | 'OK' = 'ALARM') {
  const a =
    state === 'ALARM'
      ? alarmEvent({ arn: RDS_ARN, at: T0, namespace: 'AWS/RDS' })
      : alarmEvent({ arn: RDS_ARN, state, at: T0 + 60_000, enteredAt: T0, namespace: 'AWS/RDS' });
  if (a.kind === 'alarm') a.severity = severity;
  return decode(a);
}
const receipt = (
  dispatchId: string,
  messageId: string,
  status: 'delivered' | 'opened' | 'undelivered' | 'bounced',
  at = T0 + 2000,
) =>
  decode({
    ...base,
    kind: 'receipt',
    event_id: eventId('r', messageId, status),
    event_time: iso(at),
    provider: 'twilio',
    channel: 'sms',
    message_id: messageId,
    dispatch_id: dispatchId,
    status,
    provider_status: status,
  });
const ack = (at: number) =>
  decode({
    ...base,
    kind: 'ack',
    event_id: eventId('a', String(at)),
    event_time: iso(at),
    channel: 'sms',
    via: 'sms_reply',
    person: 'bob',
  });
const deadline = (
  round: number,
  level: number,
  at: number,
  id = eventId('deadline', INC, String(round), String(level)),
) => decode({ ...base, kind: 'deadline', event_id: id, event_time: iso(at), purpose: 'level', round, level });

/** Takes the outbox (as the handler does once effects are carried out) and describes it. */
function drain(state: IncidentState): string[] {
  const out = state.outbox.map((e) =>
    e.type === 'page'
      ? `page r${e.round} L${e.level} ${e.person}:${e.channel}`
      : e.type === 'schedule'
        ? `schedule ${(e.record as { level: number }).level}@${e.at - T0}`
        : `record ${(e.record as { reason: string }).reason}`,
  );
  state.outbox = [];
  return out;
}

describe('EscalationEngine (db team: P1 bob sms+email 8 s stop_on opened → carol whatsapp+sms 20 s)', () => {
  let engine: EscalationEngine;
  let state: IncidentState;
  beforeEach(() => {
    engine = new EscalationEngine(cfg);
    state = engine.apply(undefined, rdsAlarm(), T0).state!;
  });

  it(
    'an ALARM opens the incident: ' + 'level 1 pages on every channel and its deadline is scheduled, in one decision',
    () => {
      expect(drain(state)).toEqual(['page r0 L1 bob:sms', 'page r0 L1 bob:email', 'schedule 1@8000']);
      expect(engine.apply(state, rdsAlarm(), T0 + 5).state!.outbox).toEqual([]); // the same record again
    },
  );

  it('a deadline of the current level escalates and pages the next level in the same decision (no tick needed)', () => {
    drain(state);
    state = engine.apply(state, deadline(0, 1, T0 + 8000), T0 + 8100).state!;
    expect(drain(state)).toEqual([
      'record deadline',
      'page r0 L2 carol:whatsapp',
      'page r0 L2 carol:sms',
      'schedule 2@29000',
    ]); // whole seconds, rounded up
    expect(state.level).toBe(2);
    // the same deadline again, or the previous level's, is stale
    state = engine.apply(state, deadline(0, 1, T0 + 8000, eventId('x', 'other')), T0 + 9000).state!;
    expect(drain(state)).toEqual([]);
  });

  it('a level confirmed by its stop_on (opened) does not escalate at its deadline', () => {
    drain(state);
    const sms = state.pages[pageStepKey(INC, 0, 1, 'bob', 'sms')];
    state = engine.apply(state, receipt(sms.dispatchId, 'SM1', 'opened'), T0 + 3000).state!;
    const applied = engine.apply(state, deadline(0, 1, T0 + 8000), T0 + 8000);
    expect(drain(state)).toEqual([]);
    expect(applied.note).toMatch(/confirmed/);
  });

  it(
    'a receipt finds its page by the dispatch id even when no dispatch record was ever read (failover still ' +
      'fires)',
    () => {
      let p3 = engine.apply(undefined, rdsAlarm('P3'), T0).state!; // erin by email, failover [email, sms]
      drain(p3);
      const email = p3.pages[pageStepKey(INC, 0, 1, 'erin', 'email')];
      p3 = engine.apply(p3, receipt(email.dispatchId, 're_9', 'bounced'), T0 + 2000).state!;
      expect(drain(p3)).toEqual(['record failover', 'page r0 L1 erin:sms']);
      expect(p3.messages.re_9).toBe(email.stepKey);
      // bob (P1) has sms and email already paged and no WhatsApp: nothing left to fail over to
      drain(state);
      const sms = state.pages[pageStepKey(INC, 0, 1, 'bob', 'sms')];
      expect(engine.apply(state, receipt(sms.dispatchId, 'SM9', 'undelivered'), T0 + 2000).note).toMatch(
        /no channel is left/,
      );
      expect(drain(state)).toEqual([]);
    },
  );

  it('an ack stops everything: its deadline is a no-op', () => {
    drain(state);
    state = engine.apply(state, ack(T0 + 4000), T0 + 4000).state!;
    state = engine.apply(state, deadline(0, 1, T0 + 8000), T0 + 8000).state!;
    expect(drain(state)).toEqual([]);
    expect(state.ackedBy).toBe('bob');
  });

  it('OK resolves: later deadlines are no-ops', () => {
    drain(state);
    state = engine.apply(state, rdsAlarm('P1', 'OK'), T0 + 60_000).state!;
    expect(state.resolvedAt).toBe(T0 + 60_000);
    state = engine.apply(state, deadline(0, 1, T0 + 8000), T0 + 61_000).state!;
    expect(drain(state)).toEqual([]);
  });

  it('after the last level: exhausted, written once; nobody else paged without a fallback', () => {
    drain(state);
    state = engine.apply(state, deadline(0, 1, T0 + 8000), T0 + 8000).state!;
    drain(state);
    state = engine.apply(state, deadline(0, 2, T0 + 28_000), T0 + 28_000).state!;
    expect(drain(state)).toEqual(['record exhausted']);
    state = engine.apply(state, deadline(0, 2, T0 + 28_000, eventId('again')), T0 + 29_000).state!;
    expect(drain(state)).toEqual([]);
  });
});

describe('repeat and fallback', () => {
  const json = JSON.parse(JSON.stringify(cfg)) as Record<string, any>;
  json.teams.db.escalation.P1.repeat = 1;
  json.teams.db.escalation.P1.fallback = { targets: ['erin'], channels: ['sms'] };
  const repeating = parseOnCallConfig(json);

  it('runs the policy again `repeat` times, then writes exhausted and pages the fallback once', () => {
    const engine = new EscalationEngine(repeating);
    let state = engine.apply(undefined, rdsAlarm(), T0).state!;
    drain(state);
    state = engine.apply(state, deadline(0, 1, T0 + 8000), T0 + 8000).state!;
    drain(state);
    state = engine.apply(state, deadline(0, 2, T0 + 28_000), T0 + 28_000).state!;
    expect(drain(state)).toEqual(['record repeat', 'page r1 L1 bob:sms', 'page r1 L1 bob:email', 'schedule 1@36000']);
    expect(state.pages[pageStepKey(INC, 1, 1, 'bob', 'sms')].dispatchId).toBe(
      eventId('dispatch', `${INC}|r1|L1|bob|sms`),
    );
    state = engine.apply(state, deadline(1, 1, T0 + 36_000), T0 + 36_000).state!;
    drain(state);
    state = engine.apply(state, deadline(1, 2, T0 + 56_000), T0 + 56_000).state!;
    expect(drain(state)).toEqual(['record exhausted', 'page r1 L99 erin:sms']);
    expect(state.exhaustedAt).toBe(T0 + 56_000);
  });

  it('rejects a fallback naming an unknown person, with the path', () => {
    const bad = JSON.parse(JSON.stringify(json));
    bad.teams.db.escalation.P1.fallback.targets = ['zed'];
    expect(() => parseOnCallConfig(bad)).toThrow(
      /teams\.db\.escalation\.P1\.fallback\.targets\[0\]: unknown person "zed"/,
    );
  });
});

describe('paging horizon', () => {
  it('an alarm older than maxAlarmAgeMs opens nothing (a replay never pages)', () => {
    const engine = new EscalationEngine(cfg, { maxAlarmAgeMs: 60_000 });
    const applied = engine.apply(undefined, rdsAlarm(), T0 + 120_000);
    expect(applied.state).toBeUndefined();
    expect(applied.note).toMatch(/older than the paging horizon/);
  });
});

describe('schedules as targets', () => {
  const json = JSON.parse(JSON.stringify(cfg)) as Record<string, any>;
  json.schedules = {
    ...json.schedules,
    'db-primary': {
      time_zone: 'Europe/Berlin',
      layers: [
        {
          name: 'weekly',
          participants: ['bob', 'erin'],
          rotation: 'weekly',
          handoff: '09:00',
          handoff_day: 'monday',
          start: '2026-11-23',
        },
      ],
      overrides: [{ person: 'carol', from: '2026-11-28T12:00:00+01:00', to: '2026-11-28T14:00:00+01:00' }],
    },
  };
  json.teams.db.escalation.P1.levels[0].targets = ['schedule:db-primary'];
  const scheduled = parseOnCallConfig(json);

  it('pages whoever the schedule has on call at the decision time, and records why', () => {
    const engine = new EscalationEngine(scheduled);
    // 2026-11-28 is in the week starting Monday 2026-11-23 09:00 Berlin: bob's week
    const state = engine.apply(undefined, rdsAlarm(), T0).state!;
    const pages = state.outbox.filter((e) => e.type === 'page');
    expect(pages.map((p) => (p.type === 'page' ? `${p.person}:${p.channel}` : ''))).toEqual(['bob:sms', 'bob:email']);
    expect(pages[0].type === 'page' && pages[0].resolvedBy).toEqual({
      schedule: 'db-primary',
      layer: 'weekly',
      source: 'rotation',
    });
  });

  it('an override in force wins, and says so', () => {
    const engine = new EscalationEngine(scheduled);
    const at = Date.parse('2026-11-28T12:30:00+01:00');
    const a = alarmEvent({ arn: RDS_ARN, at, namespace: 'AWS/RDS' });
    const state = engine.apply(undefined, decode(a), at).state!;
    const first = state.outbox.find((e) => e.type === 'page');
    expect(first?.type === 'page' && [first.person, first.resolvedBy?.override]).toEqual(['carol', true]);
  });
});

describe('apply: a new state out, the input untouched, and whether anything changed', () => {
  /** Freezes the state and everything in it: any write to it throws (ES modules are strict). */
  function deepFreeze<T>(value: T): T {
    if (value && typeof value === 'object' && !Object.isFrozen(value)) {
      Object.freeze(value);
      for (const v of Object.values(value)) deepFreeze(v);
    }
    return value;
  }
  /** An ALARM → ALARM re-evaluation (the handler brings it to the open incident). */
  function reevaluation(at: number) {
    const a = alarmEvent({ arn: RDS_ARN, at, namespace: 'AWS/RDS' });
    if (a.kind !== 'alarm') throw new Error('not an alarm');
    a.event.id = `reevaluation-${at}`;
    a.event.detail.previousState!.value = 'ALARM';
    return decode(a);
  }
  const dispatchOf = (dispatchId: string, messageId: string | null, outcome: 'sent' | 'failed', at: number) =>
    decode({
      ...base,
      kind: 'dispatch',
      event_id: dispatchId,
      event_time: iso(at),
      message_id: messageId,
      channel: 'email',
      provider: 'resend',
      recipient: 'erin@example.com',
      level: 1,
      outcome,
    });

  it('never writes the state passed in, for every kind of record, and returns a new state when it changed', () => {
    const engine = new EscalationEngine(cfg);
    const opened = engine.apply(undefined, rdsAlarm('P3'), T0);
    expect(opened.changed).toBe(true);
    let state = deepFreeze(opened.state!);
    const email = state.pages[pageStepKey(INC, 0, 1, 'erin', 'email')];
    const steps = [
      [dispatchOf(email.dispatchId, 're_1', 'sent', T0 + 500), T0 + 500],
      [receipt(email.dispatchId, 're_1', 'bounced', T0 + 1000), T0 + 1000], // fails over to sms
      [deadline(0, 1, T0 + 8000), T0 + 8000],
      [reevaluation(T0 + 9000), T0 + 9000],
      [ack(T0 + 10_000), T0 + 10_000],
      [rdsAlarm('P3', 'OK'), T0 + 60_000],
    ] as const;
    for (const [record, at] of steps) {
      const before = structuredClone(state);
      const applied = engine.apply(state, record, at);
      expect(state, record.kind).toEqual(before);
      expect(applied.changed, record.kind).toBe(true);
      expect(applied.state).not.toBe(state);
      expect(applied.state!.seen.at(-1)).toBe(record.event_id);
      state = deepFreeze(applied.state!);
    }
    expect(state.outbox.map((e) => e.type)).toContain('page');
    expect(state.resolvedAt).toBe(T0 + 60_000);
  });

  it('a record seen before, or one that changes nothing, gives back the same state with changed false', () => {
    const engine = new EscalationEngine(cfg);
    const state = deepFreeze(engine.apply(undefined, rdsAlarm(), T0).state!);
    const sms = state.pages[pageStepKey(INC, 0, 1, 'bob', 'sms')];
    const delivered = receipt(sms.dispatchId, 'SM1', 'delivered', T0 + 2000);
    const first = engine.apply(state, delivered, T0 + 2000);
    expect(first.changed).toBe(true);
    const next = deepFreeze(first.state!);
    // the same record again (a redelivery): remembered by its event id
    expect(engine.apply(next, delivered, T0 + 3000)).toEqual({ state: next, changed: false });
    expect(engine.apply(next, delivered, T0 + 3000).state).toBe(next);
    // another receipt with the same status (a provider retry with a new id): nothing to save
    const again = engine.apply(next, { ...delivered, event_id: eventId('r', 'SM1', 'delivered', 'retry') }, T0 + 3000);
    expect(again.changed).toBe(false);
    expect(again.state).toBe(next);
    // our own escalation record read back
    const escalation = { kind: 'escalation', reason: 'deadline', from_level: 1, to_level: 2 } as const;
    const own = decode({ ...base, ...escalation, event_id: eventId('esc'), event_time: iso(T0) });
    expect(engine.apply(next, own, T0 + 3000)).toMatchObject({ state: next, changed: false });
  });

  it('copies only what the record changed: the other pages and maps are shared with the input', () => {
    const engine = new EscalationEngine(cfg);
    const state = engine.apply(undefined, rdsAlarm(), T0).state!;
    const smsKey = pageStepKey(INC, 0, 1, 'bob', 'sms');
    const emailKey = pageStepKey(INC, 0, 1, 'bob', 'email');
    const delivered = receipt(state.pages[smsKey].dispatchId, 'SM1', 'delivered', T0 + 2000);
    const next = engine.apply(state, delivered, T0 + 2000).state!;
    expect(next.pages[smsKey]).not.toBe(state.pages[smsKey]);
    expect(next.pages[smsKey]).toMatchObject({ status: 'delivered', messageId: 'SM1' });
    expect(state.pages[smsKey]).toMatchObject({ status: 'pending' });
    expect(next.pages[emailKey]).toBe(state.pages[emailKey]);
    expect(next.dispatches).toBe(state.dispatches);
    expect(next.outbox).toBe(state.outbox);
  });
});
