import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OnCallConfigError } from './errors.js';
import { loadOnCallConfig, parseOnCallConfig } from './config.js';

const examplePath = new URL('../../infra/local/oncall/example-teams.json', import.meta.url).pathname;
const example = () => JSON.parse(readFileSync(examplePath, 'utf8'));

describe('schedules in the on-call file', () => {
  it('loads the example file (two teams, schedules as targets)', () => {
    const cfg = loadOnCallConfig(examplePath);
    expect(Object.keys(cfg.schedules)).toEqual(['payments-primary', 'payments-secondary', 'platform-primary']);
    expect(cfg.teams.payments.escalation.P1!.levels[0].targets).toEqual(['schedule:payments-primary']);
  });

  it('a file without schedules still loads', () => {
    const c = example();
    delete c.schedules;
    for (const team of Object.values(c.teams) as any[]) {
      for (const policy of [...Object.values(team.escalation), ...(team.default_policy ? [team.default_policy] : [])]) {
        for (const level of policy.levels) level.targets = ['alice'];
        delete policy.notify;
      }
    }
    expect(parseOnCallConfig(c, 'no-schedules.json').schedules).toEqual({});
  });

  it('reports every problem at once, each with its path', () => {
    const c = example();
    const s = c.schedules['payments-primary'];
    s.time_zone = 'Europe/Berlinn';
    s.layers[0].participants.push('zoe');
    s.layers[0].handoff = '25:00';
    s.layers.push(
      { ical: '' },
      { participants: ['bob'], rotation: 'daily', handoff_day: 'monday', start: '2026-13-01' },
    );
    s.overrides[0].person = 'yann';
    s.overrides[0].to = '2026-12-20T00:00:00Z';
    s.overrides.push({ person: 'bob', from: 'tomorrow', to: '2026-12-20T00:00:00' });
    c.teams.payments.escalation.P1.levels[1].targets = ['schedule:nope'];
    c.teams.payments.escalation.P1.fallback.targets = ['schedule:gone'];
    let err: unknown;
    try {
      parseOnCallConfig(c, 'example-teams.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnCallConfigError);
    const { source, problems } = err as OnCallConfigError;
    expect(source).toBe('example-teams.json');
    const at = (prefix: string) => problems.filter((p) => p.startsWith(prefix));
    expect(at('schedules.payments-primary.time_zone: an IANA time zone')).toHaveLength(1);
    expect(at('schedules.payments-primary.layers[0].handoff: a time like 09:00')).toHaveLength(1);
    expect(at('schedules.payments-primary.layers[0].participants[3]: unknown person "zoe"')).toHaveLength(1);
    expect(at('schedules.payments-primary.layers[1]')).not.toHaveLength(0);
    expect(at('schedules.payments-primary.layers[2]')).not.toHaveLength(0);
    expect(at('schedules.payments-primary.overrides[0].person: unknown person "yann"')).toHaveLength(1);
    expect(at('schedules.payments-primary.overrides[0].to: ends')).toHaveLength(1);
    expect(at('schedules.payments-primary.overrides[1].from')).toHaveLength(1);
    expect(at('schedules.payments-primary.overrides[1].to')).toHaveLength(1);
    expect(at('teams.payments.escalation.P1.levels[1].targets[0]: unknown schedule "nope"')).toHaveLength(1);
    expect(at('teams.payments.escalation.P1.fallback.targets[0]: unknown schedule "gone"')).toHaveLength(1);
  });

  it('rejects a hand-off day on a daily rotation', () => {
    const c = example();
    c.schedules['payments-secondary'].layers[0].rotation = 'daily';
    expect(() => parseOnCallConfig(c)).toThrow(
      /schedules\.payments-secondary\.layers\[0\]\.handoff_day: only a weekly rotation/,
    );
  });
});
