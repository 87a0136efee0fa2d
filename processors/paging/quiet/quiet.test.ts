import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EscalationEngine } from '../escalation.js';
import type { IncidentState } from '../incident-state.js';
import { parseOnCallConfig } from '../../../schemas/oncall/config.js';
import { OnCallConfigError } from '../../../schemas/oncall/errors.js';
import { inMaintenance, quietChannels } from './windows.js';
import { StreamRecord } from '../../../schemas/envelope.js';
import { alarmEvent } from '../../../test/fixtures/records.js';

/**
 * Keeping quiet, with a driven clock: maintenance windows (one-off and recurring, by prefix, tag and
 * team) suppress an incident — recorded, never paged — and a team's quiet hours send a low severity
 * by email only at night. On-call file: the demo's (infra/local/oncall/demo.json) plus the windows.
 */
const demo = JSON.parse(readFileSync(new URL('../../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));
const RDS_ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-db-connections';
// Sunday 2026-11-29 02:30 in Berlin (UTC+1) = 01:30 UTC; Monday 10:00 Berlin = 09:00 UTC
const SUNDAY_NIGHT = Date.parse('2026-11-29T01:30:00Z');
const MONDAY_DAY = Date.parse('2026-11-30T09:00:00Z');
const EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function config(extra: Record<string, unknown>) {
  return parseOnCallConfig({ ...structuredClone(demo), ...extra }, 'test');
}

function alarm(at: number, severity: 'P1' | 'P3' = 'P1', tags?: Record<string, string>) {
  const r = alarmEvent({ arn: RDS_ARN, at, namespace: 'AWS/RDS' });
  if (r.kind === 'alarm') {
    r.severity = severity;
    if (tags) r.event.detail.alarmTags = tags;
  }
  return StreamRecord.parse(r);
}

const pages = (s: IncidentState) =>
  s.outbox
    .filter((e) => e.type === 'page')
    .map((e) => (e.type === 'page' ? `${e.person}:${e.channel}${e.quietHours ? ' (quiet)' : ''}` : ''));
const records = (s: IncidentState) =>
  s.outbox.filter((e) => e.type === 'record').map((e) => (e.type === 'record' ? e.record : undefined));

const sundayPatching = {
  name: 'db-patching',
  match: { alarm_prefix: 'billing-db-' },
  recurrence: { time_zone: 'Europe/Berlin', windows: [{ days: ['sun'], from: '02:00', to: '04:00' }] },
};

describe('maintenance windows', () => {
  it('a recurring window suppresses the alarms it matches inside it: recorded, no page, no deadline', () => {
    const engine = new EscalationEngine(config({ maintenance: [sundayPatching] }), { maxAlarmAgeMs: Infinity });
    const applied = engine.apply(undefined, alarm(SUNDAY_NIGHT), SUNDAY_NIGHT);
    const s = applied.state!;
    expect(s.suppressedBy).toBe('db-patching');
    expect(pages(s)).toEqual([]);
    expect(s.outbox.some((e) => e.type === 'schedule')).toBe(false);
    expect(records(s)).toMatchObject([
      { kind: 'escalation', reason: 'suppressed', from_level: 0, to_level: 0, maintenance_window: 'db-patching' },
    ]);
    expect(applied.note).toMatch(/maintenance window "db-patching"/);
    // the same alarm outside the window pages as usual
    const monday = new EscalationEngine(config({ maintenance: [sundayPatching] }), { maxAlarmAgeMs: Infinity }).apply(
      undefined,
      alarm(MONDAY_DAY),
      MONDAY_DAY,
    ).state!;
    expect(monday.suppressedBy).toBeUndefined();
    expect(pages(monday)).toEqual(['bob:sms', 'bob:email']);
  });

  it('matches by tag and team; every condition must hold; one-off windows have a start and an end', () => {
    const at = MONDAY_DAY;
    const window = (
      match: Record<string, unknown>,
      start = '2026-11-30T09:00:00+01:00',
      end = '2026-11-30T11:00:00+01:00',
    ) => ({ name: 'w', match, start, end });
    const facts = { alarmName: 'billing-db-connections', team: 'db', tags: { Env: 'staging' } };
    const parsed = (w: object) => config({ maintenance: [w] }).maintenance[0];
    expect(inMaintenance(parsed(window({ tags: { Env: 'staging' } })), facts, at)).toBe(true);
    // tag keys in any case, as routing reads them
    expect(inMaintenance(parsed(window({ tags: { env: 'staging' } })), facts, at)).toBe(true);
    expect(inMaintenance(parsed(window({ tags: { env: 'prod' } })), facts, at)).toBe(false);
    expect(inMaintenance(parsed(window({ team: 'db' })), facts, at)).toBe(true);
    expect(inMaintenance(parsed(window({ team: 'app' })), facts, at)).toBe(false);
    expect(inMaintenance(parsed(window({ team: 'db', alarm_prefix: 'api-' })), facts, at)).toBe(false);
    // the end is exclusive
    expect(inMaintenance(parsed(window({ team: 'db' })), facts, Date.parse('2026-11-30T10:00:00Z'))).toBe(false);
    expect(inMaintenance(parsed(window({ team: 'db' })), facts, Date.parse('2026-11-30T07:59:59Z'))).toBe(false);
  });

  it('the window is judged at the time the alarm fired, not when the record is read', () => {
    const engine = new EscalationEngine(config({ maintenance: [sundayPatching] }), { maxAlarmAgeMs: Infinity });
    const late = SUNDAY_NIGHT + 2 * 3600_000; // read at 04:30, after the window
    expect(engine.apply(undefined, alarm(SUNDAY_NIGHT), late).state!.suppressedBy).toBe('db-patching');
  });

  it.each([
    [{ name: 'x', match: {}, end: '2026-12-01T00:00:00Z' }, 'maintenance[0].match: name at least one'],
    [{ name: 'x', match: { team: 'db' } }, 'maintenance[0].end: a window needs an end or a recurrence'],
    [
      { name: 'x', match: { team: 'dba' }, end: '2026-12-01T00:00:00Z' },
      'maintenance[0].match.team: unknown team "dba"',
    ],
    [
      { name: 'x', match: { team: 'db' }, start: '2026-12-02T00:00:00Z', end: '2026-12-01T00:00:00Z' },
      'maintenance[0].end: ends',
    ],
  ])('rejects a bad window with its path (%#)', (w, message) => {
    expect(() => config({ maintenance: [w] })).toThrow(OnCallConfigError);
    expect(() => config({ maintenance: [w] })).toThrow(message);
  });
});

describe('quiet hours', () => {
  const quiet = {
    time_zone: 'Europe/Berlin',
    severities: ['P3'],
    windows: [{ days: EVERY_DAY, from: '20:00', to: '08:00' }],
    channels: ['email'],
  };
  const withQuiet = () => {
    const d = structuredClone(demo);
    d.teams.db.quiet_hours = quiet;
    d.teams.db.escalation.P3.levels[0].channels = ['sms', 'email'];
    return parseOnCallConfig(d, 'test');
  };

  it('a P3 at night goes by email only; by day on every channel of its level; a P1 at night is untouched', () => {
    const engine = new EscalationEngine(withQuiet(), { maxAlarmAgeMs: Infinity });
    expect(pages(engine.apply(undefined, alarm(SUNDAY_NIGHT, 'P3'), SUNDAY_NIGHT).state!)).toEqual([
      'erin:email (quiet)',
    ]);
    expect(pages(engine.apply(undefined, alarm(MONDAY_DAY, 'P3'), MONDAY_DAY).state!)).toEqual([
      'erin:sms',
      'erin:email',
    ]);
    expect(pages(engine.apply(undefined, alarm(SUNDAY_NIGHT, 'P1'), SUNDAY_NIGHT).state!)).toEqual([
      'bob:sms',
      'bob:email',
    ]);
  });

  it('the window runs past midnight in the team zone, DST included', () => {
    const q = withQuiet().teams.db.quiet_hours;
    expect(quietChannels(q, 'P3', Date.parse('2026-07-01T18:30:00Z'))).toEqual(['email']); // 20:30 CEST
    expect(quietChannels(q, 'P3', Date.parse('2026-07-01T17:30:00Z'))).toBeUndefined(); // 19:30 CEST
    expect(quietChannels(q, 'P3', Date.parse('2026-12-01T19:30:00Z'))).toEqual(['email']); // 20:30 CET
    expect(quietChannels(q, 'P3', Date.parse('2026-12-02T06:59:00Z'))).toEqual(['email']); // 07:59 CET
    expect(quietChannels(q, 'P3', Date.parse('2026-12-02T07:00:00Z'))).toBeUndefined(); // 08:00 CET
  });

  it('a failover in quiet hours stays on the quiet channels', () => {
    const engine = new EscalationEngine(withQuiet(), { maxAlarmAgeMs: Infinity });
    const s = engine.apply(undefined, alarm(SUNDAY_NIGHT, 'P3'), SUNDAY_NIGHT).state!;
    s.outbox = [];
    const email = Object.values(s.pages)[0];
    const bounced = StreamRecord.parse({
      v: 1,
      kind: 'receipt',
      event_id: 'evt_bounce_0001',
      incident_id: s.incidentId,
      alarm_arn: RDS_ARN,
      event_time: new Date(SUNDAY_NIGHT + 5000).toISOString(),
      provider: 'resend',
      channel: 'email',
      message_id: 're_1',
      dispatch_id: email.dispatchId,
      status: 'bounced',
      provider_status: 'email.bounced',
    });
    expect(engine.apply(s, bounced, SUNDAY_NIGHT + 5000).note).toMatch(/no channel is left/);
    expect(pages(s)).toEqual([]);
  });
});
