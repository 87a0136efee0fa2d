import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { levelPeople, loadOnCallConfig, parseOnCallConfig, policyFor, policyRouteFor, teamFor } from './config.js';
import { OnCallConfigError } from './errors.js';

const demoPath = new URL('../../infra/local/oncall/demo.json', import.meta.url).pathname;
const demo = () => JSON.parse(readFileSync(demoPath, 'utf8'));

describe('on-call configuration', () => {
  it("a schedule's drill: the defaults (1 h lead, 15 min window, delivery and an answer on any channel, quiet)", () => {
    const c = demo();
    c.schedules['payments-primary'].drill = { owner: ['team:payments', 'alice'] };
    expect(parseOnCallConfig(c).schedules['payments-primary'].drill).toEqual({
      lead_s: 3600,
      window_s: 900,
      proof: { delivery: true, response: 'any' },
      owner: ['team:payments', 'alice'],
      allow_in_quiet_hours: false,
      notify_channels: ['sms', 'email'],
    });
  });

  it('loads the demo file and routes alarms to teams', () => {
    const cfg = loadOnCallConfig(demoPath);
    expect(teamFor(cfg, { alarmName: 'billing-db-connections', namespace: 'AWS/RDS' })).toBe('db');
    expect(teamFor(cfg, { alarmName: 'x', namespace: 'AWS/ECS' })).toBe('app');
    expect(teamFor(cfg, { alarmName: 'x', namespace: 'AWS/ECS', tags: { team: 'db' } })).toBe('db');
    expect(levelPeople(cfg, policyFor(cfg, 'db', 'P1')!.levels[1])).toEqual(['carol']);
  });

  it.each([
    ['a bad phone number', (c: any) => (c.people.alice.sms = '555-1234'), 'people.alice.sms: an E.164 phone number'],
    [
      'an unknown channel',
      (c: any) => (c.teams.app.escalation.P1.levels[0].channels[1] = 'pager'),
      'teams.app.escalation.P1.levels[0].channels[1]',
    ],
    [
      'an unknown person in a level',
      (c: any) => (c.teams.db.escalation.P1.levels[1].targets = ['zoe']),
      'teams.db.escalation.P1.levels[1].targets[0]: unknown person "zoe"',
    ],
    ['an unknown team in a route', (c: any) => (c.routes[0].team = 'dba'), 'routes[0].team: unknown team "dba"'],
    [
      "an unknown owner of a schedule's drill",
      (c: any) => (c.schedules['payments-primary'].drill = { owner: ['team:ops'] }),
      'schedules.payments-primary.drill.owner[0]: unknown team "ops"',
    ],
    [
      'a drill without an owner',
      (c: any) => (c.schedules['payments-primary'].drill = { owner: [] }),
      'schedules.payments-primary.drill.owner',
    ],
    [
      'an unknown person in a default policy',
      (c: any) => (c.teams.db.default_policy = { levels: [{ targets: ['zoe'], channels: ['sms'], deadline_s: 60 }] }),
      'teams.db.default_policy.levels[0].targets[0]: unknown person "zoe"',
    ],
    [
      'WhatsApp in a default policy covering a severity without a template',
      (c: any) =>
        (c.teams.db.default_policy = { levels: [{ targets: ['carol'], channels: ['whatsapp'], deadline_s: 60 }] }),
      'whatsapp_templates.P4: team db pages P4 on WhatsApp',
    ],
    [
      'an unknown team in the unrouted fallback',
      (c: any) => (c.unrouted_fallback = { targets: ['team:noc'], channels: ['sms'] }),
      'unrouted_fallback.targets[0]: unknown team "noc"',
    ],
    ['WhatsApp without a template', (c: any) => delete c.whatsapp_templates.P1, 'whatsapp_templates.P1'],
    [
      'a negative deadline',
      (c: any) => (c.teams.app.escalation.P2.levels[0].deadline_s = -5),
      'teams.app.escalation.P2.levels[0].deadline_s',
    ],
    [
      'a typo in a field name',
      (c: any) => (c.teams.app.escalation.P2.levels[0].deadline = 5),
      'teams.app.escalation.P2.levels[0]',
    ],
  ])('rejects %s with the path of the bad field', (_name, mutate, where) => {
    const cfg = demo();
    mutate(cfg);
    let err: unknown;
    try {
      parseOnCallConfig(cfg, 'oncall.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnCallConfigError);
    expect((err as Error).message).toContain('oncall.json');
    expect((err as Error).message).toContain(where);
  });

  it("routes a severity with no policy to the team's default policy, else the unrouted fallback, else nobody", () => {
    const c = demo();
    const level = { targets: ['erin'], channels: ['email'], deadline_s: 60 };
    c.teams.db.default_policy = { levels: [level] };
    const cfg = parseOnCallConfig(c);
    expect(policyRouteFor(cfg, 'db', 'P1')).toEqual({ policy: cfg.teams.db.escalation.P1 });
    expect(policyRouteFor(cfg, 'db', 'P4')).toEqual({ fallback: 'team_default', policy: cfg.teams.db.default_policy });
    expect(policyRouteFor(cfg, 'app', 'P3')).toEqual({ fallback: 'global', targets: cfg.unrouted_fallback });
    delete c.unrouted_fallback;
    expect(policyRouteFor(parseOnCallConfig(c), 'app', 'P3')).toEqual({ fallback: 'none' });
  });

  it('names the file when it is not JSON', () => {
    expect(() => loadOnCallConfig('/nonexistent/oncall.json')).toThrow(
      /\/nonexistent\/oncall.json: invalid on-call configuration/,
    );
  });
});
