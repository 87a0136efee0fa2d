import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../../schemas/lake.js';
import { eventRowBuilder, eventsWithViews, receiptOf, type DuckConnection } from '../../test/helpers/events-duckdb.js';
import { IncidentNotFoundError } from './errors.js';
import { incidentCommand, parseIncidentArgs } from './incident-cli.js';
import type { QueryResult } from '../query/result.js';

/**
 * `make incident` over the real views on DuckDB: the lake rows of the demo's billing-db story go in,
 * the timeline in words (or JSON) and the verdicts come out; an alarm name picks its latest incident.
 */
const T = Date.parse('2026-11-28T12:00:00.000Z');
const s = (sec: number) => T + sec * 1000;
const PEOPLE = { bob: { name: 'Bob Diaz' }, carol: { name: 'Carol Otieno' } };

const row = eventRowBuilder({
  incident_id: 'inc_new',
  alarm_arn: 'arn:aws:cloudwatch:us-east-1:1:alarm:billing-db-connections',
  alarm_name: 'billing-db-connections',
  timestamp: T,
});
const page = (
  sec: number,
  person: string,
  level: number,
  channel: string,
  message_id: string,
  recipient: string,
  escalateAt: number,
) =>
  row({
    kind: 'dispatch',
    status: 'sent',
    timestamp: s(sec),
    person,
    level,
    channel,
    provider: channel === 'email' ? 'resend' : 'twilio',
    message_id,
    recipient,
    escalate_at: escalateAt,
  });
const receipt = (sec: number, of: EventRow, status: string, provider_status = status) =>
  row({ ...receiptOf(of), timestamp: s(sec), status, provider_status });

const bobSms = page(3, 'bob', 1, 'sms', 'SM1', '+15551230002', s(11));
const bobEmail = page(3, 'bob', 1, 'email', 're_1', 'bob@example.com', s(11));
const carolWa = page(12, 'carol', 2, 'whatsapp', 'SMW', 'whatsapp:+15551230003', s(32));
const ROWS: EventRow[] = [
  row({ kind: 'alarm', status: 'alarm', channel: null, provider: null, timestamp: s(0) }),
  bobSms,
  bobEmail,
  receipt(5, bobSms, 'delivered'),
  receipt(6, bobEmail, 'delivered'),
  row({ kind: 'deadline', status: 'due', reason: 'level', level: 1, channel: null, provider: null, timestamp: s(11) }),
  row({
    kind: 'escalation',
    status: 'escalated',
    reason: 'deadline',
    level: 1,
    to_level: 2,
    channel: null,
    provider: null,
    timestamp: s(11),
  }),
  carolWa,
  receipt(14, carolWa, 'delivered'),
  receipt(20, carolWa, 'opened', 'read'),
  row({
    kind: 'ack',
    status: 'acked',
    channel: 'whatsapp',
    reason: 'whatsapp_reply',
    message_id: 'SMreply',
    recipient: 'whatsapp:+15551230003',
    timestamp: s(25),
  }),
  // an older incident of the same alarm, still open: pending
  row({ incident_id: 'inc_old', kind: 'alarm', status: 'alarm', channel: null, provider: null, timestamp: s(-86_400) }),
  row({
    incident_id: 'inc_old',
    kind: 'dispatch',
    status: 'sent',
    person: 'bob',
    level: 1,
    message_id: 'SM0',
    recipient: '+15551230002',
    timestamp: s(-86_399),
    escalate_at: s(-86_391),
  }),
];

let conn: DuckConnection;
const query = async (sql: string): Promise<QueryResult> => {
  const r = await conn.runAndReadAll(sql);
  return { columns: r.columnNames(), rows: r.getRowsJson() as unknown[][] };
};

beforeAll(async () => {
  conn = await eventsWithViews(ROWS);
});
afterAll(() => conn?.closeSync());

describe('make incident', () => {
  it('prints the timeline of an incident by id, in words, with names, then the verdicts', async () => {
    const out = await incidentCommand({ id: 'inc_new', query, people: PEOPLE });
    expect(out.split('\n')).toEqual([
      'Incident inc_new · alarm billing-db-connections · P1 · 2026-11-28 · times in UTC',
      '',
      '12:00:00  alarm billing-db-connections (P1) went to ALARM: incident opened',
      '12:00:03  paged Bob Diaz (level 1) by SMS → delivered 12:00:05; by email → delivered 12:00:06',
      '12:00:11  escalated to level 2 (deadline: level 1 not confirmed)',
      '12:00:12  paged Carol Otieno (level 2) by WhatsApp → delivered 12:00:14, read 12:00:20',
      '12:00:25  acknowledged by Carol Otieno (WhatsApp reply)',
      '',
      'Verdicts (README: "What the verdicts mean")',
      '  first responder opened before escalation: no',
      '  any responder opened before escalation:   yes',
      '  acknowledged by:                          Carol Otieno',
      '  per page, opened before this page escalated:',
      '    12:00:03  Bob Diaz (level 1) by SMS: no',
      '    12:00:03  Bob Diaz (level 1) by email: no',
      '    12:00:12  Carol Otieno (level 2) by WhatsApp: yes',
    ]);
  });

  it('an alarm name picks its latest incident; an older open one is pending', async () => {
    expect((await incidentCommand({ id: 'billing-db-connections', query, people: PEOPLE })).split('\n')[0]).toContain(
      'Incident inc_new ·',
    );
    const old = await incidentCommand({ id: 'inc_old', query, people: PEOPLE });
    expect(old).toContain('first responder opened before escalation: pending');
    expect(old).toContain('paged Bob Diaz (level 1) by SMS → sent, no report yet');
  });

  it('FORMAT=json gives the same as JSON, times in TZ', async () => {
    const j = JSON.parse(
      await incidentCommand({
        id: 'billing-db-connections',
        format: 'json',
        timeZone: 'America/New_York',
        query,
        people: PEOPLE,
      }),
    );
    expect(j).toMatchObject({
      incidentId: 'inc_new',
      timeZone: 'America/New_York',
      openedAt: '2026-11-28T07:00:00.000-05:00',
      verdicts: { acknowledgedBy: { id: 'carol', name: 'Carol Otieno' } },
    });
    expect(j.steps.map((x: { text: string }) => x.text)).toContain('acknowledged by Carol Otieno (WhatsApp reply)');
    expect(JSON.stringify(j)).not.toMatch(/\+1555\d{7}|bob@example\.com/);
  });

  it('says when the lake has no such incident or alarm', async () => {
    await expect(incidentCommand({ id: "nothing' OR 1=1 --", query, people: PEOPLE })).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
  });
});

describe('parseIncidentArgs', () => {
  it('reads the id, FORMAT and TZ (flags win over the environment)', () => {
    expect(parseIncidentArgs(['inc_1'], {})).toEqual({ id: 'inc_1', format: 'text', timeZone: 'UTC' });
    expect(
      parseIncidentArgs(['api-cpu', '--format', 'json', '--tz', 'Europe/Paris'], { FORMAT: 'text', TZ: 'UTC' }),
    ).toEqual({ id: 'api-cpu', format: 'json', timeZone: 'Europe/Paris' });
    expect(parseIncidentArgs(['x'], { FORMAT: 'json', TZ: 'Asia/Tokyo' })).toEqual({
      id: 'x',
      format: 'json',
      timeZone: 'Asia/Tokyo',
    });
  });

  it('refuses a missing id, an unknown format, a zone that does not exist', () => {
    expect(() => parseIncidentArgs([], {})).toThrow(/usage: make incident ID=/);
    expect(() => parseIncidentArgs([''], {})).toThrow(/usage/);
    expect(() => parseIncidentArgs(['x', '--format', 'xml'], {})).toThrow(/FORMAT must be text or json/);
    expect(() => parseIncidentArgs(['x', '--tz', 'Mars/Olympus'], {})).toThrow(/not a time zone/);
  });
});
