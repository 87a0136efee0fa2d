import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOnCallConfig } from './config.js';
import { OnCallConfigError } from './errors.js';
import { HeartbeatCheck, Heartbeats, periodInWords } from './heartbeats.js';

const demo = JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));

function problem(file: unknown): string {
  try {
    parseOnCallConfig(file);
  } catch (e) {
    expect(e).toBeInstanceOf(OnCallConfigError);
    return (e as Error).message;
  }
  return '';
}

describe('the on-call heartbeats section', () => {
  it("the schema's example parses; the watchdog preset fills its name, period and grace", () => {
    const h = Heartbeats.parse({
      'nightly-backup': {
        period_s: 86400,
        grace_s: 3600,
        team: 'db',
        severity: 'P3',
        name: 'Nightly backup',
        description: 'pg_dump of the orders database, 02:00 UTC',
      },
      'prometheus-watchdog': { preset: 'watchdog', team: 'app', severity: 'P2' },
    });
    expect(h['nightly-backup']).toMatchObject({ period_s: 86400, grace_s: 3600, severity: 'P3' });
    expect(h['prometheus-watchdog']).toMatchObject({
      name: 'Alertmanager Watchdog',
      period_s: 300,
      grace_s: 300,
      severity: 'P2',
    });
    // a check's own period and grace win over the preset's; no preset: grace 0, severity P2, name = the id (unset)
    expect(HeartbeatCheck.parse({ preset: 'watchdog', team: 'app', period_s: 120, grace_s: 60 })).toMatchObject({
      period_s: 120,
      grace_s: 60,
    });
    expect(HeartbeatCheck.parse({ team: 'app', period_s: 60 })).toEqual({
      team: 'app',
      period_s: 60,
      grace_s: 0,
      severity: 'P2',
      description: '',
    });
  });

  it('refuses a check without a period, an id with a dot, an unknown team (with its path)', () => {
    expect(problem({ ...demo, heartbeats: { job: { team: 'db' } } })).toContain('heartbeats.job.period_s');
    expect(problem({ ...demo, heartbeats: { 'a.b': { team: 'db', period_s: 60 } } })).toContain('heartbeats');
    expect(problem({ ...demo, heartbeats: { job: { team: 'nope', period_s: 60 } } })).toContain(
      'heartbeats.job.team: unknown team "nope"',
    );
    expect(parseOnCallConfig({ ...demo, heartbeats: undefined }).heartbeats).toEqual({});
  });

  it.each([
    [45, 'every 45 s'],
    [300, 'every 5 min'],
    [5400, 'every 1 h 30 min'],
    [86_400, 'every 1 d'],
    [0, 'every 0 s'],
  ])('periodInWords(%i) = %s', (s, words) => expect(periodInWords(s)).toBe(words));
});
