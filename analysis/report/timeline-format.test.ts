import { describe, expect, it } from 'vitest';
import { buildTimeline } from './timeline.js';
import { clock, formatTimelineText, timelineJson } from './timeline-format.js';
import { BILLING, EXHAUSTED, PEOPLE } from './timeline.fixtures.js';

/** The timeline in words and as JSON: one line per step, names, times in one zone said once. */
describe('formatTimelineText', () => {
  it('prints the billing-db story in words, then the verdicts', () => {
    expect(formatTimelineText(buildTimeline(BILLING, PEOPLE))).toBe(
      [
        'Incident inc_b · alarm billing-db-connections · P1 · 2026-11-28 · times in UTC',
        '',
        '12:00:00  alarm billing-db-connections (P1) went to ALARM: incident opened',
        '12:00:03  paged Bob Diaz (level 1) by SMS → delivered 12:00:05; by email → delivered 12:00:06',
        '12:05:03  escalated to level 2 (deadline: level 1 not confirmed)',
        '12:05:04  paged Carol Otieno (level 2) by WhatsApp → delivered 12:05:10, read 12:05:30; ' +
          'by SMS → undelivered 12:05:06 (Twilio 30003: Unreachable destination handset +*********03)',
        "12:05:06  Carol Otieno's SMS page failed: failing over to the next channel",
        '12:06:10  acknowledged by Carol Otieno (WhatsApp reply)',
        '12:10:04  level 2 deadline came due: already confirmed, no escalation',
        '12:15:00  alarm back to OK: incident resolved',
        '',
        'Verdicts (README: "What the verdicts mean")',
        '  first responder opened before escalation: no',
        '  any responder opened before escalation:   yes',
        '  acknowledged by:                          Carol Otieno',
        '  per page, opened before this page escalated:',
        '    12:00:03  Bob Diaz (level 1) by SMS: no',
        '    12:00:03  Bob Diaz (level 1) by email: no',
        '    12:05:04  Carol Otieno (level 2) by WhatsApp: yes',
        '    12:05:04  Carol Otieno (level 2) by SMS: no',
      ].join('\n'),
    );
  });

  it('says repeat, exhausted, the fallback, a refused send and a stray receipt', () => {
    const text = formatTimelineText(buildTimeline(EXHAUSTED, PEOPLE));
    expect(text).toContain(
      "paged Dave Kim (level 1) by SMS → failed to send (Twilio 21211: The 'To' number +*********04 is not a valid " +
        'phone number); by email → sent, no report yet',
    );
    expect(text).toContain('12:01:00  level 1 not confirmed, last level: the policy repeats from level 1 (repeat)');
    expect(text).toContain(
      'level 1 not confirmed: escalation policy exhausted, only the fallback (if any) is paged (exhausted)',
    );
    expect(text).toContain(
      'paged Dave Kim (level 1) by email → bounced 12:02:06 ' +
        '(Resend Permanent: mailbox d***@example.com does not exist)',
    );
    expect(text).toContain('paged Erin Rossi (fallback) by SMS → sent, no report yet');
    expect(text).toContain('SMS message SMx (no page found for it) → delivered');
    expect(text).toContain('any responder opened before escalation:   pending');
    expect(text).not.toMatch(/\+1555\d{7}|dave@example\.com/);
  });

  it('shows times in TZ, naming the zone and its offset once', () => {
    const text = formatTimelineText(buildTimeline(BILLING, PEOPLE), { timeZone: 'Asia/Kolkata' });
    expect(text.split('\n')[0]).toBe(
      'Incident inc_b · alarm billing-db-connections · P1 · 2026-11-28 · times in Asia/Kolkata (UTC+05:30)',
    );
    expect(text).toContain('17:36:10  acknowledged by Carol Otieno (WhatsApp reply)');
    expect(text).not.toContain('UTC+05:30)\n'.repeat(2));
  });

  it('marks a change of day', () => {
    // UTC+14: 02:00 on the 29th
    const text = formatTimelineText(buildTimeline(BILLING, PEOPLE), { timeZone: 'Pacific/Kiritimati' });
    expect(text.split('\n')[0]).toContain('· 2026-11-29 ·');
  });

  it('refuses a zone that does not exist', () => {
    expect(() => clock('Mars/Olympus')).toThrow(RangeError);
  });
});

describe('timelineJson', () => {
  it('is the same timeline, with ISO times in the zone and each step sentence', () => {
    const j = timelineJson(buildTimeline(BILLING, PEOPLE), { timeZone: 'Europe/Paris' }) as {
      timeZone: string;
      openedAt: string;
      steps: { kind: string; at: string; text: string; channels?: { at: string; events: { at: string }[] }[] }[];
      verdicts: {
        firstResponderOpenedBeforeEscalation: string;
        anyResponderOpenedBeforeEscalation: string;
        pages: { at: string }[];
      };
    };
    expect(j.timeZone).toBe('Europe/Paris');
    expect(j.openedAt).toBe('2026-11-28T13:00:00.000+01:00');
    expect(j.steps).toHaveLength(8);
    expect(j.steps[5]).toMatchObject({
      kind: 'acknowledged',
      at: '2026-11-28T13:06:10.000+01:00',
      text: 'acknowledged by Carol Otieno (WhatsApp reply)',
    });
    expect(j.steps[3].channels![0].events[1].at).toBe('2026-11-28T13:05:30.000+01:00');
    expect(j.steps[3].text).toContain('read 13:05:30');
    expect(j.verdicts).toMatchObject({
      firstResponderOpenedBeforeEscalation: 'no',
      anyResponderOpenedBeforeEscalation: 'yes',
    });
    expect(j.verdicts.pages[0].at).toBe('2026-11-28T13:00:03.000+01:00');
  });
});

describe('the second route in words', () => {
  it('says a page went by AWS End User Messaging after Twilio failed, and the failover that sent it', () => {
    const base = { incident_id: 'inc_r', alarm_name: 'orders-db-replica-lag', severity: 'P2', person: 'dave' };
    const at = (sec: number) => Date.parse('2026-12-01T10:00:00.000Z') + sec * 1000;
    const rows = {
      incident: { ...base, alarm_arn: 'arn:aws:cloudwatch:us-east-1:1:alarm:x', opened_at: at(0) },
      events: [
        { ...base, event_id: 'd1', kind: 'dispatch', status: 'sent', timestamp: at(1), level: 1, channel: 'sms' },
        {
          ...base,
          event_id: 'f1',
          kind: 'escalation',
          status: 'escalated',
          reason: 'failover',
          timestamp: at(9),
          level: 1,
          channel: 'sms',
          detail: JSON.stringify({ cause: 'no_receipt', silence_ms: 8000, to_route: 'aws' }),
        },
        {
          ...base,
          event_id: 'd2',
          kind: 'dispatch',
          status: 'sent',
          timestamp: at(9),
          level: 1,
          channel: 'sms',
          provider: 'aws',
          route: 'aws',
          message_id: 'aws-1',
          recipient: '+15551230004',
          detail: JSON.stringify({ rerouted: { from: 'twilio', cause: 'no_receipt' } }),
        },
        {
          ...base,
          event_id: 'r2',
          kind: 'receipt',
          status: 'delivered',
          provider_status: 'TEXT_DELIVERED',
          timestamp: at(10),
          channel: 'sms',
          provider: 'aws',
          route: 'aws',
          message_id: 'aws-1',
        },
      ],
    };
    const text = formatTimelineText(buildTimeline(rows, PEOPLE), { timeZone: 'UTC' });
    expect(text).toContain('failed over on silence to its SMS by AWS End User Messaging');
    expect(text).toContain(
      'by SMS (sent by AWS End User Messaging after Twilio failed: no delivery receipt) → delivered',
    );
  });
});
