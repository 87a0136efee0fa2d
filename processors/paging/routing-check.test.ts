import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { oncallCheck } from './schedules/cli.js';

/** `make oncall-check` on files with routing gaps: every (team, severity) without a policy is named. */
const demo = JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));
const dir = mkdtempSync(path.join(tmpdir(), 'oncall-routing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two teams: app (P1, P2) and tstorm (P1 only, maybe with a default policy); maybe a global fallback. */
function file(name: string, opts: { teamDefault?: boolean; global?: boolean }): string {
  const { unrouted_fallback, ...rest } = structuredClone(demo);
  const level = { targets: ['bob'], channels: ['sms'], deadline_s: 60 };
  const f = path.join(dir, name);
  writeFileSync(
    f,
    JSON.stringify({
      ...rest,
      teams: {
        app: rest.teams.app,
        tstorm: {
          members: ['bob'],
          escalation: { P1: { levels: [level] } },
          ...(opts.teamDefault ? { default_policy: { levels: [level] } } : {}),
        },
      },
      routes: [],
      ...(opts.global ? { unrouted_fallback: { targets: ['grace'], channels: ['sms'] } } : {}),
    }),
  );
  return f;
}
const ENV = { SEVERITY_DEFAULT: 'P2', SEVERITY_MAP: '{"tstorm-":"P3","api-":"P1"}' };

describe('oncall-check: routing gaps', () => {
  it('a pair that pages nobody is an error (exit 1), naming where the severity comes from', async () => {
    const f = file('gaps.json', {});
    const { stdout, stderr, code } = await oncallCheck(f, ENV);
    expect(code).toBe(1);
    expect(stdout).toEqual([]);
    const errors = stderr.filter((l) => l.startsWith('error: '));
    // app: P3, P4; tstorm: P2, P3, P4
    expect(
      errors.map((l) =>
        l
          .match(/team (\w+) has no (P\d) policy/)
          ?.slice(1)
          .join(' '),
      ),
    ).toEqual(['app P3', 'app P4', 'tstorm P2', 'tstorm P3', 'tstorm P4']);
    expect(errors[2]).toBe(
      `error: ${f}: team tstorm has no P2 policy: pages NOBODY (recorded unrouted, logged as an error); ` +
        'add teams.tstorm.escalation.P2, teams.tstorm.default_policy or unrouted_fallback ' +
        '[P2 from: a severity=P2 tag, SEVERITY_DEFAULT=P2 (alarms untagged and unmapped, or tagged outside P1..P4 ' +
        'such as P9)]',
    );
    expect(errors[3]).toContain('[P3 from: a severity=P3 tag, SEVERITY_MAP "tstorm-"]');
    expect(stderr.at(-1)).toBe(`${f}: 5 errors, 0 warnings`);
  });

  it('pairs covered by a fallback are warnings (exit 0) that say which fallback', async () => {
    const f = file('covered.json', { teamDefault: true, global: true });
    const { stdout, stderr, code } = await oncallCheck(f, ENV);
    expect(code).toBe(0);
    expect(stderr.every((l) => l.startsWith('warning: '))).toBe(true);
    expect(stderr.filter((l) => l.includes('team app'))).toEqual([
      expect.stringMatching(
        /team app has no P3 policy: pages unrouted_fallback \(grace on sms\) once, recorded unrouted → global/,
      ),
      expect.stringMatching(/team app has no P4 policy: pages unrouted_fallback/),
    ]);
    expect(stderr.filter((l) => l.includes('team tstorm'))).toHaveLength(3);
    expect(stderr.find((l) => l.includes('team tstorm has no P2'))).toContain(
      'pages teams.tstorm.default_policy, recorded unrouted → team_default',
    );
    expect(stdout).toEqual([`${f}: OK (9 people, 2 teams, 1 schedule; 0 errors, 5 warnings)`]);
  });

  it('an invalid SEVERITY_MAP, or a fallback nobody can be reached by, is an error', async () => {
    const f = file('bad-env.json', { teamDefault: true, global: true });
    const bad = await oncallCheck(f, { SEVERITY_MAP: '{"api-":"P9"}' });
    expect(bad.code).toBe(1);
    expect(bad.stderr[0]).toMatch(/^error: SEVERITY_MAP(\.api-)?: /);

    const cfg = JSON.parse(readFileSync(f, 'utf8'));
    cfg.unrouted_fallback = { targets: ['dave'], channels: ['email'] }; // dave has no email
    writeFileSync(f, JSON.stringify(cfg));
    const unreachable = await oncallCheck(f, ENV);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      `error: ${f}: unrouted_fallback: no target has an address on email: pages nobody`,
    );
  });

  it('the shipped example files pass, with their gaps as warnings', async () => {
    for (const name of ['demo.json', 'example-teams.json']) {
      const f = new URL(`../../infra/local/oncall/${name}`, import.meta.url).pathname;
      const { code, stderr } = await oncallCheck(f, ENV);
      expect(code).toBe(0);
      expect(stderr.length).toBeGreaterThan(0);
      expect(stderr.every((l) => l.startsWith('warning: '))).toBe(true);
    }
  });
});
