import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOnCall, startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { until } from '../helpers/clock.js';
import { readStream } from '../helpers/read-stream.js';
import { DEMO_STORIES, demoAlarmEvent, demoIncidentId, demoAlarmArn } from '../../infra/local/demo-alarms.js';
import { encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';

/**
 * The crash matrix's escalate-by-hand part: the paging service, a real child process, SIGKILLed at the decision of an
 * escalate record (carol's pages claimed with it, nothing sent) and after the first of its sends, restarted each time.
 * Carol's two pages reach the provider simulator exactly once each and the `manual` escalation record is on the
 * stream once. The demo's on-call file with bob's level waiting 10 minutes, so only the escalate by hand moves it.
 */
const BILLING = DEMO_STORIES[1];
let loop: ClosedLoop;

beforeAll(async () => {
  const oncall = demoOnCall((o) => (o.teams.db.escalation.P1.levels[0].deadline_s = 600));
  loop = await startClosedLoop({ shards: 1, oncall });
}, 60_000);
afterAll(async () => loop?.stop());

const sends = () =>
  loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId && r.status < 300 && !r.replayed);

describe('crash matrix: an escalate by hand', () => {
  it('killed at its decision and after its first send: each of its pages once, its record once', async () => {
    const t = Date.now();
    const incident = demoIncidentId(BILLING, t);
    const res = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
      body: JSON.stringify(demoAlarmEvent(BILLING, 'ALARM', t, t)),
    });
    expect(res.status).toBeLessThan(300);
    let child = loop.startChild('paging');
    await until('bob paged', () => (sends().length >= 2 ? true : undefined), 60_000, 100);
    await child.stop();
    // the record POST /api/v1/incidents/{id}/escalate writes (producers/receiver/api/actions.ts)
    const record: StreamRecordIn = {
      v: 1,
      kind: 'action',
      event_id: eventId('action', 'escalate', incident, 'carol', 'r0', 'L1'),
      incident_id: incident,
      alarm_arn: demoAlarmArn(BILLING.alarmName),
      event_time: new Date().toISOString(),
      action: 'escalate',
      via: 'api',
      person: 'carol',
      round: 0,
      from_level: 1,
    };
    const { clients, config } = loop.stack;
    await clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: config.STREAM_NAME,
        Records: [{ Data: encodeRecord(record), PartitionKey: partitionKeyOf(record) }],
      }),
    );
    for (const point of ['after-decision', 'after-send']) {
      child = loop.startChild('paging', { PAGETRAIL_CRASH_AT: point });
      const ended = await child.exited;
      expect(ended.signal, `${point}: ${child.output().slice(-2000)}`).toBe('SIGKILL');
    }
    child = loop.startChild('paging');
    try {
      await until('carol paged', () => (sends().length >= 4 ? true : undefined), 60_000, 100);
      const manual = async () =>
        (await readStream(clients.kinesis, config.STREAM_NAME))
          .map((e) => e.record as { kind?: string; reason?: string; incident_id?: string } | undefined)
          .filter((r) => r?.kind === 'escalation' && r.incident_id === incident);
      await until('the escalation record', async () => ((await manual()).length > 0 ? true : undefined), 30_000, 100);
      await child.stop();
      await loop.sim.idle();
      const byDispatch = new Map<string, number>();
      for (const r of sends()) byDispatch.set(r.dispatchId!, (byDispatch.get(r.dispatchId!) ?? 0) + 1);
      expect([...byDispatch.values()], JSON.stringify([...byDispatch])).toEqual([1, 1, 1, 1]);
      expect(sends().filter((r) => r.recipient?.includes('0003'))).toHaveLength(2); // carol: whatsapp and sms
      expect((await manual()).map((r) => r?.reason)).toEqual(['manual']);
    } finally {
      await child.stop();
    }
  }, 150_000);
});
