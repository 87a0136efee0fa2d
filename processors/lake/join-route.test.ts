import { describe, expect, it } from 'vitest';
import { EventJoin } from './join.js';
import { ALARM_ARN, INCIDENT, T0, alarmEvent, decoded, dispatch, receipt } from '../../test/fixtures/records.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';

/**
 * The lake's `route` column (issue 21 item 3): which route carried each page — `twilio`, `aws` (AWS End User
 * Messaging, the second route), `resend` — on its dispatch row and on the rows joined to it; the dispatch's
 * `rerouted` (why the second route) in its `detail`; a failover to the other route's `to_route` in the escalation's.
 */
const meta = (i: number) => ({
  shardId: 'shardId-000000000000',
  sequenceNumber: String(2000 + i),
  arrivalTime: T0 + i,
});

function rows(records: StreamRecordIn[]) {
  const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000 });
  records.forEach((r, i) => {
    join.push(decoded(r), meta(i));
  });
  return join.drain();
}

describe('route in the lake', () => {
  it('a Twilio page and the AWS page after it: each row names its route, the AWS one why', () => {
    const out = rows([
      alarmEvent(),
      dispatch('SM1', T0 + 1000, { route: 'twilio' }),
      {
        v: 1,
        kind: 'escalation',
        event_id: 'evt_failover_route_0001',
        incident_id: INCIDENT,
        alarm_arn: ALARM_ARN,
        event_time: new Date(T0 + 91_000).toISOString(),
        reason: 'failover',
        from_level: 1,
        to_level: 1,
        from_channel: 'sms',
        to_channel: 'sms',
        message_id: 'SM1',
        person: 'alice',
        cause: 'no_receipt',
        silence_ms: 90_000,
        to_route: 'aws',
      },
      dispatch('aws-0001', T0 + 91_500, {
        provider: 'aws',
        route: 'aws',
        rerouted: { from: 'twilio', cause: 'no_receipt' },
      }),
      receipt('aws-0001', 'delivered', T0 + 93_000, { provider: 'aws', provider_status: 'TEXT_DELIVERED' }),
    ]);
    const by = (kind: string, id: string) => out.find((r) => r.kind === kind && r.message_id === id)!;
    expect(by('dispatch', 'SM1')).toMatchObject({ route: 'twilio', provider: 'twilio' });
    expect(by('escalation', 'SM1')).toMatchObject({ route: 'twilio' });
    expect(JSON.parse(by('escalation', 'SM1').detail!)).toEqual({
      cause: 'no_receipt',
      silence_ms: 90_000,
      to_route: 'aws',
    });
    const aws = by('dispatch', 'aws-0001');
    expect(aws).toMatchObject({ route: 'aws', provider: 'aws' });
    expect(JSON.parse(aws.detail!)).toEqual({ rerouted: { from: 'twilio', cause: 'no_receipt' } });
    expect(by('receipt', 'aws-0001')).toMatchObject({ route: 'aws', status: 'delivered', join_status: 'matched' });
  });

  it('a dispatch written before routes were recorded reads its provider as its route', () => {
    const out = rows([dispatch('SM9', T0 + 1000), receipt('SM9', 'delivered', T0 + 2000)]);
    expect(out.map((r) => `${r.kind}:${r.route}`)).toEqual(['dispatch:twilio', 'receipt:twilio']);
  });
});
