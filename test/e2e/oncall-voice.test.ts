import { until } from '../helpers/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOnCall, startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { DEMO_STORIES, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';

/**
 * On-call as teams run it, end to end on the real engines with the provider simulator: the payments
 * P1 (infra/local/oncall/demo.json) pages `schedule:payments-primary` by voice. An override puts Frank
 * on call now (the weekly rotation alone would name Frank or Grace, by week). Frank's phone answers
 * and he presses 1 (simulator behaviour `answer_ack`): the call's status callbacks and the key press
 * are verified and written by the receiver, the ack stops the escalation, and the team (Grace, via
 * `notify.also`) is told of the ack by SMS. The lake holds every fact: the call's dispatch with who
 * resolved Frank (the schedule's override), the call's receipts, the ack, and the notice.
 */
let loop: ClosedLoop;
const STORY = DEMO_STORIES.find((s) => s.team === 'payments')!;
const T_ALARM = Date.now();
const INCIDENT = demoIncidentId(STORY, T_ALARM);
const FRANK_VOICE = '+15551230016';
const GRACE_SMS = '+15551230007';

/** `until` (test/helpers/clock.ts), polling every 100 ms. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 45_000) =>
  until(what, probe, ms, 100);

const lake = (sql: string) => loop.lake(sql);

beforeAll(async () => {
  const oncall = demoOnCall((o) => {
    const [from, to] = [T_ALARM - 3600_000, T_ALARM + 3600_000].map((t) => new Date(t).toISOString());
    o.schedules['payments-primary'].overrides = [{ person: 'frank', from, to }];
  });
  loop = await startClosedLoop({ shards: 1, oncall });
  loop.startMapping('lake');
  loop.startMapping('paging');
}, 60_000);

afterAll(async () => loop?.stop());

describe('a schedule-resolved P1 answered by voice and acknowledged by key press', () => {
  it('calls the override, takes the key press as the ack, tells the team, and the lake shows why', async () => {
    const res = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
      body: JSON.stringify(demoAlarmEvent(STORY, 'ALARM', T_ALARM, T_ALARM)),
    });
    expect(res.status).toBe(200);

    // the call goes to the override (Frank), not to this week's rotation; he presses 1
    const call = await waitFor('the call to frank', () =>
      loop.sim
        .requests()
        .find((r) => r.path.endsWith('/Calls.json') && r.method === 'POST' && r.recipient === FRANK_VOICE),
    );
    expect(call.status).toBe(201);
    const gather = await waitFor('the key press', () =>
      loop.sim.callbacks().find((c) => c.kind === 'twilio.gather' && c.params?.Digits === '1'),
    );
    expect(gather.status).toBe(200);

    // the team is told: Grace, never paged, gets an SMS notice naming Frank; Frank gets none
    const notice = await waitFor('the ack notice to grace', () =>
      loop.sim
        .requests()
        .find(
          (r) =>
            r.method === 'POST' && r.recipient === GRACE_SMS && r.params?.Body?.includes('acknowledged by Frank Li'),
        ),
    );
    expect(notice.params!.Body).toMatch(/^\[P1\] payments-api-cpu-high acknowledged by Frank Li\. No action needed\./);
    const sent = loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId);
    // no escalation to level 2, nothing twice
    expect(sent.map((r) => r.recipient).sort()).toEqual([GRACE_SMS, FRANK_VOICE]);

    // the lake: the call's dispatch says why Frank (the schedule's override), its receipts, the ack, the notice
    const rows = await waitFor('the incident in the lake', async () => {
      const r = await lake(
        `SELECT kind, channel, person, status, reason, detail FROM events ` +
          `WHERE incident_id = '${INCIDENT}' ORDER BY "timestamp"`,
      );
      const kinds = r.rows.map((x) => `${x[0]}:${x[1]}`);
      return kinds.includes('ack:voice') && kinds.filter((k) => k === 'dispatch:sms').length === 1 ? r.rows : undefined;
    });
    const dispatches = rows.filter((r) => r[0] === 'dispatch');
    const callRow = dispatches.find((r) => r[1] === 'voice')!;
    expect(callRow[2]).toBe('frank');
    expect(JSON.parse(String(callRow[5]))).toMatchObject({
      resolved_by: { schedule: 'payments-primary', source: 'override', override: true },
    });
    const noticeRow = dispatches.find((r) => r[1] === 'sms')!;
    expect(noticeRow[2]).toBe('grace');
    expect(JSON.parse(String(noticeRow[5]))).toMatchObject({ notice: 'ack' });
    // answered by a human
    expect(rows.filter((r) => r[0] === 'receipt' && r[1] === 'voice').map((r) => r[3])).toContain('opened');
    expect(rows.find((r) => r[0] === 'ack')?.[1]).toBe('voice');
    expect(rows.some((r) => r[0] === 'escalation')).toBe(false);
  }, 90_000);
});
