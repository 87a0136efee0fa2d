import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS, startClosedLoop, type ClosedLoop, type Mapping } from '../../test/helpers/closed-loop.js';
import { incidentIdOf } from '../../schemas/ids.js';
import { countKinds, oncallWarnings, resolveEvent, smokeAlarm, smokeSettings } from './smoke.js';
import { childEnv } from '../../test/helpers/clock.js';

/**
 * `make smoke` against a whole local loop on free ports (test/helpers/closed-loop.ts: the engines, the
 * receiver, the provider simulator, the paging and lake handlers behind the local event source mapping),
 * run as the command runs it: a child process of infra/deploy/smoke.ts, its exit code and output checked.
 */
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const SMOKE_NUMBER = '+15555550100'; // the smoke person of infra/local/oncall/demo.json

function runSmoke(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra/deploy/smoke.ts'), ...args], {
      cwd: REPO_ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (d) => (output += d));
    proc.stderr.on('data', (d) => (output += d));
    proc.once('error', reject);
    proc.once('exit', (code) => resolve({ code, output }));
  });
}

describe('smoke settings and events', () => {
  it('the ALARM and its OK name one incident; every run has its own alarm', () => {
    const s = smokeSettings({ API_KEY: 'k' });
    const config = { AWS_REGION: 'eu-west-1', AWS_ACCOUNT_ID: '123456789012' };
    const a = smokeAlarm(config, s, 'run-1', 1_000_000);
    const b = smokeAlarm(config, s, 'run-2', 1_000_000);
    expect(a.alarmName).toBe('pagetrail-smoke-run-1');
    expect(a.incidentId).not.toBe(b.incidentId);
    expect(incidentIdOf(resolveEvent(a, 2_000_000))).toBe(a.incidentId);
    expect(a.event.detail.alarmTags).toMatchObject({ team: 'smoke', severity: 'P4' });
  });

  it('steps are bounded by SMOKE_TIMEOUT_S; bad settings are usage errors', () => {
    const defaults = smokeSettings({ API_KEY: 'k' }).timeoutMs;
    expect(defaults).toEqual({ page: 60_000, receipt: 180_000, lake: 180_000, resolve: 30_000 });
    const short = smokeSettings({ API_KEY: 'k', SMOKE_TIMEOUT_S: '5' }).timeoutMs;
    expect(short).toMatchObject({ page: 5000, receipt: 5000, lake: 5000 });
    expect(() => smokeSettings({})).toThrow(/API_KEY/);
    expect(smokeSettings({}, true).direct).toBe(true);
    expect(smokeSettings({ SMOKE_DIRECT: '1' }).direct).toBe(true);
    expect(() => smokeSettings({ API_KEY: 'k', SMOKE_TIMEOUT_S: 'soon' })).toThrow(/SMOKE_TIMEOUT_S/);
    expect(countKinds(['alarm', 'dispatch', 'receipt', 'receipt'])).toBe('alarm, dispatch, receipt ×2');
  });

  it("the demo on-call file's smoke team pages one person once: one level, one channel, no repeat, no fallback", () => {
    const s = smokeSettings({ API_KEY: 'k' });
    expect(oncallWarnings('infra/local/oncall/demo.json', s)).toEqual([]);
    const payments = oncallWarnings('infra/local/oncall/demo.json', { ...s, team: 'payments', severity: 'P1' });
    expect(payments.join('\n')).toMatch(/escalates/);
    expect(oncallWarnings('infra/local/oncall/demo.json', { ...s, team: 'nobody' })[0]).toMatch(/no team "nobody"/);
    // a severity the smoke team has no policy for pages the file's unrouted_fallback, not "nobody"
    const unrouted = oncallWarnings('infra/local/oncall/demo.json', { ...s, severity: 'P1' });
    expect(unrouted).toEqual([
      expect.stringMatching(/no P1 policy: the smoke alarm pages the file's unrouted_fallback/),
    ]);
  });
});

describe('make smoke against the local loop', () => {
  let loop: ClosedLoop;
  let paging: Mapping;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    loop = await startClosedLoop({ env: { FLUSH_INTERVAL_S: '1' } });
    paging = loop.startMapping('paging');
    loop.startMapping('lake');
    env = { ...loop.env, API_KEY: SECRETS.apiKey, SMOKE_TIMEOUT_S: '45', LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await loop?.stop();
  });

  it('sees the page, its receipt and the lake row, prints each with its latency, resolves the incident', async () => {
    const { code, output } = await runSmoke(env);
    expect(output).toMatch(new RegExp(`alarm pagetrail-smoke-\\S+ \\(team smoke, P4\\) → ${loop.receiverUrl}`));
    expect(output).toMatch(/^ {2}alarm accepted +\d+ ms$/m);
    expect(output).toMatch(/^ {2}page sent +[\d.]+ m?s {2}sms → \+\*{9}00$/m);
    expect(output).toMatch(/^ {2}receipt delivered +[\d.]+ m?s$/m);
    expect(output).toMatch(/^ {2}lake row +[\d.]+ m?s {2}events of the incident: alarm/m);
    expect(output).toMatch(/^ {2}resolved +[\d.]+ m?s$/m);
    expect(output).toMatch(/^smoke OK in [\d.]+ m?s$/m);
    expect(output).not.toContain(SMOKE_NUMBER);
    expect(output).not.toContain(SECRETS.apiKey);
    expect(code).toBe(0);
    // one page, to the smoke number only: nobody else was paged
    const sent = loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId);
    expect(sent.map((r) => r.recipient)).toEqual([SMOKE_NUMBER]);
  });

  it('exits non-zero naming the page when the paging processor is not running (direct to the stream)', async () => {
    await paging.stop();
    // a short page limit; the lake (still running) keeps the overall limit
    const { code, output } = await runSmoke({ ...env, SMOKE_PAGE_TIMEOUT_S: '3' }, ['--direct']);
    expect(output).toMatch(/^ {2}alarm on stream +\d+ ms$/m);
    expect(output).toMatch(/^ {2}page MISSING +[\d.]+ s {2}no incident inc_\w+ in the incidents table/m);
    expect(output).toMatch(/^ {2}lake row /m);
    expect(output).toMatch(/^ {2}resolve sent /m);
    expect(output).toMatch(/^smoke FAILED: missing page, receipt$/m);
    expect(code).toBe(1);
  });
});
