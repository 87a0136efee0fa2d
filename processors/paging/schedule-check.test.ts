import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOnCallConfig } from '../../schemas/oncall/config.js';
import { oncallCheck } from './schedules/cli.js';
import { coverageOf } from '../../shared/schedules/coverage.js';
import { onCallAt } from '../../shared/schedules/resolve.js';

const dir = mkdtempSync(path.join(tmpdir(), 'oncall-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};
const env = { SEVERITY_DEFAULT: 'P1' };
// Monday 2026-11-30 00:00 Berlin: the check's clock, never the calendar
const at = Date.parse('2026-11-30T00:00:00+01:00');

/** An on-call file whose schedule covers 08:00-20:00 only (a nightly gap); bob has no voice number. */
const nightlyGap = {
  people: {
    alice: { name: 'Alice', sms: '+15551230001', voice: '+15551230001' },
    bob: { name: 'Bob', sms: '+15551230002' } as { name: string; sms: string; voice?: string },
  },
  teams: {
    ops: {
      members: ['alice', 'bob'],
      escalation: { P1: { levels: [{ targets: ['schedule:days'], channels: ['voice', 'sms'], deadline_s: 300 }] } },
      default_policy: { levels: [{ targets: ['bob'], channels: ['voice'], deadline_s: 300 }] },
    },
  },
  schedules: {
    days: {
      time_zone: 'Europe/Berlin',
      layers: [
        {
          participants: ['alice', 'bob'],
          rotation: 'daily',
          handoff: '08:00',
          start: '2026-11-01',
          restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '08:00', to: '20:00' }],
        },
      ],
    },
  },
  default_team: 'ops',
  twilio: { voice_from: '+15551239999' },
  email: { from: 'pager@example.com' },
};

describe('make oncall-check: schedules and addresses', () => {
  it('warns about each nightly gap in the file time zone, then counts the rest of the weeks checked', async () => {
    const reachable = structuredClone(nightlyGap);
    reachable.people.bob.voice = '+15551230002';
    const file = write('gap.json', JSON.stringify(reachable));
    const out = await oncallCheck(file, env, { at, weeks: 1 });
    const gaps = out.stderr.filter((l) => l.includes('schedules.days'));
    expect(gaps.slice(0, 2)).toEqual([
      `warning: ${file}: schedules.days: nobody on call ` +
        'Mon 2026-11-30 00:00 → Mon 2026-11-30 08:00 Europe/Berlin (8 h)',
      `warning: ${file}: schedules.days: nobody on call ` +
        'Mon 2026-11-30 20:00 → Tue 2026-12-01 08:00 Europe/Berlin (12 h)',
    ]);
    // 8 gaps in the week (the first night, six full nights, the last evening): 5 listed, then the rest counted
    expect(gaps).toHaveLength(6);
    expect(gaps[5]).toBe(
      `warning: ${file}: schedules.days: 3 more gaps in the 1 week from Mon 2026-11-30 00:00 Europe/Berlin ` +
        `(8 in all, 84 h uncovered)`,
    );
    // warnings only: the file is usable
    expect(out.code).toBe(0);
    expect(out.stdout[0]).toMatch(/OK \(2 people, 1 team, 1 schedule; 0 errors, \d+ warnings\)$/);
    const twoWeeks = await oncallCheck(file, env, { at });
    expect(twoWeeks.stderr.filter((l) => l.includes('schedules.days')).at(-1)).toContain(
      '(15 in all, 168 h uncovered)',
    );
  });

  it('a voice level for someone with no voice number: an error if it is the only channel, else a warning', async () => {
    const file = write('voice.json', JSON.stringify(nightlyGap));
    const out = await oncallCheck(file, env, { at, weeks: 1 });
    expect(out.stderr).toContain(
      `warning: ${file}: teams.ops.escalation.P1.levels[0]: ` +
        'bob (when on call in schedule:days) has no voice address: ' +
        'paged on sms only',
    );
    expect(out.stderr).toContain(
      `error: ${file}: teams.ops.default_policy.levels[0]: bob has no voice address: this level never reaches them`,
    );
    expect(out.stderr.some((l) => l.includes('alice') && l.includes('no '))).toBe(false);
    expect(out.code).toBe(1);
  });

  it('a covered schedule has no gap warning', async () => {
    const allDay = structuredClone(nightlyGap);
    allDay.schedules.days.layers[0].restrictions = undefined as never;
    allDay.people.bob.voice = '+15551230002';
    const file = write('covered.json', JSON.stringify(allDay));
    const out = await oncallCheck(file, env, { at, weeks: 2 });
    expect(out.stderr.filter((l) => !l.includes('has no P'))).toEqual([]);
    expect(out.code).toBe(0);
  });

  it('a JSON syntax error is placed as line:column, not a position', async () => {
    const text = JSON.stringify(nightlyGap, null, 2).replace('"Bob",', '"Bob"');
    const file = write('syntax.json', text);
    const out = await oncallCheck(file, env, { at });
    const line = text.split('\n').findIndex((l) => l.includes('"Bob"')) + 2;
    expect(out.stderr[0]).toBe(`${file}: ${line}:7: invalid JSON: Expected ',' or '}' after property value`);
    expect(out.stderr.join('\n')).not.toContain('position');
    expect(out.code).toBe(1);
  });
});

describe('schedule coverage', () => {
  it('matches the resolver asked minute by minute, across a DST change', () => {
    const cfg = parseOnCallConfig(nightlyGap);
    const schedule = cfg.schedules.days;
    (schedule.layers[0] as { start: string }).start = '2026-03-01';
    schedule.overrides.push({ person: 'alice', from: '2026-03-29T21:30:00+02:00', to: '2026-03-30T01:15:00+02:00' });
    const from = Date.parse('2026-03-28T12:00:00Z');
    const to = from + 2 * 86_400_000;
    const want: { start: number; end: number }[] = [];
    for (let t = from; t < to; t += 60_000) {
      if (onCallAt(schedule, t, { people: cfg.people })) continue;
      const last = want.at(-1);
      if (last?.end === t) last.end = t + 60_000;
      else want.push({ start: t, end: t + 60_000 });
    }
    const got = coverageOf(schedule, from, to, { people: cfg.people });
    expect(got.gaps).toEqual(want);
    expect(got.gaps.length).toBeGreaterThan(2);
    expect([...got.people].sort()).toEqual(['alice', 'bob']);
  });
});
