import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { drillId } from '../../../schemas/drill-record.js';
import { parseOnCallConfig, type OnCallConfig } from '../../../schemas/oncall/config.js';
import { drillChannels, plannedDrills, quietUntil } from './plan.js';
import { handoffsOf } from '../../../shared/schedules/shifts.js';

/**
 * When drills are due: shift start − lead for every hand-off, from the schedule resolver (rotations, overrides,
 * restrictions, DST on the zone's wall clock). Times are fixed instants (no calendar): the planner takes `now`.
 */
const HOUR = 3_600_000;
const at = (s: string) => Date.parse(s);
const local = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm');

function config(schedules: Record<string, unknown>, extra: Record<string, unknown> = {}): OnCallConfig {
  return parseOnCallConfig(
    {
      people: {
        frank: { name: 'Frank', sms: '+15551230006', voice: '+15551230006', email: 'frank@example.com' },
        grace: { name: 'Grace', sms: '+15551230007', email: 'grace@example.com' },
        lee: { name: 'Lee Lead', sms: '+15551230009', email: 'lee@example.com' },
      },
      schedules,
      teams: {
        payments: {
          members: ['frank', 'grace', 'lee'],
          escalation: {
            P1: {
              levels: [{ targets: ['schedule:primary'], channels: ['voice', 'sms'], deadline_s: 300 }],
              failover: ['sms', 'email'],
            },
          },
        },
      },
      default_team: 'payments',
      twilio: { sms_from: '+15550000000', voice_from: '+15550000001' },
      email: { from: 'alerts@example.com' },
      ...extra,
    },
    'test',
  );
}

const daily = (handoff: string, start: string, zone = 'Europe/Berlin') => ({
  time_zone: zone,
  layers: [{ participants: ['frank', 'grace'], rotation: 'daily', handoff, start }],
  drill: { owner: ['lee'] },
});

describe('drill due times', () => {
  it('one drill per hand-off, 1 h (the default lead) before the shift, with who comes on call', () => {
    const cfg = config({ primary: daily('09:00', '2026-12-01') });
    const now = at('2026-12-07T06:30:00Z');
    const drills = plannedDrills(cfg, now, 26 * HOUR);
    expect(
      drills.map((d) => [local(d.shiftStart, 'Europe/Berlin'), local(d.dueAt, 'Europe/Berlin'), d.person]),
    ).toEqual([
      ['2026-12-07 09:00', '2026-12-07 08:00', 'frank'], // 6 days after frank's first shift: frank again
      ['2026-12-08 09:00', '2026-12-08 08:00', 'grace'],
    ]);
    expect(drills[0].id).toBe(drillId('primary', 'frank', at('2026-12-07T08:00:00Z')));
  });

  it('a hand-off at midnight: the drill is due at 23:00 the day before', () => {
    const cfg = config({ primary: daily('00:00', '2026-12-01', 'America/New_York') });
    const drills = plannedDrills(cfg, at('2026-12-07T12:00:00Z'), 24 * HOUR);
    const zone = 'America/New_York';
    expect(drills.map((d) => [local(d.shiftStart, zone), local(d.dueAt, zone)])).toEqual([
      ['2026-12-08 00:00', '2026-12-07 23:00'],
    ]);
    // the resolver agrees: the new person from the hand-off instant, the old one until it
    expect(
      handoffsOf(cfg.schedules.primary, drills[0].shiftStart - 1, drills[0].shiftStart + 1, { people: cfg.people }),
    ).toEqual([{ at: drills[0].shiftStart, person: drills[0].person }]);
  });

  it('across DST (Europe/Berlin, spring forward and fall back): 09:00 local hand-offs, drills at 08:00 local', () => {
    const cfg = config({ primary: daily('09:00', '2027-03-26') });
    const spring = plannedDrills(cfg, at('2027-03-27T00:00:00Z'), 2 * 24 * HOUR);
    expect(spring.map((d) => [local(d.dueAt, 'Europe/Berlin'), new Date(d.dueAt).toISOString()])).toEqual([
      ['2027-03-27 08:00', '2027-03-27T07:00:00.000Z'], // CET, +01:00
      ['2027-03-28 08:00', '2027-03-28T06:00:00.000Z'], // CEST from 02:00 that night, +02:00
    ]);
    const fall = plannedDrills(
      config({ primary: daily('09:00', '2027-10-29') }),
      at('2027-10-30T00:00:00Z'),
      2 * 24 * HOUR,
    );
    expect(fall.map((d) => new Date(d.dueAt).toISOString())).toEqual([
      '2027-10-30T06:00:00.000Z',
      '2027-10-31T07:00:00.000Z', // back to CET on the 31st
    ]);
    // the lead is elapsed time: on the night the clock jumps, a 02:30 hand-off with a 3 h lead
    const night = config({ primary: { ...daily('03:30', '2027-03-26'), drill: { owner: ['lee'], lead_s: 3 * 3600 } } });
    const d = plannedDrills(night, at('2027-03-27T12:00:00Z'), 24 * HOUR);
    expect(d.map((x) => [local(x.shiftStart, 'Europe/Berlin'), local(x.dueAt, 'Europe/Berlin')])).toEqual([
      ['2027-03-28 03:30', '2027-03-27 23:30'], // 3 h before 03:30 CEST (01:30Z) is 22:30Z = 23:30 CET
    ]);
  });

  it('an override is a shift of its own: a drill before it and before the hand-back', () => {
    const cfg = config({
      primary: {
        ...daily('09:00', '2026-12-01'),
        overrides: [{ person: 'lee', from: '2026-12-07T14:00:00+01:00', to: '2026-12-07T18:00:00+01:00' }],
      },
    });
    const drills = plannedDrills(cfg, at('2026-12-07T09:00:00Z'), 12 * HOUR);
    expect(drills.map((d) => [local(d.shiftStart, 'Europe/Berlin'), d.person])).toEqual([
      ['2026-12-07 14:00', 'lee'],
      ['2026-12-07 18:00', 'frank'],
    ]);
  });

  it('planned again by a later tick: the same drills, the same ids (each drill exactly once)', () => {
    const cfg = config({ primary: daily('09:00', '2026-12-01') });
    const first = plannedDrills(cfg, at('2026-12-07T05:30:00Z'), 2 * HOUR).map((d) => d.id);
    const second = plannedDrills(cfg, at('2026-12-07T06:30:00Z'), 2 * HOUR).map((d) => d.id);
    expect(first).toHaveLength(1);
    expect(second).toEqual(first);
    // past its due time but before the shift (a schedule just added): still planned, due at once
    expect(plannedDrills(cfg, at('2026-12-07T07:30:00Z'), 2 * HOUR).map((d) => d.id)).toEqual(first);
    // once the shift started: no longer
    expect(plannedDrills(cfg, at('2026-12-07T08:00:00Z'), 2 * HOUR)).toEqual([]);
    // a schedule without a drill block plans nothing
    expect(plannedDrills(config({ primary: { ...daily('09:00', '2026-12-01'), drill: undefined } }), 0, HOUR)).toEqual(
      [],
    );
  });
});

describe('drill channels and quiet hours', () => {
  it('every channel the policies targeting the schedule would page the person on, that they have', () => {
    const cfg = config({ primary: daily('09:00', '2026-12-01') });
    expect(drillChannels(cfg, 'primary', 'frank')).toEqual(['voice', 'sms', 'email']); // levels + failover
    expect(drillChannels(cfg, 'primary', 'grace')).toEqual(['sms', 'email']); // no voice number
  });

  it('quiet hours: until their end, to the minute; undefined outside them', () => {
    const quiet = [
      {
        time_zone: 'Europe/Berlin',
        severities: ['P3' as const],
        channels: ['email' as const],
        windows: [{ days: ['mon' as const], from: '20:00', to: '08:00' }],
      },
    ];
    expect(quietUntil(quiet, at('2026-12-07T22:10:00Z'), 24 * HOUR)).toBe(at('2026-12-08T07:00:00Z'));
    expect(quietUntil(quiet, at('2026-12-07T12:00:00Z'), 24 * HOUR)).toBeUndefined();
    expect(quietUntil(quiet, at('2026-12-07T22:10:00Z'), HOUR)).toBe(at('2026-12-07T23:10:00Z'));
  });
});
