import { until } from '../helpers/clock.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOnCall, startClosedLoop, type ClosedLoop } from '../helpers/closed-loop.js';
import { drillId } from '../../schemas/drill-record.js';
import { eventId } from '../../schemas/ids.js';

/**
 * Reachability drills end to end on the real engines with the provider simulator (infra/local/oncall/demo.json and
 * its behaviours): two schedules with a drill, each with an override that starts a shift 63 s from now, so with a
 * 60-s lead the drills are due 3 s after start. The planner's tick, put on the stream when paging starts, plans both;
 * the Scheduler emulator fires them.
 * - Frank (voice, SMS, email): his phone answers and he presses 1 (`answer_ack`), the SMS and email are delivered:
 *   reachable, decided as soon as the proof is in.
 * - Dave (SMS): the carrier answers undelivered, 30003: at the window's end (10 s) the drill fails, and Dave and the
 *   owner (Alice) are told by SMS, saying what failed.
 * Receipts come back through the receiver's webhooks; the lake holds the drills' rows, and no view counts them.
 * `make oncall` (its entry point, run as a child) shows Frank reachable and Dave unreachable.
 */
let loop: ClosedLoop;
const T = Date.now();
const SHIFT = Math.ceil((T + 63_000) / 1000) * 1000;
const FRANK_DRILL = drillId('frank-drill', 'frank', SHIFT);
const DAVE_DRILL = drillId('dave-drill', 'dave', SHIFT);
/** The drills' dispatch ids (drills/engine.ts: deterministic step keys): test pages, then the failure told. */
const dispatchOf = (drill: string, step: string) => eventId('dispatch', `${drill}|${step}`);
const TESTS = new Map([
  ...['voice', 'sms', 'email'].map((c) => [dispatchOf(FRANK_DRILL, `drill|frank|${c}`), FRANK_DRILL] as const),
  [dispatchOf(DAVE_DRILL, 'drill|dave|sms'), DAVE_DRILL],
]);
const TOLD_ALICE = dispatchOf(DAVE_DRILL, 'drill-failed|alice|sms');
const TOLD_DAVE = dispatchOf(DAVE_DRILL, 'drill-failed|dave|sms');

/** `until` (test/helpers/clock.ts), polling every 100 ms. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 60_000) =>
  until(what, probe, ms, 100);

const lake = (sql: string) => loop.lake(sql);

beforeAll(async () => {
  const shift = (person: string, channels: string[]) => ({
    time_zone: 'UTC',
    overrides: [{ person, from: new Date(SHIFT).toISOString(), to: new Date(SHIFT + 3600_000).toISOString() }],
    drill: { lead_s: 60, window_s: 10, owner: ['alice'], channels },
  });
  const oncall = demoOnCall((o) => {
    o.schedules['frank-drill'] = shift('frank', ['voice', 'sms', 'email']);
    o.schedules['dave-drill'] = shift('dave', ['sms']);
  });
  loop = await startClosedLoop({ shards: 1, oncall });
  loop.startMapping('lake');
  loop.startMapping('paging');
}, 60_000);

afterAll(async () => loop?.stop());

describe('reachability drills before a shift', () => {
  it('a reachable person passes, an unreachable number fails and the owner is told; never a page', async () => {
    const ours = new Set([...TESTS.keys(), TOLD_ALICE, TOLD_DAVE]);
    const drillPosts = () => loop.sim.requests().filter((r) => r.method === 'POST' && ours.has(r.dispatchId ?? ''));
    // the test pages: frank on three channels, dave by SMS, each once, not before the due time
    const firstWave = await waitFor('the test pages', () => {
      const sent = drillPosts().filter((r) => TESTS.has(r.dispatchId!));
      return sent.length >= 4 ? sent : undefined;
    });
    expect(firstWave.map((r) => r.recipient).sort()).toEqual(
      ['+15551230004', '+15551230006', '+15551230016', 'frank@example.com'].sort(),
    );
    const sms = firstWave.find((r) => r.recipient === '+15551230006')!;
    expect(sms.params?.Body).toMatch(/^\[DRILL\] Reachability drill \(not an alarm\): .* Reply OK [A-Z0-9]+ /);

    // dave's drill fails at the window's end: dave and alice (the owner) are told, by SMS, what failed
    await waitFor(
      'the failure told to dave and alice',
      () =>
        drillPosts().filter((r) => r.dispatchId === TOLD_ALICE || r.dispatchId === TOLD_DAVE).length === 2 || undefined,
    );
    const told = drillPosts().find((r) => r.dispatchId === TOLD_ALICE)!;
    expect(told.recipient).toBe('+15551230001');
    expect(told.params?.Body).toContain('Reachability drill FAILED for Dave Kim');
    expect(told.params?.Body).toContain('sms: undelivered (Twilio 30003: unreachable handset)');
    // nothing went out twice, and nothing to frank's people: his drill passed
    const posts = drillPosts();
    expect(new Set(posts.map((r) => r.dispatchId)).size).toBe(posts.length);
    expect(posts.map((r) => r.dispatchId).sort()).toEqual([...TESTS.keys(), TOLD_ALICE, TOLD_DAVE].sort());

    // the lake: both results, the receipts that prove them, and no incident
    const results = await waitFor('both results in the lake', async () => {
      const r = await lake(
        `SELECT incident_id, status, detail FROM events WHERE kind = 'drill' AND reason IN ('drill_result') ` +
          'ORDER BY incident_id',
      );
      return r.rows.length === 2 ? r.rows : undefined;
    });
    const byId = Object.fromEntries(results.map((r) => [String(r[0]), r]));
    expect(byId[FRANK_DRILL][1]).toBe('passed');
    expect(byId[DAVE_DRILL][1]).toBe('failed');
    expect(JSON.parse(String(byId[DAVE_DRILL][2])).channels[0]).toMatchObject({ channel: 'sms', error_code: '30003' });
    const reasons = await lake(
      "SELECT reason, count(*) FROM events WHERE kind = 'dispatch' AND incident_id LIKE 'drl%' " +
        'GROUP BY reason ORDER BY 1',
    );
    expect(reasons.rows.map((r) => [r[0], Number(r[1])])).toEqual([
      ['drill', 4],
      ['drill_notice', 2],
    ]);
    const answered = await lake(
      `SELECT kind, channel, reason FROM events WHERE incident_id = '${FRANK_DRILL}' AND kind = 'ack'`,
    );
    expect(answered.rows).toEqual([['ack', 'voice', 'voice_key']]);
    expect((await lake('SELECT count(*) FROM incidents')).rows).toEqual([['0']]);
    expect((await lake("SELECT count(*) FROM alert_events WHERE incident_id LIKE 'drl%'")).rows).toEqual([['0']]);

    // exactly once: a second paging mapping re-reading the whole stream (ticks, due records, receipts) sends nothing
    const before = loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId).length;
    const replay = loop.startMapping('paging', { group: 'paging-replay' });
    await replay.mapping.waitCaughtUp(30_000);
    await replay.stop();
    expect(loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId).length).toBe(before);

    // make oncall: its entry point against this stack's paging state
    // (asynchronously: the engines answer from this process)
    const out = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'processors/paging/schedules/oncall-cli.ts',
        '--file',
        loop.env.ONCALL_FILE!,
        '--at',
        new Date(SHIFT + 1000).toISOString(),
      ],
      { env: { ...process.env, ...loop.env }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(out.stdout).toContain('frank-drill now: Frank Li [frank]: REACHABLE — drill passed');
    expect(out.stdout).toContain('dave-drill now: Dave Kim [dave]: UNREACHABLE — drill failed');
  }, 120_000);
});
