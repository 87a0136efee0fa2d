import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EscalationEngine, pageStepKey } from './escalation.js';
import type { IncidentState } from './incident-state.js';
import { parseOnCallConfig } from '../../schemas/oncall/config.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { alarmEvent, iso } from '../../test/fixtures/records.js';

/**
 * Delivery deadlines (issue 21 item 1): a page whose delivery evidence has not come back by its channel's
 * `delivery_s` fails over to the person's next channel, as a failure receipt would, recorded `cause: no_receipt`.
 * The db team's P3 of the demo file (erin by email, failover email → sms) with a level deadline of 10 minutes, so
 * the email's 120 s delivery deadline falls before it.
 */
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:reports-db-free-storage';
const INC = incidentId(ARN, T0);

function config(delivery?: Record<string, number>, levelS = 600) {
  const json = JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));
  const p3 = json.teams.db.escalation.P3;
  p3.levels[0].deadline_s = levelS;
  if (delivery) p3.delivery_s = delivery;
  return parseOnCallConfig(json);
}

const decode = (r: StreamRecordIn) => StreamRecord.parse(r);
const base = { v: 1 as const, incident_id: INC, alarm_arn: ARN };

function alarm() {
  const a = alarmEvent({ arn: ARN, at: T0, namespace: 'AWS/RDS' });
  if (a.kind === 'alarm') a.severity = 'P3';
  return decode(a);
}

const receipt = (dispatchId: string, messageId: string, status: 'delivered' | 'sent', at: number) =>
  decode({
    ...base,
    kind: 'receipt',
    event_id: eventId('r', messageId, status),
    event_time: iso(at),
    provider: 'resend',
    channel: 'email',
    message_id: messageId,
    dispatch_id: dispatchId,
    status,
    provider_status: `email.${status}`,
  });

/** The delivery deadline record the schedule puts on the stream when it fires. */
const due = (state: IncidentState) => {
  const e = state.outbox.find(
    (x) => x.type === 'schedule' && (x.record as { purpose?: string }).purpose === 'delivery',
  );
  return e && e.type === 'schedule' ? { at: e.at, record: decode(e.record) } : undefined;
};

const describeOutbox = (state: IncidentState) =>
  state.outbox.map((e) =>
    e.type === 'page'
      ? `page ${e.person}:${e.channel} (${e.reason})`
      : e.type === 'schedule'
        ? `schedule ${(e.record as { purpose: string }).purpose}@${e.at - T0}`
        : `record ${(e.record as { reason: string }).reason}`,
  );

/** The incident opened and erin's email sent at T0 + 1 s (as the effect runner reports a send). */
function sent(engine: EscalationEngine): IncidentState {
  const state = engine.apply(undefined, alarm(), T0).state!;
  state.outbox = [];
  const email = state.pages[pageStepKey(INC, 0, 1, 'erin', 'email')];
  engine.dispatched(state, email, 're_1', 'sent', T0 + 1000);
  return state;
}

describe('delivery deadlines', () => {
  it('a sent email schedules its delivery deadline (120 s); silent then: failover to SMS, cause no_receipt', () => {
    const engine = new EscalationEngine(config());
    let state = sent(engine);
    expect(describeOutbox(state)).toEqual(['schedule delivery@121000']);
    const deadline = due(state)!;
    expect(deadline.record).toMatchObject({ kind: 'deadline', purpose: 'delivery', level: 1 });
    state.outbox = [];
    const applied = engine.apply(state, deadline.record, T0 + 121_500);
    state = applied.state!;
    expect(applied.note).toMatch(/erin: no delivery receipt for the email page in 121 s; .*failing over to sms/);
    expect(describeOutbox(state)).toEqual(['record failover', 'page erin:sms (failover)']);
    const failover = state.outbox[0].type === 'record' ? state.outbox[0].record : undefined;
    expect(failover).toMatchObject({
      reason: 'failover',
      cause: 'no_receipt',
      silence_ms: 120_500,
      from_channel: 'email',
      to_channel: 'sms',
    });
    expect(StreamRecord.safeParse(failover).success).toBe(true);
    // the same deadline again (a redelivery) changes nothing
    state.outbox = [];
    expect(engine.apply(state, deadline.record, T0 + 122_000).changed).toBe(false);
  });

  it('a receipt before the deadline makes it a no-op; a late one after the failover changes nothing', () => {
    const engine = new EscalationEngine(config());
    const first = sent(engine);
    const deadline = due(first)!.record;
    first.outbox = [];
    const email = first.pages[pageStepKey(INC, 0, 1, 'erin', 'email')];
    const confirmed = engine.apply(first, receipt(email.dispatchId, 're_1', 'delivered', T0 + 5000), T0 + 5000).state!;
    const atDeadline = engine.apply(confirmed, deadline, T0 + 121_000);
    expect(atDeadline.state!.outbox).toEqual([]);

    // a 'sent' receipt is no evidence of delivery: the deadline still fails over
    const other = sent(engine);
    other.outbox = [];
    const still = engine.apply(other, receipt(email.dispatchId, 're_1', 'sent', T0 + 2000), T0 + 2000).state!;
    let state = engine.apply(still, deadline, T0 + 121_000).state!;
    expect(describeOutbox(state)).toEqual(['record failover', 'page erin:sms (failover)']);
    state.outbox = [];
    // delivered after all, once failed over: recorded on the page, nobody paged again
    state = engine.apply(state, receipt(email.dispatchId, 're_1', 'delivered', T0 + 130_000), T0 + 130_000).state!;
    expect(state.pages[email.stepKey].status).toBe('delivered');
    expect(state.outbox.filter((e) => e.type === 'page')).toEqual([]);
  });

  it('not scheduled when the level escalates first, or when the channel has none (0)', () => {
    expect(describeOutbox(sent(new EscalationEngine(config(undefined, 60))))).toEqual([]); // level at 60 s < 121 s
    expect(describeOutbox(sent(new EscalationEngine(config({ email: 0 }))))).toEqual([]);
    expect(describeOutbox(sent(new EscalationEngine(config({ email: 30 }))))).toEqual(['schedule delivery@31000']);
  });

  it('a delivery deadline of a level no longer current, or of a closed incident, is a no-op', () => {
    const engine = new EscalationEngine(config());
    const state = sent(engine);
    const deadline = due(state)!.record;
    state.outbox = [];
    const acked = engine.apply(
      state,
      decode({
        ...base,
        kind: 'ack',
        event_id: eventId('a', '1'),
        event_time: iso(T0 + 3000),
        channel: 'email',
        via: 'email_link',
        person: 'erin',
      }),
      T0 + 3000,
    ).state!;
    acked.outbox = [];
    expect(engine.apply(acked, deadline, T0 + 121_000).state!.outbox).toEqual([]);
  });
});
