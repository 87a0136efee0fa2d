import { until } from '../helpers/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { DEMO_STORIES, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';
import { readStream } from '../helpers/read-stream.js';
import type { Mapping } from '../helpers/closed-loop.js';

/**
 * The second route end to end on the real engines with the provider simulator (issue 21 item 3): the carrier takes
 * hank's SMS through Twilio and never delivers it (simulator behaviour `no_answer`); at its delivery deadline (8 s)
 * the page fails over on silence to the same channel by AWS End User Messaging (the SDK client against the
 * simulator's AWS JSON 1.0 endpoint), which delivers it (`aws:+15551230008`: `delivered`); its delivery events come
 * back as SNS Notifications signed with the simulator's own certificate, verified by the receiver, and land in the
 * lake beside the Twilio page, each row naming its route. Hank then answers the AWS-route SMS `ACK <code>`
 * (`aws:+15551230008`: `delivered`, `reply_ack`): the origination number's two-way channel publishes the inbound
 * SMS to its SNS topic, delivered signed to `/webhooks/aws-sms-voice/inbound`; it becomes one ack (sms_reply),
 * taken by the paging processor, and no page follows it.
 */
let loop: ClosedLoop;
const STORY = DEMO_STORIES.find((s) => s.alarmName === 'orders-db-replica-lag')!;
const T_ALARM = Date.now();
const INCIDENT = demoIncidentId(STORY, T_ALARM);
const HANK = '+15551230008';

/** `until` (test/helpers/clock.ts), polling every 100 ms. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 45_000) =>
  until(what, probe, ms, 100);

const lake = (sql: string) => loop.lake(sql);

let paging: Mapping;

beforeAll(async () => {
  loop = await startClosedLoop({ shards: 1, secondRoute: true });
  // the AWS route delivers hank's SMS, and hank answers it (the demo's script stops at delivered)
  loop.sim.setBehaviour(`aws:${HANK}`, ['delivered', 'reply_ack']);
  loop.startMapping('lake');
  paging = loop.startMapping('paging');
}, 60_000);

const stream = async () =>
  (await readStream(loop.stack.clients.kinesis, loop.stack.config.STREAM_NAME)).flatMap((e) =>
    e.record && e.record.incident_id === INCIDENT ? [e.record] : [],
  );

afterAll(async () => loop?.stop());

describe('Twilio accepts and never delivers: silence → the AWS route → delivered', () => {
  it('silence → SMS by AWS End User Messaging, its verified events in the lake; a reply ACK acks', async () => {
    const res = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
      body: JSON.stringify(demoAlarmEvent(STORY, 'ALARM', T_ALARM, T_ALARM)),
    });
    expect(res.status).toBe(200);

    const twilio = await waitFor('the SMS by Twilio', () =>
      loop.sim.requests().find((r) => r.api === 'twilio' && r.method === 'POST' && r.recipient === HANK),
    );
    const aws = await waitFor('the SMS by AWS', () =>
      loop.sim.requests().find((r) => r.api === 'aws' && r.recipient === HANK && r.status === 200),
    );
    // not before the delivery deadline (8 s after the Twilio page was sent)
    expect(aws.receivedAt - twilio.receivedAt).toBeGreaterThanOrEqual(7_000);
    expect(loop.sim.requests().filter((r) => r.api === 'aws')).toHaveLength(1);

    // the SNS deliveries of its events: verified and taken (200), TEXT_SUCCESSFUL then TEXT_DELIVERED
    const sns = await waitFor('the delivered event accepted', () => {
      const cbs = loop.sim.callbacks().filter((c) => c.kind === 'aws.sns' && c.messageId === aws.id);
      return cbs.some((c) => c.event === 'TEXT_DELIVERED') ? cbs : undefined;
    });
    expect(sns.map((c) => `${c.event}:${c.status}`)).toEqual(['TEXT_SUCCESSFUL:200', 'TEXT_DELIVERED:200']);

    const rows = await waitFor(
      'the lake rows',
      async () => {
        const r = await lake(
          'SELECT kind, route, provider, status, reason, channel, detail FROM events ' +
            `WHERE incident_id = '${INCIDENT}' ` +
            `AND kind IN ('dispatch', 'receipt', 'escalation') ORDER BY timestamp, kind`,
        );
        const delivered = r.rows.some((x) => x[0] === 'receipt' && x[1] === 'aws' && x[3] === 'delivered');
        return delivered ? r.rows : undefined;
      },
      60_000,
    );
    const summary = rows.map((r) => `${r[0]}:${r[1] ?? '-'}:${r[3]}`);
    expect(summary).toContain('dispatch:twilio:sent');
    expect(summary).toContain('dispatch:aws:sent');
    expect(summary).toContain('receipt:twilio:sent'); // what Twilio ever said: sent, never delivered
    expect(summary).toContain('receipt:aws:delivered');
    const dispatch = rows.find((r) => r[0] === 'dispatch' && r[1] === 'aws')!;
    expect(JSON.parse(String(dispatch[6]))).toMatchObject({ rerouted: { from: 'twilio', cause: 'no_receipt' } });
    const failover = rows.find((r) => r[0] === 'escalation')!;
    expect(failover[4]).toBe('failover');
    expect(JSON.parse(String(failover[6]))).toMatchObject({ cause: 'no_receipt', to_route: 'aws' });

    // hank answers the AWS-route SMS: an inbound SMS by SNS, verified and taken (200) → one ack of the incident
    const reply = await waitFor('the inbound ACK accepted', () =>
      loop.sim.callbacks().find((c) => c.kind === 'aws.sns' && c.event === 'INBOUND_SMS' && c.status !== undefined),
    );
    expect(reply.status).toBe(200);
    const acks = await waitFor('the ack on the stream', async () => {
      const a = (await stream()).filter((r) => r.kind === 'ack');
      return a.length ? a : undefined;
    });
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ via: 'sms_reply', channel: 'sms', recipient: HANK, person: 'hank' });
    // the paging processor takes the ack (that an acked level does not escalate at its deadline is the engine's
    // rule, tested with a controlled clock in test/paging/; waiting here for the demo's 60 s deadline adds nothing)
    await paging.mapping.waitCaughtUp();
    const after = await stream();
    expect(after.filter((r) => r.kind === 'escalation').map((r) => r.kind === 'escalation' && r.reason)).toEqual([
      'failover',
    ]);
    // no page after the ack: the Twilio SMS and the AWS one only
    expect(loop.sim.requests().filter((r) => r.method === 'POST' && r.recipient === HANK)).toHaveLength(2);
  }, 180_000);
});
