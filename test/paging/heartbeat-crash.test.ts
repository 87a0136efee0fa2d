import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOnCall, startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { until } from '../helpers/clock.js';
import { readStream } from '../helpers/read-stream.js';
import { heartbeatToken } from '../../shared/heartbeat-token.js';

/**
 * The crash matrix's heartbeat part: the paging service, a real child process, SIGKILLed at the heartbeat's own
 * boundary (its deadline scheduled, the check's state not yet written) and at the missed deadline's decision (the
 * incident with its pages' claims written, nothing sent), restarted each time. The check (3 s period, 1 s grace, team
 * db P1: bob by sms and email) misses once: one incident, each page reaches the provider simulator exactly once, and
 * the next check-in resolves it.
 */
const CHECK = 'crash-backup';
const ARN = `arn:pagetrail:heartbeat:::${CHECK}`;
let loop: ClosedLoop;

beforeAll(async () => {
  const oncall = demoOnCall((o) => {
    o.heartbeats = { [CHECK]: { period_s: 3, grace_s: 1, team: 'db', severity: 'P1', name: 'Crash backup' } };
    // db P1's first level waits 8 s in the demo; three paging starts on a loaded machine take longer than that, and
    // this test is about the kills, not about escalating past a level (late-restart.test.ts): give it a minute
    o.teams.db.escalation.P1.levels[0].deadline_s = 60;
  });
  loop = await startClosedLoop({ shards: 1, oncall });
}, 60_000);
afterAll(async () => loop?.stop());

type Rec = {
  kind: string;
  event_id: string;
  incident_id: string;
  alarm_arn: string;
  state?: string;
  restates?: string;
};
const records = async () =>
  (await readStream(loop.stack.clients.kinesis, loop.stack.config.STREAM_NAME))
    .map((e) => e.record as Rec | undefined)
    .filter((r): r is Rec => r !== undefined && r.alarm_arn === ARN);
const sends = () =>
  loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId && r.status < 300 && !r.replayed);
const checkIn = async () => {
  const res = await fetch(`${loop.receiverUrl}/heartbeat/${heartbeatToken(SECRETS.heartbeatSecret, CHECK)}`);
  expect(res.status).toBe(200);
};

describe('crash matrix: a heartbeat check', () => {
  it('killed after arming and after the missed decision: one incident, each page once, resolved', async () => {
    await checkIn();
    for (const point of ['heartbeat-after-armed', 'after-decision']) {
      const child = loop.startChild('paging', { PAGETRAIL_CRASH_AT: point });
      const ended = await child.exited;
      expect(ended.signal, `${point}: ${child.output().slice(-2000)}`).toBe('SIGKILL');
    }
    const child = loop.startChild('paging');
    try {
      await until('both pages sent', async () => (sends().length >= 2 ? true : undefined), 60_000, 100);
      const opened = (await records()).filter((r) => r.restates !== undefined && r.state === 'ALARM');
      expect(opened).toHaveLength(1);
      const incident = opened[0].incident_id;
      await checkIn();
      await until(
        'resolved by the check-in',
        async () => (await records()).find((r) => r.incident_id === incident && r.state === 'OK' && r.restates),
        30_000,
        100,
      );
      await child.stop();
      await loop.sim.idle();
      // the incident's own pages (on a slow machine the check-in's deadline, 4 s on, may fall before the child
      // stops: that is a new miss, a new incident, not a second page of this one)
      const all = await records();
      const ours = new Set(
        all.filter((r) => r.kind === 'dispatch' && r.incident_id === incident).map((r) => r.event_id),
      );
      const pages = sends().filter((r) => ours.has(r.dispatchId!));
      const byDispatch = new Map<string, number>();
      for (const r of pages) byDispatch.set(r.dispatchId!, (byDispatch.get(r.dispatchId!) ?? 0) + 1);
      expect([...byDispatch.values()], JSON.stringify([...byDispatch])).toEqual([1, 1]);
      expect(pages.map((r) => r.recipient).sort()).toEqual(['+15551230002', 'bob@example.com']);
      // one incident for the miss, opened once, whatever the crashes
      const openings = all.filter((r) => r.restates !== undefined && r.state === 'ALARM');
      expect(openings.filter((r) => r.incident_id === incident)).toHaveLength(1);
    } finally {
      await child.stop();
    }
  }, 120_000);
});
