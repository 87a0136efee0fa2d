import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOnCall, startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { until } from '../helpers/clock.js';
import { DEMO_STORIES, demoAlarmEvent } from '../../infra/local/demo-alarms.js';

/**
 * The paging service SIGKILLed right after a new incident's decision (its level-1 pages claimed, none sent) and kept
 * down until level 1's deadline has passed: on restart the claimed pages still go out, each exactly once, and only
 * then does the incident escalate to level 2 (each of its pages once too). A level is a step of the policy: a crash
 * or an outage that outlasts it makes it late, never skipped. Demo story "bob never opens it" (team db, P1: bob by
 * SMS and email, then carol by WhatsApp and SMS), with level 1 shortened to 2 s.
 */
const STORY = DEMO_STORIES.find((s) => s.alarmName === 'billing-db-connections')!;
const BOB = ['+15551230002', 'bob@example.com'];
const CAROL = ['+15551230003', 'whatsapp:+15551230003'];
let loop: ClosedLoop;

beforeAll(async () => {
  const oncall = demoOnCall((o) => {
    o.teams.db.escalation.P1.levels[0].deadline_s = 2;
    o.teams.db.escalation.P1.levels[1].deadline_s = 600;
  });
  loop = await startClosedLoop({ shards: 1, oncall });
}, 60_000);
afterAll(async () => loop?.stop());

const sends = () => loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId && r.status < 300);

describe('crash matrix: down past a level deadline', () => {
  it("killed after the decision and restarted after level 1's deadline: level 1 pages once, then level 2", async () => {
    const crashed = loop.startChild('paging', { PAGETRAIL_CRASH_AT: 'after-decision' });
    const at = Date.now();
    const alarm = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
      body: JSON.stringify(demoAlarmEvent(STORY, 'ALARM', at, at)),
    });
    expect(alarm.status).toBe(200);
    const ended = await crashed.exited;
    expect(ended.signal, crashed.output().slice(-2000)).toBe('SIGKILL');
    expect(sends()).toEqual([]);
    // down until level 1's deadline (2 s after the decision) is well past
    await until('level 1 deadline passed', () => (Date.now() > at + 4000 ? true : undefined), 10_000, 50);
    const child = loop.startChild('paging');
    try {
      await until(
        'level 2 paged',
        () => (sends().filter((r) => CAROL.includes(r.recipient!)).length >= 2 ? true : undefined),
        60_000,
        100,
      );
      await child.stop();
      await loop.sim.idle();
      const all = sends();
      const count = new Map<string, number>();
      for (const r of all) count.set(r.recipient!, (count.get(r.recipient!) ?? 0) + 1);
      expect(Object.fromEntries(count), JSON.stringify(all.map((r) => r.recipient))).toEqual(
        Object.fromEntries([...BOB, ...CAROL].map((to) => [to, 1])),
      );
      const lastBob = Math.max(...all.filter((r) => BOB.includes(r.recipient!)).map((r) => all.indexOf(r)));
      const firstCarol = Math.min(...all.filter((r) => CAROL.includes(r.recipient!)).map((r) => all.indexOf(r)));
      expect(lastBob).toBeLessThan(firstCarol);
    } finally {
      await child.stop();
    }
  }, 120_000);
});
