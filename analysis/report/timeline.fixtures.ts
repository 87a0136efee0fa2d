import type { IncidentRows, LakeRow } from './timeline.js';

/** Fixed lake rows for the timeline tests (the billing-db story; a repeated, exhausted policy). */
export const T = Date.parse('2026-11-28T12:00:00.000Z');
const s = (sec: number) => T + sec * 1000;

export const PEOPLE = {
  bob: { name: 'Bob Diaz' },
  carol: { name: 'Carol Otieno' },
  dave: { name: 'Dave Kim' },
  erin: { name: 'Erin Rossi' },
};

let n = 0;
const ev = (over: LakeRow): LakeRow => ({
  event_id: `e${++n}`,
  incident_id: 'inc_b',
  alarm_name: 'billing-db-connections',
  severity: 'P1',
  channel: null,
  provider: null,
  message_id: null,
  recipient: null,
  person: null,
  level: null,
  provider_status: null,
  error_code: null,
  error_message: null,
  reason: null,
  to_level: null,
  opened_before_this_page_escalated: null,
  ...over,
});
const dispatch = (
  sec: number,
  person: string,
  level: number,
  channel: string,
  message_id: string | null,
  recipient: string,
  over: LakeRow = {},
) =>
  ev({
    kind: 'dispatch',
    status: 'sent',
    timestamp: s(sec),
    person,
    level,
    channel,
    provider: channel === 'email' ? 'resend' : 'twilio',
    message_id,
    recipient,
    ...over,
  });
const receipt = (sec: number, message_id: string, status: string, over: LakeRow = {}) =>
  ev({ kind: 'receipt', status, provider_status: status, timestamp: s(sec), message_id, ...over });

/** The demo's billing-db story, with a failed SMS on level 2. */
export const BILLING: IncidentRows = {
  incident: {
    incident_id: 'inc_b',
    alarm_arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-db-connections',
    alarm_name: 'billing-db-connections',
    severity: 'P1',
    opened_at: s(0),
    acknowledged_at: s(370),
    escalated_at: s(303),
    resolved_at: s(900),
    acknowledged_by: 'carol',
    first_responder_opened_before_escalation: 'no',
    any_responder_opened_before_escalation: 'yes',
  },
  events: [
    // given out of order: the builder sorts
    ev({
      kind: 'ack',
      status: 'acked',
      timestamp: s(370),
      channel: 'whatsapp',
      reason: 'whatsapp_reply',
      recipient: 'whatsapp:+15551230003',
      message_id: 'SMreply',
    }),
    dispatch(3, 'bob', 1, 'sms', 'SM1', '+15551230002', { opened_before_this_page_escalated: 'no' }),
    dispatch(3.2, 'bob', 1, 'email', 're_1', 'bob@example.com', { opened_before_this_page_escalated: 'no' }),
    receipt(4, 'SM1', 'sent'),
    receipt(5, 'SM1', 'delivered'),
    receipt(6, 're_1', 'delivered'),
    ev({ kind: 'deadline', status: 'due', reason: 'level', level: 1, timestamp: s(303) }),
    ev({ kind: 'escalation', status: 'escalated', reason: 'deadline', level: 1, to_level: 2, timestamp: s(303) }),
    dispatch(304, 'carol', 2, 'whatsapp', 'SMW', 'whatsapp:+15551230003', { opened_before_this_page_escalated: 'yes' }),
    dispatch(304, 'carol', 2, 'sms', 'SM3', '+15551230003', { opened_before_this_page_escalated: 'no' }),
    receipt(306, 'SM3', 'undelivered', {
      error_code: '30003',
      error_message: 'Unreachable destination handset +15551230003',
    }),
    ev({
      kind: 'escalation',
      status: 'escalated',
      reason: 'failover',
      level: 2,
      to_level: 2,
      person: 'carol',
      channel: 'sms',
      message_id: 'SM3',
      timestamp: s(306),
    }),
    receipt(310, 'SMW', 'delivered'),
    receipt(330, 'SMW', 'opened', { provider_status: 'read' }),
    ev({ kind: 'deadline', status: 'due', reason: 'level', level: 2, timestamp: s(604) }),
  ],
};

/** A one-level policy that repeats once, is exhausted, and pages the fallback; a refused send; a stray receipt. */
export const EXHAUSTED: IncidentRows = {
  incident: {
    incident_id: 'inc_x',
    alarm_arn: 'arn:x',
    alarm_name: 'reports-db-free-storage',
    severity: 'P3',
    opened_at: s(0),
    acknowledged_at: null,
    escalated_at: s(60),
    resolved_at: null,
    acknowledged_by: null,
    first_responder_opened_before_escalation: 'no',
    any_responder_opened_before_escalation: 'pending',
  },
  events: [
    dispatch(1, 'dave', 1, 'sms', null, '+15551230004', {
      status: 'failed',
      error_code: '21211',
      error_message: "The 'To' number +15551230004 is not a valid phone number",
    }),
    dispatch(1, 'dave', 1, 'email', 're_d', 'dave@example.com'),
    ev({ kind: 'deadline', status: 'due', reason: 'settle', level: 1, timestamp: s(20) }),
    ev({ kind: 'deadline', status: 'due', reason: 'level', level: 1, timestamp: s(60) }),
    ev({ kind: 'escalation', status: 'escalated', reason: 'repeat', level: 1, to_level: 1, timestamp: s(60) }),
    dispatch(61, 'dave', 1, 'email', 're_d2', 'dave@example.com'),
    ev({ kind: 'escalation', status: 'escalated', reason: 'exhausted', level: 1, to_level: 1, timestamp: s(121) }),
    dispatch(122, 'erin', 99, 'sms', 'SMf', '+15551230005'),
    dispatch(122, null as unknown as string, 99, 'sms', 'SMq', '+15559990000'),
    receipt(125, 'SMx', 'delivered', { channel: 'sms', recipient: '+15551239999' }),
    receipt(126, 're_d2', 'bounced', {
      error_code: 'Permanent',
      error_message: 'mailbox dave@example.com does not exist',
    }),
  ].map((r) => ({ ...r, incident_id: 'inc_x' })),
};
