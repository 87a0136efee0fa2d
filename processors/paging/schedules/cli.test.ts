import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOnCallFile, fileTimeZones, onCallReport, onCallTime } from './cli.js';

const examplePath = new URL('../../../infra/local/oncall/example-teams.json', import.meta.url).pathname;
const demoPath = new URL('../../../infra/local/oncall/demo.json', import.meta.url).pathname;

describe('on-call CLIs', () => {
  it('reports who is on call per team and level, with the schedule, layer or override', () => {
    const { cfg } = checkOnCallFile(examplePath);
    const xmas = onCallReport(cfg!, Date.parse('2026-12-25T10:00:00+01:00'), new Map());
    expect(xmas).toContain(
      '  P1 level 1: Dave Kim [dave] (schedule payments-primary, override 0)  [voice, sms; escalates after 300 s]',
    );
    expect(xmas).toContain('maintenance in force: none');
    // Tuesday 2026-12-01 12:00 New York: inside the business-hours restriction, erin's first week.
    const tuesday = onCallReport(cfg!, Date.parse('2026-12-01T12:00:00-05:00'), new Map());
    expect(tuesday).toContain(
      '  P1 level 1: Erin Rossi [erin] (schedule platform-primary, layer business-hours, rotation)  ' +
        '[sms, email; escalates after 300 s]',
    );
    expect(tuesday).toContain(
      '  P1 level 1: Alice Ng [alice] (schedule payments-primary, layer weekly, rotation)  ' +
        '[voice, sms; escalates after 300 s]',
    );
    // Sunday 2026-12-06 03:00 Berlin: the weekly patching window is open, and payments' quiet hours
    const sunday = onCallReport(cfg!, Date.parse('2026-12-06T03:00:00+01:00'), new Map());
    expect(sunday).toContain('  quiet hours now: P3 by email only');
    expect(sunday.slice(-2)).toEqual([
      'maintenance in force (alarms recorded as suppressed, not paged):',
      '  payments-db-patching: alarm_prefix payments-db-',
    ]);
    // Before any rotation starts, the level says so.
    const early = onCallReport(cfg!, Date.parse('2026-01-01T00:00:00Z'), new Map());
    expect(early).toContain('  P2 level 1: nobody on call in schedule:platform-primary  [sms; escalates after 900 s]');
  });

  it('names people, with their id, on fixed levels and team fallbacks too', () => {
    const { cfg } = checkOnCallFile(examplePath);
    const xmas = onCallReport(cfg!, Date.parse('2026-12-25T10:00:00+01:00'), new Map());
    expect(xmas).toContain('  P1 level 2: Grace Hopper [grace]  [sms; escalates after 600 s]');
    expect(xmas.find((l) => l.startsWith('  P1 fallback:'))).toBe(
      '  P1 fallback: Alice Ng [alice] (team:payments), Bob Diaz [bob] (team:payments), ' +
        'Carol Otieno [carol] (team:payments), Dave Kim [dave] (team:payments)',
    );
  });

  it("reads an AT without an offset in the file's time zone and says so; several zones: UTC with a warning", () => {
    const NOW = Date.parse('2026-12-04T12:00:00Z');
    const demo = checkOnCallFile(demoPath).cfg!;
    expect(fileTimeZones(demo)).toEqual(['Europe/Berlin']);
    const berlin = onCallTime('2026-12-25T20:00:00', demo, NOW);
    expect(berlin.at).toBe(Date.parse('2026-12-25T20:00:00+01:00'));
    expect(berlin.shown).toBe('2026-12-25T20:00:00.000+01:00');
    expect(berlin.note).toBe(
      "AT=2026-12-25T20:00:00 has no offset: read as Europe/Berlin time, the on-call file's time zone " +
        '(2026-12-25T20:00:00.000+01:00)',
    );
    // summer time in the same zone
    expect(onCallTime('2026-07-01T09:00', demo, NOW).at).toBe(Date.parse('2026-07-01T09:00:00+02:00'));
    // with an offset: that instant, shown in its own offset, nothing to say
    const explicit = onCallTime('2026-12-25T20:00:00-05:00', demo, NOW);
    expect(explicit).toEqual({ at: Date.parse('2026-12-26T01:00:00Z'), shown: '2026-12-25T20:00:00.000-05:00' });
    expect(onCallTime('2026-12-25T19:00:00Z', demo, NOW).at).toBe(Date.parse('2026-12-25T19:00:00Z'));
    // now (or nothing): the time passed in, shown in the file's zone
    expect(onCallTime('now', demo, NOW)).toEqual({ at: NOW, shown: '2026-12-04T13:00:00.000+01:00' });
    expect(onCallTime(undefined, demo, NOW).at).toBe(NOW);

    const several = checkOnCallFile(examplePath).cfg!;
    expect(fileTimeZones(several)).toEqual(['Europe/Berlin', 'America/New_York']);
    const utc = onCallTime('2026-12-25T20:00:00', several, NOW);
    expect(utc.at).toBe(Date.parse('2026-12-25T20:00:00Z'));
    expect(utc.note).toMatch(
      /^warning: AT=2026-12-25T20:00:00 has no offset .* time zones \(Europe\/Berlin, America\/New_York\): read as/,
    );
    expect(() => onCallTime('Christmas', demo, NOW)).toThrow(/AT="Christmas" is not a time/);
  });

  it('check gives one readable line per problem, each naming the file and the path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oncall-check-'));
    try {
      const file = path.join(dir, 'bad.json');
      writeFileSync(
        file,
        JSON.stringify({
          people: {},
          teams: {},
          default_team: 'x',
          twilio: {},
          email: { from: 'a@b.c' },
          schedules: {
            s: {
              time_zone: 'Nowhere/City',
              layers: [{ participants: ['zoe'], rotation: 'daily', start: '2026-12-01' }],
            },
          },
        }),
      );
      const { cfg, errors } = checkOnCallFile(file);
      expect(cfg).toBeUndefined();
      expect(errors).toEqual([
        `${file}: schedules.s.time_zone: an IANA time zone like Europe/Berlin`,
        `${file}: default_team: unknown team "x"`,
        `${file}: schedules.s.layers[0].participants[0]: unknown person "zoe"`,
      ]);
      expect(errors.every((e) => !e.includes('\n'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
