import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOnCallConfig, type OnCallConfig } from '../../schemas/oncall/config.js';
import { parseIcal } from './ical.js';
import { onCallAt, resolveLevel, resolveTargets, rotationPersonAt, withinRestrictions } from './resolve.js';
import { Schedule } from '../../schemas/oncall/schedule.js';

const people: OnCallConfig['people'] = {
  alice: { name: 'Alice Ng', email: 'alice@example.com' },
  bob: { name: 'Bob Diaz', email: 'bob@example.com' },
  carol: { name: 'Carol Otieno' },
  dave: { name: 'Dave Kim' },
};
const at = (iso: string) => Date.parse(iso);
const ms = 1;
const fixture = (name: string) => parseIcal(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const schedule = (s: unknown) => Schedule.parse(s);
const who = (s: Schedule, iso: string | number, calendars?: Map<string, ReturnType<typeof parseIcal>>) =>
  onCallAt(s, typeof iso === 'number' ? iso : at(iso), { people, calendars })?.person;

describe('rotations', () => {
  it('daily: hands off at 09:00 Berlin time, the new person from the hand-off instant', () => {
    const s = schedule({
      time_zone: 'Europe/Berlin',
      layers: [{ participants: ['alice', 'bob', 'carol'], rotation: 'daily', handoff: '09:00', start: '2026-12-01' }],
    });
    expect(who(s, '2026-12-01T07:59:59.999Z')).toBeUndefined(); // before the first hand-off (08:00Z = 09:00 CET)
    expect(who(s, '2026-12-01T08:00:00Z')).toBe('alice');
    expect(who(s, at('2026-12-02T08:00:00Z') - ms)).toBe('alice');
    expect(who(s, '2026-12-02T08:00:00Z')).toBe('bob');
    expect(who(s, '2026-12-03T08:00:00Z')).toBe('carol');
    expect(who(s, '2026-12-04T08:00:00Z')).toBe('alice');
    expect(who(s, '2026-12-31T12:00:00Z')).toBe(['alice', 'bob', 'carol'][30 % 3]);
  });

  it('daily across DST spring-forward and fall-back in Europe/Berlin: the hand-off stays at 09:00 local', () => {
    const s = schedule({
      time_zone: 'Europe/Berlin',
      layers: [{ participants: ['alice', 'bob'], rotation: 'daily', handoff: '09:00', start: '2027-03-27' }],
    });
    // 2027-03-27 09:00 CET = 08:00Z (alice); 2027-03-28 is the spring-forward day: 09:00 CEST = 07:00Z (bob).
    expect(who(s, '2027-03-28T06:59:59.999Z')).toBe('alice');
    expect(who(s, '2027-03-28T07:00:00Z')).toBe('bob');
    expect(who(s, '2027-03-29T07:00:00Z')).toBe('alice');
    const f = schedule({
      time_zone: 'Europe/Berlin',
      layers: [{ participants: ['alice', 'bob'], rotation: 'daily', handoff: '09:00', start: '2027-10-30' }],
    });
    // 2027-10-30 09:00 CEST = 07:00Z (alice); 2027-10-31 (fall-back, a 25-hour day) 09:00 CET = 08:00Z (bob).
    expect(who(f, '2027-10-31T07:59:59.999Z')).toBe('alice');
    expect(who(f, '2027-10-31T08:00:00Z')).toBe('bob');
  });

  it('weekly: hand-off on the hand-off day, the first one on or after start', () => {
    const s = schedule({
      time_zone: 'Europe/Berlin',
      layers: [
        {
          participants: ['alice', 'bob'],
          rotation: 'weekly',
          handoff: '09:00',
          handoff_day: 'monday',
          start: '2026-11-25',
        },
      ],
    });
    expect(who(s, '2026-11-29T12:00:00Z')).toBeUndefined(); // Sunday: rotation not begun
    expect(who(s, '2026-11-30T08:00:00Z')).toBe('alice'); // Monday 09:00 CET
    expect(who(s, at('2026-12-07T08:00:00Z') - ms)).toBe('alice');
    expect(who(s, '2026-12-07T08:00:00Z')).toBe('bob');
    expect(who(s, '2026-12-14T08:00:00Z')).toBe('alice');
  });

  it('weekly across the US spring-forward keeps the Monday 10:00 New York hand-off', () => {
    const s = schedule({
      time_zone: 'America/New_York',
      layers: [
        {
          participants: ['alice', 'bob'],
          rotation: 'weekly',
          handoff: '10:00',
          handoff_day: 'monday',
          start: '2027-03-08',
        },
      ],
    });
    expect(who(s, '2027-03-08T15:00:00Z')).toBe('alice'); // 10:00 EST
    expect(who(s, '2027-03-15T13:59:59.999Z')).toBe('alice');
    expect(who(s, '2027-03-15T14:00:00Z')).toBe('bob'); // 10:00 EDT
  });

  it('every N hours counts elapsed time', () => {
    const s = schedule({
      time_zone: 'America/New_York',
      layers: [
        { participants: ['alice', 'bob', 'carol'], rotation: { hours: 12 }, handoff: '08:00', start: '2027-03-13' },
      ],
    });
    expect(who(s, '2027-03-13T13:00:00Z')).toBe('alice'); // 08:00 EST
    expect(who(s, at('2027-03-14T01:00:00Z') - ms)).toBe('alice');
    expect(who(s, '2027-03-14T01:00:00Z')).toBe('bob');
    expect(who(s, '2027-03-14T13:00:00Z')).toBe('carol'); // 09:00 EDT: 12 elapsed hours, not wall clock
    expect(who(s, '2027-03-15T01:00:00Z')).toBe('alice');
  });
});

describe('restrictions and layers', () => {
  const restricted = {
    participants: ['alice', 'bob'],
    rotation: 'weekly' as const,
    handoff: '09:00',
    handoff_day: 'monday' as const,
    start: '2026-11-30',
    restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, from: '09:00', to: '18:00' }],
  };
  const s = schedule({
    time_zone: 'Europe/Berlin',
    layers: [
      restricted,
      { name: 'nights', participants: ['carol', 'dave'], rotation: 'daily', handoff: '18:00', start: '2026-11-30' },
    ],
  });

  it('outside its window a layer has nobody and the layer below answers', () => {
    expect(onCallAt(s, at('2026-12-01T10:00:00Z'), { people })).toEqual({
      person: 'alice',
      layer: 0,
      source: 'rotation',
    }); // Tue 11:00
    expect(onCallAt(s, at('2026-12-01T17:00:00Z'), { people })).toEqual({
      person: 'dave',
      layer: 'nights',
      source: 'rotation',
    }); // Tue 18:00 CET: window closed, 2nd nights shift
    expect(who(s, at('2026-12-01T17:00:00Z') - ms)).toBe('alice');
    expect(who(s, '2026-12-05T10:00:00Z')).toBe('carol'); // Saturday: only nights (the Friday 18:00 shift, the 5th)
  });

  it('a window that runs past midnight', () => {
    const night = [{ days: ['fri'] as 'fri'[], from: '22:00', to: '06:00' }];
    expect(withinRestrictions(night, at('2026-12-04T21:00:00Z'), 'Europe/Berlin')).toBe(true); // Fri 22:00
    expect(withinRestrictions(night, at('2026-12-05T04:59:00Z'), 'Europe/Berlin')).toBe(true); // Sat 05:59
    expect(withinRestrictions(night, at('2026-12-05T05:00:00Z'), 'Europe/Berlin')).toBe(false); // Sat 06:00
    expect(withinRestrictions(night, at('2026-12-05T21:00:00Z'), 'Europe/Berlin')).toBe(false); // Sat 22:00
  });

  it('an empty layer falls through; a schedule with nobody answers undefined', () => {
    const gap = schedule({
      time_zone: 'UTC',
      layers: [
        { participants: ['alice'], rotation: 'daily', start: '2030-01-01' },
        { participants: ['bob'], rotation: 'daily', start: '2026-01-01' },
      ],
    });
    expect(onCallAt(gap, at('2026-12-01T00:00:00Z'), { people })).toEqual({
      person: 'bob',
      layer: 1,
      source: 'rotation',
    });
    expect(
      who(
        schedule({ time_zone: 'UTC', layers: [{ participants: ['alice'], rotation: 'daily', start: '2030-01-01' }] }),
        '2026-12-01T00:00:00Z',
      ),
    ).toBeUndefined();
  });

  it('an override wins over every layer, exactly over [from, to)', () => {
    const o = schedule({
      ...s,
      layers: [restricted],
      overrides: [{ person: 'dave', from: '2026-12-01T12:00:00+01:00', to: '2026-12-01T14:00:00+01:00' }],
    });
    expect(who(o, at('2026-12-01T11:00:00Z') - ms)).toBe('alice');
    expect(onCallAt(o, at('2026-12-01T11:00:00Z'), { people })).toEqual({
      person: 'dave',
      layer: 0,
      override: true,
      source: 'override',
    });
    expect(who(o, at('2026-12-01T13:00:00Z') - ms)).toBe('dave');
    expect(who(o, '2026-12-01T13:00:00Z')).toBe('alice');
  });

  it('rotationPersonAt is pure over a driven clock', () => {
    const layer = Schedule.parse({
      time_zone: 'UTC',
      layers: [{ participants: ['a1', 'b1'], rotation: { hours: 1 }, start: '2026-01-01' }],
    }).layers[0];
    const seen = Array.from({ length: 4 }, (_, h) =>
      rotationPersonAt(layer as never, at('2026-01-01T00:00:00Z') + h * 3_600_000, 'UTC'),
    );
    expect(seen).toEqual(['a1', 'b1', 'a1', 'b1']);
  });
});

describe('iCalendar layers', () => {
  const calendars = new Map([
    ['rota.ics', fixture('berlin-rota.ics')],
    ['nights.ics', fixture('new-york-nights.ics')],
  ]);
  const s = schedule({
    time_zone: 'Europe/Berlin',
    layers: [
      { name: 'calendar', ical: 'rota.ics' },
      { name: 'backup', participants: ['dave'], rotation: 'weekly', start: '2026-01-05' },
    ],
  });

  it('recurring events with a TZID (VTIMEZONE in the file), hand-off across the Berlin fall-back', () => {
    expect(onCallAt(s, at('2026-10-20T12:00:00Z'), { people, calendars })).toEqual({
      person: 'alice',
      layer: 'calendar',
      source: 'ical',
    });
    // 2026-10-26 09:00 is CET after the 25 Oct fall-back: 08:00Z.
    expect(who(s, at('2026-10-26T08:00:00Z') - ms, calendars)).toBe('alice');
    expect(who(s, '2026-10-26T08:00:00Z', calendars)).toBe('bob'); // named by ATTENDEE e-mail
    expect(who(s, '2026-11-03T12:00:00Z', calendars)).toBe('alice');
  });

  it(
    'an EXDATE leaves the calendar empty (a lower layer answers), ' + 'a RECURRENCE-ID moves a shift to someone else',
    () => {
      expect(onCallAt(s, at('2026-11-17T12:00:00Z'), { people, calendars })).toEqual({
        person: 'dave',
        layer: 'backup',
        source: 'rotation',
      });
      expect(who(s, '2026-11-10T12:00:00Z', calendars)).toBe('bob');
      expect(who(s, '2026-11-24T12:00:00Z', calendars)).toBe('carol');
      expect(who(s, '2026-12-08T12:00:00Z', calendars)).toBe('bob');
    },
  );

  it(
    'a TZID without VTIMEZONE is read as the IANA zone, across the US spring-forward; X-ONCALL-PERSON names the ' +
      'person',
    () => {
      const n = schedule({ time_zone: 'Europe/Berlin', layers: [{ ical: 'nights.ics' }] });
      // Night of 13 March: 22:00 EST (03:00Z) to 06:00 EDT on the 14th (10:00Z).
      expect(who(n, at('2027-03-14T03:00:00Z') - ms, calendars)).toBeUndefined();
      expect(who(n, '2027-03-14T03:00:00Z', calendars)).toBe('dave');
      expect(who(n, at('2027-03-14T10:00:00Z') - ms, calendars)).toBe('dave');
      expect(who(n, '2027-03-14T10:00:00Z', calendars)).toBeUndefined();
      expect(who(n, '2027-03-15T02:00:00Z', calendars)).toBe('dave'); // 22:00 EDT
      expect(who(n, '2027-03-18T12:00:00Z', calendars)).toBeUndefined(); // COUNT=5 is over
    },
  );

  it('a feed that was never loaded has nobody', () => {
    expect(who(s, '2026-10-20T12:00:00Z', new Map())).toBe('dave');
  });
});

describe('resolveTargets', () => {
  const cfg = parseOnCallConfig({
    people: { alice: { name: 'Alice', sms: '+15551230001' }, bob: { name: 'Bob', sms: '+15551230002' } },
    teams: {
      app: {
        members: ['alice', 'bob'],
        escalation: {
          P1: { levels: [{ targets: ['schedule:primary', 'team:app'], channels: ['sms'], deadline_s: 60 }] },
        },
      },
    },
    schedules: {
      primary: {
        time_zone: 'UTC',
        layers: [{ participants: ['bob', 'alice'], rotation: 'daily', start: '2026-12-01' }],
      },
    },
    default_team: 'app',
    twilio: {},
    email: { from: 'alerts@example.com' },
  });

  it('expands people, teams and schedules, each person once, saying why', () => {
    expect(resolveTargets(cfg, 'schedule:primary', at('2026-12-01T05:00:00Z'))).toEqual([
      {
        person: 'bob',
        target: 'schedule:primary',
        schedule: { id: 'primary', person: 'bob', layer: 0, source: 'rotation' },
      },
    ]);
    expect(resolveTargets(cfg, 'schedule:primary', at('2026-11-30T05:00:00Z'))).toEqual([]);
    expect(
      resolveLevel(cfg, cfg.teams.app.escalation.P1!.levels[0], new Date('2026-12-02T05:00:00Z')).map((r) => [
        r.person,
        r.target,
      ]),
    ).toEqual([
      ['alice', 'schedule:primary'],
      ['bob', 'team:app'],
    ]);
  });
});
