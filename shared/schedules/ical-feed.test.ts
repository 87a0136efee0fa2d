import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadIcalFeeds } from './ical-feed.js';
import { icalPersonAt } from './ical.js';
import { Schedule } from '../../schemas/oncall/schedule.js';

const fixture = new URL('./fixtures/berlin-rota.ics', import.meta.url).pathname;
const people = { alice: { name: 'Alice' }, bob: { name: 'Bob', email: 'bob@example.com' } };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'oncall-ical-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('loadIcalFeeds', () => {
  it(
    'reads a file relative to the on-call file, ' + 'keeps the last good copy and falls back to it with a warning',
    async () => {
      const base = tmp();
      const cacheDir = path.join(tmp(), 'cache');
      copyFileSync(fixture, path.join(base, 'rota.ics'));
      const cfg = { schedules: { s: Schedule.parse({ time_zone: 'Europe/Berlin', layers: [{ ical: 'rota.ics' }] }) } };
      const warnings: unknown[] = [];
      const first = await loadIcalFeeds(cfg, { baseDir: base, cacheDir, onWarning: (w) => warnings.push(w) });
      expect(warnings).toEqual([]);
      expect(
        icalPersonAt(first.get('rota.ics')!, Date.parse('2026-10-20T12:00:00Z'), 'Europe/Berlin', { people }),
      ).toBe('alice');

      writeFileSync(path.join(base, 'rota.ics'), 'this is not a calendar');
      const second = await loadIcalFeeds(cfg, { baseDir: base, cacheDir, onWarning: (w) => warnings.push(w) });
      expect(warnings).toEqual([expect.objectContaining({ source: 'rota.ics', usedCache: true })]);
      expect(
        icalPersonAt(second.get('rota.ics')!, Date.parse('2026-10-27T12:00:00Z'), 'Europe/Berlin', { people }),
      ).toBe('bob');
    },
  );

  it('a URL that fails with no copy kept leaves the feed out, with a warning', async () => {
    const url = 'https://calendar.example.com/rota.ics';
    const cfg = { schedules: { s: Schedule.parse({ time_zone: 'UTC', layers: [{ ical: url }] }) } };
    const warnings: { error: string; usedCache: boolean }[] = [];
    const feeds = await loadIcalFeeds(cfg, {
      cacheDir: tmp(),
      fetch: async () => new Response('nope', { status: 503 }),
      onWarning: (w) => warnings.push(w),
    });
    expect(feeds.has(url)).toBe(false);
    expect(warnings).toEqual([expect.objectContaining({ usedCache: false, error: 'HTTP 503' })]);
  });
});
