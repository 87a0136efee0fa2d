import { describe, expect, it } from 'vitest';
import { eventId } from '../../schemas/ids.js';
import { PAGE, TEST_ENV, testApp } from './testing.js';

const post = (app: ReturnType<typeof testApp>['app'], body: unknown, key: string | null = TEST_ENV.API_KEY) =>
  app.request('/api/v1/ingest/events', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-api-key': key }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const event = (over: Record<string, unknown> = {}) => ({
  incident_id: PAGE.incidentId,
  alarm_arn: PAGE.alarmArn,
  channel: 'voice',
  status: 'delivered',
  timestamp: '2026-11-28T10:00:06Z',
  recipient: '+15551230001',
  message_id: 'CA0123456789abcdef',
  ...over,
});

describe('POST /api/v1/ingest/events', () => {
  it('one event → one receipt record, derived event_id, normalized timestamp', async () => {
    const { app, producer } = testApp();
    const res = await post(app, event());
    expect(res.status).toBe(200);
    const id = eventId(
      'receipt',
      'external',
      PAGE.incidentId,
      'CA0123456789abcdef',
      'delivered',
      '2026-11-28T10:00:06.000Z',
    );
    expect(await res.json()).toEqual({ written: 1, event_ids: [id] });
    expect(producer.records).toEqual([
      {
        v: 1,
        kind: 'receipt',
        event_id: id,
        incident_id: PAGE.incidentId,
        alarm_arn: PAGE.alarmArn,
        event_time: '2026-11-28T10:00:06.000Z',
        provider: 'external',
        channel: 'voice',
        message_id: 'CA0123456789abcdef',
        status: 'delivered',
        provider_status: 'delivered',
        recipient: '+15551230001',
        raw: JSON.stringify(event()),
      },
    ]);
  });

  it('keeps a given event_id and provider_status; without message_id the event id stands in', async () => {
    const { app, producer } = testApp();
    await post(app, [
      event({ event_id: 'evt_from_the_caller_1', provider_status: 'ANSWERED' }),
      event({ message_id: undefined }),
    ]);
    const [a, b] = producer.records as { event_id: string; message_id: string; provider_status: string }[];
    expect(a.event_id).toBe('evt_from_the_caller_1');
    expect(a.provider_status).toBe('ANSWERED');
    expect(b.event_id).toBe(
      eventId('receipt', 'external', PAGE.incidentId, '+15551230001', 'delivered', '2026-11-28T10:00:06.000Z'),
    );
    expect(b.message_id).toBe(b.event_id);
  });

  it('the same event twice yields the same event_id (whatever the timestamp spelling)', async () => {
    const { app, producer } = testApp();
    await post(app, event());
    await post(app, event({ timestamp: '2026-11-28T10:00:06.000+00:00' }));
    const ids = producer.records.map((r) => (r as { event_id: string }).event_id);
    expect(ids[0]).toBe(ids[1]);
  });

  it('400 with the path of every failing field per record; nothing written (all-or-nothing)', async () => {
    const { app, producer, errorSink } = testApp();
    const res = await post(app, [
      event(),
      event({ status: 'seen', channel: 'pigeon' }),
      event({ timestamp: 'soon', alarm_arn: 'nope', recipent: 'typo' }),
    ]);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { path: string; issues: { index: number; path: string }[] };
    expect(json.path).toBe('1.channel');
    expect(json.issues.map((i) => `${i.index}:${i.path}`).sort()).toEqual([
      '1:channel',
      '1:status',
      '2:alarm_arn',
      '2:recipent',
      '2:timestamp',
    ]);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(1);
  });

  it('400 for a single bad object (path without index), for non-JSON and for an empty array', async () => {
    const { app, producer } = testApp();
    const res = await post(app, event({ provider: 'twilio' }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { path: string }).path).toBe('provider');
    expect((await post(app, 'nope')).status).toBe(400);
    expect((await post(app, [])).status).toBe(400);
    expect(producer.calls).toHaveLength(0);
  });

  it('401 without or with a wrong API key; nothing written', async () => {
    const { app, producer, errorSink } = testApp();
    expect((await post(app, event(), null)).status).toBe(401);
    expect((await post(app, event(), 'wrong-key-wrong-key-wrong')).status).toBe(401);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(0);
  });

  it('503 when the stream write fails; 413 above the limit', async () => {
    const t = testApp();
    t.producer.failWith = new Error('kinesis down');
    expect((await post(t.app, event())).status).toBe(503);
    const big = Array.from({ length: 30 }, () => event());
    expect((await post(testApp().app, big)).status).toBe(413);
  });
});
