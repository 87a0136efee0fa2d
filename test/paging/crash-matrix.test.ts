import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOnCall, startClosedLoop, SECRETS, type ClosedLoop, type ChildRunner } from '../helpers/closed-loop.js';
import { CRASH_POINTS } from '../../processors/runtime/crashpoint.js';
import { DEMO_STORIES, demoAlarmEvent } from '../../infra/local/demo-alarms.js';

/**
 * The crash matrix: the paging service runs as a real child process and is SIGKILLed at every step
 * boundary of the paging path (after the one write before a send — the decision with its pages' claims
 * and a new incident's ack code —, after a send while the level's other pages may be in flight, after a
 * dispatch record, after an escalation record, after a deadline is scheduled), twice round, while the
 * demo's five stories play (the fifth: a schedule-resolved voice call, acked by key press, and the
 * ack notice to the rest of the team); each time it is restarted. Every page and notice of every
 * policy step must reach the provider simulator exactly once, and the lake must show each of them.
 */
let loop: ClosedLoop;
const T_ALARM = Date.now();
const EXPECTED = [
  'alice:email',
  'alice:sms',
  'bob:email',
  'bob:sms',
  'carol:sms',
  'carol:whatsapp',
  'dave:sms',
  'dave:whatsapp',
  'erin:email',
  'erin:sms',
  'frank:voice',
  'grace:sms',
  'hank:sms',
  'hank:whatsapp',
];
const PEOPLE: Record<string, string> = {
  '0001': 'alice',
  '0002': 'bob',
  '0003': 'carol',
  '0004': 'dave',
  '0005': 'erin',
  '0016': 'frank',
  '0007': 'grace',
  '0008': 'hank',
  'alice@': 'alice',
  'bob@': 'bob',
  'carol@': 'carol',
  'erin@': 'erin',
};

/** Sends that reached a person: an idempotent replay (same Resend key → the first email) is not a send. */
const sends = () =>
  loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId && r.status < 300 && !r.replayed);
const who = (recipient: string) => Object.entries(PEOPLE).find(([k]) => recipient.includes(k))?.[1] ?? recipient;
const label = (r: ReturnType<typeof sends>[number]) =>
  `${who(r.recipient!)}:${
    r.api === 'resend'
      ? 'email'
      : r.path.endsWith('/Calls.json')
        ? 'voice'
        : r.recipient!.startsWith('whatsapp:')
          ? 'whatsapp'
          : 'sms'
  }`;

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  // The demo's on-call file, but alice's level (app P1) waits 10 minutes: twelve restarts on a busy
  // machine can delay her page past its 20 s deadline, and the escalation to dave that follows would
  // be right, but not the pages this test counts. Bob's 8 s escalation to carol stays.
  const oncall = demoOnCall((o) => {
    o.teams.app.escalation.P1.levels[0].deadline_s = 600;
    // payments (the voice story): Frank is on call by an override, and his call waits 10 minutes too
    o.teams.payments.escalation.P1.levels[0].deadline_s = 600;
    const frank = { person: 'frank', from: T_ALARM - 3600_000, to: T_ALARM + 3600_000 };
    o.schedules['payments-primary'].overrides = [
      { ...frank, from: new Date(frank.from).toISOString(), to: new Date(frank.to).toISOString() },
    ];
  });
  loop = await startClosedLoop({
    shards: 2,
    oncall,
    env: { PAGING_SEND_BUDGET_MS: '1000', PAGING_MAX_SEND_MS: '1500' },
  });
}, 60_000);
afterAll(async () => loop?.stop());

describe('crash matrix: the paging service SIGKILLed at every step boundary', () => {
  it('every policy step reaches the provider exactly once, and the lake shows each', async () => {
    const lake = loop.startMapping('lake');
    for (const s of DEMO_STORIES) {
      const res = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
        body: JSON.stringify(demoAlarmEvent(s, 'ALARM', T_ALARM, T_ALARM)),
      });
      expect(res.status).toBeLessThan(300);
    }
    // When every page owed so far went out before a boundary was reached, one more alarm (a new
    // episode of the P3 story: email bounces → failover to SMS → 2 pages, a failover record, a
    // deadline) gives every boundary a new occurrence.
    let extra = 0;
    const owed = () => EXPECTED.length + 2 * extra;
    const allSent = () => new Set(sends().map((r) => r.dispatchId)).size >= owed();
    const kills: string[] = [];
    let child: ChildRunner | undefined;
    for (const point of [...CRASH_POINTS, ...CRASH_POINTS]) {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (allSent()) {
          extra++;
          const at = Date.now();
          const res = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
            body: JSON.stringify(demoAlarmEvent(DEMO_STORIES[3], 'ALARM', at, at)),
          });
          expect(res.status).toBeLessThan(300);
        }
        child = loop.startChild('paging', { PAGETRAIL_CRASH_AT: point });
        const done = waitFor(allSent, 90_000, 'every page').then(
          () => 'done' as const,
          (err: Error) =>
            Promise.reject(
              new Error(
                `${err.message} (crashpoint ${point}; sent ${sends().map(label).sort().join(' ')}):\n` +
                  `${child!.output().slice(-3000)}`,
              ),
            ),
        );
        const ended = await Promise.race([child.exited, done]);
        if (ended === 'done') {
          await child.stop();
          continue; // the boundary did not come before everything was sent: once more with a new alarm
        }
        expect(ended.signal, child.output()).toBe('SIGKILL');
        kills.push(point);
        break;
      }
    }
    child = loop.startChild('paging');
    await waitFor(allSent, 90_000, 'every page after the last restart');
    // the stories run to their end with the last process alive, until the lake holds a dispatch
    // record for every page that reached the provider (a page settled after a crash gets its record
    // only once its settle wake-up ran)
    await loop.sim.idle();
    const lakeRows = () => loop.lake("SELECT event_id, kind FROM events WHERE kind IN ('dispatch', 'escalation')");
    await waitFor(
      async () => {
        const rows = await lakeRows();
        const have = new Set(rows.rows.filter((r) => r[1] === 'dispatch').map((r) => String(r[0])));
        return sends().every((r) => have.has(r.dispatchId!));
      },
      60_000,
      'a dispatch record in the lake for every page sent',
    );
    await child.stop();

    expect(new Set(kills)).toEqual(new Set(CRASH_POINTS));
    expect(kills.length).toBe(2 * CRASH_POINTS.length);
    const byDispatch = new Map<string, number>();
    for (const r of sends()) byDispatch.set(r.dispatchId!, (byDispatch.get(r.dispatchId!) ?? 0) + 1);
    const twice = [...byDispatch].filter(([, n]) => n > 1).map(([d]) => d);
    expect(
      twice,
      `pages sent twice (kills: ${kills.join(', ')}): ${JSON.stringify(
        sends()
          .filter((r) => twice.includes(r.dispatchId!))
          .map((r) => ({ to: r.recipient, at: r.receivedAt, id: r.id, api: r.api, replayed: r.replayed })),
      )}`,
    ).toEqual([]);
    expect(sends().map(label).sort()).toEqual(
      [...EXPECTED, ...Array.from({ length: extra }, () => ['erin:email', 'erin:sms']).flat()].sort(),
    );

    await lake.mapping.waitCaughtUp(30_000);
    const rows = await lakeRows();
    const dispatchRows = rows.rows.filter((r) => r[1] === 'dispatch').map((r) => String(r[0]));
    expect(new Set(dispatchRows).size, 'each dispatch once in events').toBe(dispatchRows.length);
    expect(new Set(dispatchRows)).toEqual(new Set(byDispatch.keys()));
    expect(rows.rows.some((r) => r[1] === 'escalation')).toBe(true);
  }, 240_000);
});
