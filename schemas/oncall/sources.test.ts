import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOnCallConfig } from './config.js';
import { Sources, sourceSeverity, sourceTeam } from './sources.js';
import { OnCallConfigError } from './errors.js';

const demo = JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));
const TEAMS = { app: {}, db: {}, payments: {} };

describe('the on-call sources section: severity and team of Alertmanager and Events API v2 alarms', () => {
  const defaults = Sources.parse(undefined);

  it.each([
    [{ severity: 'critical' }, 'P1'],
    [{ severity: 'error' }, 'P2'],
    [{ severity: 'WARNING' }, 'P3'],
    [{ Severity: 'info' }, 'P4'],
    [{ severity: 'p2' }, 'P2'],
    [{ severity: 'page' }, undefined],
    [{ severity: '  ' }, undefined],
    [{}, undefined],
  ])('defaults: %j → %s', (labels, expected) => {
    expect(sourceSeverity(defaults, labels as Record<string, string>)).toBe(expected);
  });

  it('a file of its own replaces the words and the labels read', () => {
    const s = Sources.parse({
      severity_label: 'priority',
      severities: { page: 'P1', Ticket: 'P4' },
      team_label: 'owner',
    });
    expect(sourceSeverity(s, { priority: 'page', severity: 'info' })).toBe('P1');
    expect(sourceSeverity(s, { priority: 'ticket' })).toBe('P4');
    expect(sourceSeverity(s, { priority: 'critical' })).toBeUndefined(); // the defaults are replaced, not merged
    expect(sourceTeam(s, TEAMS, { owner: 'db', team: 'app' })).toBe('db');
  });

  it('team: the label when it names a team, else the routing key’s service (a team or a service of the file)', () => {
    const s = Sources.parse({ services: { 'checkout-api': { team: 'payments' } } });
    expect(sourceTeam(s, TEAMS, { team: 'db' }, 'checkout-api')).toBe('db');
    expect(sourceTeam(s, TEAMS, { team: 'nobody' }, 'checkout-api')).toBe('payments');
    expect(sourceTeam(s, TEAMS, {}, 'app')).toBe('app');
    expect(sourceTeam(s, TEAMS, {}, 'unknown-service')).toBeUndefined();
    expect(sourceTeam(s, TEAMS, { team: 'nobody' })).toBeUndefined();
  });

  it('is optional in the file (defaults), and a service of an unknown team is refused with its path', () => {
    expect(parseOnCallConfig(demo).sources).toEqual(defaults);
    const own = { ...demo, sources: { services: { 'checkout-api': { team: 'payments' } } } };
    expect(parseOnCallConfig(own).sources).toEqual({ ...defaults, services: { 'checkout-api': { team: 'payments' } } });
    const bad = { ...demo, sources: { services: { 'checkout-api': { team: 'nope' } } } };
    const err = (() => {
      try {
        parseOnCallConfig(bad);
      } catch (e) {
        return e as OnCallConfigError;
      }
    })();
    expect(err).toBeInstanceOf(OnCallConfigError);
    expect(String(err?.message)).toContain('sources.services.checkout-api.team: unknown team "nope"');
  });
});
