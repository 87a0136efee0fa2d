import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EscalationEngine, pageStepKey } from './escalation.js';
import type { IncidentState } from './incident-state.js';
import { parseOnCallConfig } from '../../schemas/oncall/config.js';
import { emailSubject, emailText, smsBody, type PageContent } from './message-content.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { alarmEvent, iso } from '../../test/fixtures/records.js';

/**
 * Telling people (policy `notify`): when the incident is acknowledged or resolved, the people already
 * paged are told once, on the channels they were paged on (sms/email), someone paged only by voice on
 * the first notice channel they have; never the person who acked, never a page that failed.
 * On-call file: the demo's, with db P1 = bob (sms+email) → carol (voice) and notify on.
 */
const demo = JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));
const RDS_ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-db-connections';
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const INC = incidentId(RDS_ARN, T0);
const base = { v: 1 as const, incident_id: INC, alarm_arn: RDS_ARN };

function engineWith(notify: object | undefined) {
  const d = structuredClone(demo);
  d.twilio.voice_from = '+15550000009';
  d.people.carol.voice = '+15551230003';
  d.teams.db.escalation.P1.levels[1].channels = ['voice'];
  if (notify) d.teams.db.escalation.P1.notify = notify;
  return new EscalationEngine(parseOnCallConfig(d, 'test'), { maxAlarmAgeMs: Infinity });
}
const decode = (r: StreamRecordIn) => StreamRecord.parse(r);
const opened = () => {
  const a = alarmEvent({ arn: RDS_ARN, at: T0, namespace: 'AWS/RDS' });
  if (a.kind === 'alarm') a.severity = 'P1';
  return decode(a);
};
const ok = (at: number) => decode(alarmEvent({ arn: RDS_ARN, state: 'OK', at, enteredAt: T0, namespace: 'AWS/RDS' }));
const deadline = (level: number, at: number) =>
  decode({
    ...base,
    kind: 'deadline',
    event_id: eventId('deadline', INC, '0', String(level)),
    event_time: iso(at),
    purpose: 'level',
    round: 0,
    level,
  });
const callAck = (callSid: string, at: number) =>
  decode({
    ...base,
    kind: 'ack',
    event_id: eventId('ack', callSid),
    event_time: iso(at),
    channel: 'voice',
    via: 'voice_key',
    message_id: callSid,
  });
const receipt = (
  dispatchId: string,
  messageId: string,
  status: 'delivered' | 'bounced',
  channel: 'sms' | 'email' | 'voice',
  at: number,
) =>
  decode({
    ...base,
    kind: 'receipt',
    event_id: eventId('r', messageId, status),
    event_time: iso(at),
    provider: channel === 'email' ? 'resend' : 'twilio',
    channel,
    message_id: messageId,
    dispatch_id: dispatchId,
    status,
    provider_status: status,
  });

const notices = (s: IncidentState) => {
  const out = s.outbox
    .filter((e) => e.type === 'page' && e.reason === 'notice')
    .map((e) =>
      e.type === 'page'
        ? `${e.notice!.kind} → ${e.person}:${e.channel}${e.notice!.by ? ` (by ${e.notice!.by})` : ''}`
        : '',
    );
  s.outbox = [];
  return out;
};

/** bob paged (sms+email), escalated to carol's call, carol answered and pressed 1. */
function ackedByCarol(engine: EscalationEngine) {
  let s = engine.apply(undefined, opened(), T0).state!;
  s = engine.apply(s, deadline(1, T0 + 8000), T0 + 8000).state!;
  s.outbox = [];
  const call = s.pages[pageStepKey(INC, 0, 2, 'carol', 'voice')];
  engine.dispatched(s, call, 'CA0001', 'sent', T0 + 8100);
  const applied = engine.apply(s, callAck('CA0001', T0 + 20_000), T0 + 20_000);
  return { s: applied.state!, applied };
}

describe('notices on ack and resolve', () => {
  it('an ack by key press names the person the call was for, and tells the others already paged', () => {
    const { s, applied } = ackedByCarol(engineWith({ on: ['ack', 'resolve'] }));
    expect(s.ackedBy).toBe('carol');
    expect(applied.note).toMatch(/acknowledged by carol via voice_key; telling 2 page\(s\)/);
    expect(notices(s)).toEqual(['ack → bob:sms (by carol)', 'ack → bob:email (by carol)']);
  });

  it(
    'on resolve everyone paged is told, the person paged only by voice on the first notice channel they have; once ' +
      'only',
    () => {
      const engine = engineWith({ on: ['ack', 'resolve'], channels: ['sms'] });
      let { s } = ackedByCarol(engine);
      expect(notices(s)).toEqual(['ack → bob:sms (by carol)']);
      s = engine.apply(s, ok(T0 + 60_000), T0 + 60_000).state!;
      expect(notices(s)).toEqual(['resolve → bob:sms', 'resolve → carol:sms']);
      // a second OK (a replay with another id) tells nobody again
      s = engine.apply(s, { ...ok(T0 + 61_000), event_id: eventId('other-ok') }, T0 + 61_000).state!;
      expect(notices(s)).toEqual([]);
    },
  );

  it('a page that failed is not told; a notice that fails never fails over and never confirms a level', () => {
    const engine = engineWith({ on: ['resolve'] });
    let s = engine.apply(undefined, opened(), T0).state!;
    s.outbox = [];
    const email = s.pages[pageStepKey(INC, 0, 1, 'bob', 'email')];
    s = engine.apply(s, receipt(email.dispatchId, 're_1', 'bounced', 'email', T0 + 1000), T0 + 1000).state!;
    s.outbox = [];
    s = engine.apply(s, ok(T0 + 5000), T0 + 5000).state!;
    expect(notices(s)).toEqual(['resolve → bob:sms']);
    const notice = s.pages[`${INC}|notice|resolve|bob|sms`];
    expect(notice.notice).toBe('resolve');
    s = engine.apply(s, receipt(notice.dispatchId, 'SM9', 'delivered', 'sms', T0 + 6000), T0 + 6000).state!;
    expect(s.outbox).toEqual([]);
  });

  it('`also` tells people who were never paged (the rest of the team), but not the person who acked', () => {
    const { s } = ackedByCarol(engineWith({ on: ['ack'], also: ['team:db'] }));
    const told = ['ack → bob:sms (by carol)', 'ack → bob:email (by carol)', 'ack → erin:sms (by carol)'];
    expect(notices(s)).toEqual(told);
  });

  it('without notify nobody is told', () => {
    const { s } = ackedByCarol(engineWith(undefined));
    expect(notices(s)).toEqual([]);
  });

  it('the notice says what happened, asks nothing, and carries its page reference', () => {
    const c: PageContent = {
      incidentId: INC,
      alarmName: 'billing-db-connections',
      severity: 'P1',
      reason: 'x',
      personName: 'Bob Diaz',
      level: 1,
      ackCode: 'ABC234',
      ackUrl: 'https://a.example/ack',
      openedAt: T0,
      notice: { kind: 'ack', at: T0 + 20_000, byName: 'Carol Otieno' },
    };
    expect(smsBody(c, '7Q2M9XKD')).toBe(
      `[P1] billing-db-connections acknowledged by Carol Otieno. No action needed. ${INC} Ref 7Q2M9XKD`,
    );
    expect(emailSubject({ ...c, notice: { kind: 'resolve', at: T0 + 60_000 } })).toBe(
      '[P1] billing-db-connections resolved',
    );
    expect(emailText(c, '7Q2M9XKD')).toContain('Acknowledged at 2026-11-28 10:00:20 UTC: escalation has stopped.');
    expect(emailText(c, '7Q2M9XKD')).not.toContain('ACK ABC234');
  });
});
