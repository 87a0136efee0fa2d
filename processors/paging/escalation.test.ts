import { beforeEach, describe, expect, it } from 'vitest';
import { EscalationEngine, type Action, type IncidentState } from './escalation.js';
import { loadOnCallConfig } from './oncall-config.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { alarmEvent, iso } from '../../test/fixtures/records.js';

const cfg = loadOnCallConfig(new URL('../../infra/local/oncall/demo.json', import.meta.url).pathname);
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const RDS_ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-db-connections';
const INC = incidentId(RDS_ARN, T0);

const decode = (r: StreamRecordIn) => StreamRecord.parse(r);
const pages = (as: Action[]) => as.filter((a) => a.type === 'page').map((a) => (a.type === 'page' ? `L${a.level}:${a.person}:${a.channel}` : ''));
const base = { v: 1 as const, incident_id: INC, alarm_arn: RDS_ARN };

function rdsAlarm(severity: 'P1' | 'P3' = 'P1') {
  const a = alarmEvent({ arn: RDS_ARN, at: T0, namespace: 'AWS/RDS' });
  if (a.kind === 'alarm') a.severity = severity;
  return decode(a);
}
const dispatched = (level: number, person: string, channel: 'sms' | 'email' | 'whatsapp', messageId: string, outcome: 'sent' | 'failed' = 'sent') =>
  decode({ ...base, kind: 'dispatch', event_id: eventId('d', messageId), event_time: iso(T0 + 1000), message_id: messageId, channel, provider: channel === 'email' ? 'resend' : 'twilio', recipient: 'x', person, level, outcome });
const receipt = (messageId: string, status: 'delivered' | 'opened' | 'undelivered' | 'bounced', at = T0 + 2000) =>
  decode({ ...base, kind: 'receipt', event_id: eventId('r', messageId, status), event_time: iso(at), provider: 'twilio', channel: 'sms', message_id: messageId, status, provider_status: status });
const ack = (at: number) => decode({ ...base, kind: 'ack', event_id: eventId('a', String(at)), event_time: iso(at), channel: 'sms', via: 'sms_reply', person: 'bob' });

describe('EscalationEngine (db team: P1 bob sms+email 8 s stop_on opened → carol whatsapp+sms)', () => {
  let engine: EscalationEngine;
  let states: Map<string, IncidentState>;
  beforeEach(() => {
    engine = new EscalationEngine(cfg);
    states = new Map();
  });

  it('pages level 1 on every channel at once when the alarm opens, once', () => {
    expect(pages(engine.onRecord(states, rdsAlarm(), T0))).toEqual(['L1:bob:sms', 'L1:bob:email']);
    expect(engine.onRecord(states, rdsAlarm(), T0)).toEqual([]); // the same alarm again (replay, retry)
  });

  it('escalates at the deadline when level 1 was delivered but never opened', () => {
    engine.onRecord(states, rdsAlarm(), T0);
    engine.onRecord(states, dispatched(1, 'bob', 'sms', 'SM1'), T0 + 1000);
    engine.onRecord(states, receipt('SM1', 'delivered'), T0 + 2000);
    expect(engine.onTick(states, T0 + 7999)).toEqual([]);
    const acts = engine.onTick(states, T0 + 8000);
    expect(acts[0]).toMatchObject({ type: 'escalate', reason: 'deadline', fromLevel: 1, toLevel: 2, at: T0 + 8000 });
    expect(pages(acts)).toEqual(['L2:carol:whatsapp', 'L2:carol:sms']);
    expect(engine.onTick(states, T0 + 9000)).toEqual([]); // not twice
  });

  it('does not escalate once a level-1 page is opened (stop_on: opened)', () => {
    engine.onRecord(states, rdsAlarm(), T0);
    engine.onRecord(states, dispatched(1, 'bob', 'email', 're_1'), T0 + 1000);
    engine.onRecord(states, receipt('re_1', 'opened'), T0 + 3000);
    expect(engine.onTick(states, T0 + 60_000)).toEqual([]);
  });

  it('an ack stops escalation', () => {
    engine.onRecord(states, rdsAlarm(), T0);
    engine.onRecord(states, ack(T0 + 5000), T0 + 5000);
    expect(engine.onTick(states, T0 + 60_000)).toEqual([]);
  });

  it('a bounced email fails over at once to the next channel the person has', () => {
    const p3 = rdsAlarm('P3'); // erin: email, failover [email, sms]
    expect(pages(engine.onRecord(states, p3, T0))).toEqual(['L1:erin:email']);
    engine.onRecord(states, dispatched(1, 'erin', 'email', 're_9'), T0 + 1000);
    const acts = engine.onRecord(states, receipt('re_9', 'bounced'), T0 + 3000);
    expect(acts[0]).toMatchObject({ type: 'escalate', reason: 'failover', fromChannel: 'email', toChannel: 'sms', person: 'erin', messageId: 're_9' });
    expect(pages(acts)).toEqual(['L1:erin:sms']);
    expect(engine.onRecord(states, receipt('re_9', 'bounced', T0 + 4000), T0 + 4000)).toEqual([]); // a second failure report: no second failover
  });

  it('a dispatch the provider refused fails over too', () => {
    engine.onRecord(states, rdsAlarm(), T0);
    const acts = engine.onRecord(states, dispatched(1, 'bob', 'sms', 'SMx', 'failed'), T0 + 1000);
    expect(acts).toEqual([{ type: 'note', incidentId: INC, message: 'bob: sms failed and no channel is left to fail over to' }]); // bob has no whatsapp; email was paged already
  });

  it('after the last level it says the policy is exhausted, once', () => {
    engine.onRecord(states, rdsAlarm(), T0);
    engine.onTick(states, T0 + 8000);
    const acts = engine.onTick(states, T0 + 8000 + 20_000);
    expect(acts).toEqual([{ type: 'note', incidentId: INC, message: expect.stringMatching(/exhausted/) }]);
    expect(engine.onTick(states, T0 + 100_000)).toEqual([]);
  });

  it('does not page an alarm older than the paging horizon (a replay never pages)', () => {
    const acts = engine.onRecord(states, rdsAlarm(), T0 + 2 * 3600_000);
    expect(pages(acts)).toEqual([]);
    expect(states.size).toBe(0);
  });

  it('resolving the alarm (OK) stops escalation', () => {
    engine.onRecord(states, rdsAlarm(), T0);
    const ok = alarmEvent({ arn: RDS_ARN, state: 'OK', at: T0 + 4000, enteredAt: T0, namespace: 'AWS/RDS' });
    engine.onRecord(states, decode(ok), T0 + 4000);
    expect(engine.onTick(states, T0 + 60_000)).toEqual([]);
  });
});
