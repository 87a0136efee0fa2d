import { describe, expect, it } from 'vitest';
import { drillId } from '../../../schemas/drill-record.js';
import { parseOnCallConfig } from '../../../schemas/oncall/config.js';
import type { DrillState } from '../incident-state.js';
import { reachabilityLines, reachabilityOf } from './status.js';

/** `make oncall`'s reachability: the coming shifts, from the latest drill results (read by id; a fake store here). */
const at = (s: string) => Date.parse(s);
const cfg = parseOnCallConfig(
  {
    people: {
      frank: { name: 'Frank', sms: '+15551230006', email: 'frank@example.com' },
      grace: { name: 'Grace', sms: '+15551230007' },
      lee: { name: 'Lee Lead', sms: '+15551230009' },
    },
    schedules: {
      primary: {
        time_zone: 'Europe/Berlin',
        layers: [{ participants: ['frank', 'grace'], rotation: 'daily', handoff: '09:00', start: '2026-12-01' }],
        drill: { owner: ['lee'] },
      },
      quiet: {
        time_zone: 'Europe/Berlin',
        layers: [{ participants: ['lee'], rotation: 'weekly', start: '2026-12-01' }],
      },
    },
    teams: { t: { members: ['frank', 'grace', 'lee'], escalation: {} } },
    default_team: 't',
    twilio: { sms_from: '+15550000000' },
    email: { from: 'alerts@example.com' },
  },
  'test',
);
const state = (outcome: DrillState['outcome'], decidedAt: number, summary: string): DrillState => ({
  kind: 'drill',
  schedule: 'primary',
  person: '',
  shiftStart: 0,
  responded: [],
  delivered: [],
  errors: {},
  outcome,
  decidedAt,
  summary,
});

describe('reachability of the coming shifts', () => {
  // frank is on call on 7 Dec from 09:00 Berlin (08:00Z); grace from 8 Dec 08:00Z; frank again from 9 Dec
  const NOW = at('2026-12-07T12:00:00Z');
  const frank7 = drillId('primary', 'frank', at('2026-12-07T08:00:00Z'));
  const grace8 = drillId('primary', 'grace', at('2026-12-08T08:00:00Z'));
  const grace6 = drillId('primary', 'grace', at('2026-12-06T08:00:00Z'));

  it('own result, else the latest earlier one, else not proven; only schedules with a drill', async () => {
    const store = new Map<string, DrillState>([
      [frank7, state('failed', at('2026-12-07T07:15:00Z'), 'sms: undelivered (Twilio 30003: unreachable handset)')],
      [grace6, state('passed', at('2026-12-06T07:05:00Z'), 'reachable on sms')],
    ]);
    const asked: string[][] = [];
    const rows = await reachabilityOf(cfg, NOW, async (ids) => {
      asked.push(ids);
      return new Map(ids.filter((id) => store.has(id)).map((id) => [id, store.get(id)!]));
    });
    expect(asked).toHaveLength(1); // one read for every shift
    expect(rows.map((r) => [r.person, r.current, r.status])).toEqual([
      ['frank', true, 'unreachable'],
      ['grace', false, 'reachable'], // her drill of the 8th has not run: her latest result, of the 6th
    ]);
    expect(rows[0].why).toBe('drill failed 2026-12-07 07:15 UTC: sms: undelivered (Twilio 30003: unreachable handset)');
    expect(rows[1].why).toBe('last drill passed 2026-12-06 07:05 UTC');
    expect(reachabilityLines(cfg, rows)).toEqual([
      'reachability (drills before each shift; latest results):',
      '  primary now: Frank [frank]: UNREACHABLE — drill failed 2026-12-07 07:15 UTC: sms: undelivered ' +
        '(Twilio 30003: ' +
        'unreachable handset)',
      '  primary from 2026-12-08 09:00 GMT+1: Grace [grace]: REACHABLE — last drill passed 2026-12-06 07:05 UTC',
    ]);
  });

  it('a skipped drill and no earlier result: not proven, saying why', async () => {
    const store = new Map([[grace8, state('skipped', at('2026-12-08T07:00:00Z'), 'quiet hours last until the shift')]]);
    const rows = await reachabilityOf(
      cfg,
      NOW,
      async (ids) => new Map(ids.flatMap((id) => (store.has(id) ? [[id, store.get(id)!]] : []))),
    );
    expect(rows.map((r) => [r.person, r.status, r.why])).toEqual([
      ['frank', 'not proven', 'no drill result in the last 7 days'],
      ['grace', 'not proven', 'drill skipped (quiet hours last until the shift)'],
    ]);
  });
});
