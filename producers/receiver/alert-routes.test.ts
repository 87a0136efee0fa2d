import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StreamRecord } from '../../schemas/envelope.js';
import { partitionKeyOf } from '../../schemas/envelope.js';
import { testApp } from './testing.js';
import { presentedToken } from './alert-routes.js';

/**
 * POST /events/alertmanager and POST /v2/enqueue (alert-routes.ts) against the sources' own examples
 * (schemas/fixtures/README.md): Alertmanager's webhook test payload and template test data, PagerDuty's Events API v2
 * request examples and its success and error bodies.
 */
const TOKEN = 'am-token-0123456789abcdef';
const OLD_TOKEN = 'am-token-old-0123456789ab';
const ROUTING_KEY = 'e93facc04764012d7bfb002500d5d1a6';
const NOW = Date.parse('2026-12-07T22:00:00.000Z');

const text = (name: string) => readFileSync(new URL(`../../schemas/fixtures/${name}`, import.meta.url), 'utf8');
const json = (name: string): any => JSON.parse(text(name));

function harness(now = () => NOW) {
  return testApp({
    config: {
      ALERTMANAGER_TOKENS: [TOKEN, OLD_TOKEN],
      EVENTS_V2_ROUTING_KEYS: { [ROUTING_KEY]: 'db', routingkeyhere: 'checkout-api', samplekeyhere: 'app' },
      BODY_LIMIT_BYTES: 256 * 1024,
    },
    now,
  });
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const am = (h: ReturnType<typeof harness>, body: string, authorization?: string) =>
  h.app.request('/events/alertmanager', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body,
  });
const enqueue = (h: ReturnType<typeof harness>, body: unknown) =>
  h.app.request('/v2/enqueue', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /events/alertmanager', () => {
  it("Alertmanager's webhook test payload (TestWebhookDefaultPayload) → one resolved alarm record", async () => {
    const h = harness();
    const body = text('alertmanager-webhook-v4.json');
    const res = await am(h, body, `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    const [written] = h.producer.records;
    const r = StreamRecord.parse(written);
    if (r.kind !== 'alarm' || r.source !== 'alertmanager') throw new Error('not an alertmanager alarm');
    expect(r).toMatchObject({
      alarm_arn: 'arn:pagetrail:alertmanager:::test_receiver/{}:{alertname="test1"}',
      key: 'test_receiver/{}:{alertname="test1"}',
      alarm_name: 'TestAlert',
      state: 'OK',
      reason: 'Test summary',
      firing: 0,
      truncated: 0,
      event_time: NOW,
      labels: { alertname: 'TestAlert' },
      members: [
        {
          fingerprint: 'dab43189276e5f48',
          status: 'resolved',
          name: 'TestAlert',
          starts_at: Date.parse('2020-01-01T00:00:00Z'),
          ends_at: Date.parse('2020-01-01T01:00:00Z'),
        },
      ],
    });
    expect(r.raw).toBe(body); // the payload as received: the lake's evidence
    expect(partitionKeyOf(written)).toBe(r.alarm_arn);
    expect(await res.json()).toEqual({ event_id: r.event_id, alarm: 'TestAlert', state: 'OK', firing: 0 });
  });

  it("Alertmanager's template test data: a group with one alert firing and one resolved is ALARM", async () => {
    const h = harness();
    expect((await am(h, text('alertmanager-template-data.json'), `Bearer ${TOKEN}`)).status).toBe(200);
    const r = StreamRecord.parse(h.producer.records[0]);
    if (r.kind !== 'alarm' || r.source !== 'alertmanager') throw new Error('not an alertmanager alarm');
    expect(r).toMatchObject({ state: 'ALARM', firing: 1, alarm_name: '{}:{job="foo"}', labels: { job: 'foo' } });
    // the firing one's endsAt is Go's zero time: not kept; the resolved one's is
    expect(r.members?.map((m) => [m.fingerprint, m.status, m.ends_at])).toEqual([
      ['3b15fd163d36582e', 'resolved', Date.parse('2026-11-28T10:05:00Z')],
      ['9266ef3da838ad95', 'firing', undefined],
    ]);
  });

  it('the same notification again is the same event (a retry or a repeat); a changed group is another', async () => {
    let now = NOW;
    const h = harness(() => now);
    const body = text('alertmanager-group-firing.json');
    await am(h, body, `Bearer ${TOKEN}`);
    now += 60_000;
    await am(h, body, `Bearer ${TOKEN}`);
    await am(h, text('alertmanager-group-partial.json'), `Bearer ${TOKEN}`);
    const [a, b, c] = h.producer.records.map((x) => StreamRecord.parse(x));
    expect(b.event_id).toBe(a.event_id);
    expect(b.incident_id).not.toBe(a.incident_id); // provisional: the paging handler puts both on one incident
    expect(c.event_id).not.toBe(a.event_id);
    expect(new Set([a.alarm_arn, b.alarm_arn, c.alarm_arn]).size).toBe(1);
  });

  it.each([
    ['no Authorization', undefined, 401],
    ['a wrong bearer token', 'Bearer wrong-token-0123456789', 401],
    ['the token under another scheme', `Token ${TOKEN}`, 401],
    ['Basic auth with a wrong password', basic('alertmanager', 'nope-0123456789abcdef'), 401],
    ['Basic auth without a colon', `Basic ${Buffer.from(TOKEN).toString('base64')}`, 401],
    ['a bearer token with a trailing character', `Bearer ${TOKEN}x`, 401],
    ['the bearer token', `Bearer ${TOKEN}`, 200],
    ['the previous token (rotation)', `Bearer ${OLD_TOKEN}`, 200],
    ['bearer, scheme in lower case', `bearer ${TOKEN}`, 200],
    ["Basic auth whose password is the token (http_config's basic_auth)", basic('alertmanager', TOKEN), 200],
  ])('%s → %i; nothing written or kept unless 200', async (_name, authorization, status) => {
    const h = harness();
    const res = await am(h, text('alertmanager-group-firing.json'), authorization);
    expect(res.status).toBe(status);
    expect(h.producer.records).toHaveLength(status === 200 ? 1 : 0);
    expect(h.errorSink.calls).toHaveLength(0);
  });

  it('with ALERTMANAGER_TOKENS unset, every request is 401', async () => {
    const h = testApp({ now: () => NOW });
    expect((await am(h, text('alertmanager-group-firing.json'), `Bearer ${TOKEN}`)).status).toBe(401);
    expect(h.producer.records).toHaveLength(0);
  });

  it.each([
    ['another version', (m: any) => Object.assign(m, { version: '3' })],
    ['no alerts', (m: any) => Object.assign(m, { alerts: [] })],
    ['an alert without a fingerprint', (m: any) => delete m.alerts[0].fingerprint],
    ['a status Alertmanager never sends', (m: any) => Object.assign(m, { status: 'pending' })],
    ['an array of notifications', (m: any) => [m]],
  ])('%s → 400, kept in the error sink, nothing written', async (_name, edit) => {
    const h = harness();
    const m = json('alertmanager-group-firing.json');
    const body = edit(m);
    const res = await am(h, JSON.stringify(Array.isArray(body) ? body : m), `Bearer ${TOKEN}`);
    expect(res.status).toBe(400);
    expect(h.producer.records).toHaveLength(0);
    expect(h.errorSink.calls).toHaveLength(1);
  });

  it('503 when the stream does not take it (Alertmanager retries 5xx)', async () => {
    const h = harness();
    h.producer.failWith = new Error('stream down');
    expect((await am(h, text('alertmanager-group-firing.json'), `Bearer ${TOKEN}`)).status).toBe(503);
  });

  it('reads the token of both http_config forms', () => {
    expect(presentedToken(`Bearer  ${TOKEN} `)).toBe(TOKEN);
    expect(presentedToken(basic('u', 'p:with:colons'))).toBe('p:with:colons');
    expect(presentedToken('Digest abc')).toBeUndefined();
    expect(presentedToken('Bearer')).toBeUndefined();
  });
});

describe('POST /v2/enqueue', () => {
  it("PagerDuty's trigger example → 202 with PagerDuty's success body; the routing key is not written", async () => {
    const h = harness();
    const res = await enqueue(h, json('events-v2-trigger.json'));
    expect(res.status).toBe(202);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(Object.keys(json('events-v2-response-success.json')));
    expect(body).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'srv01/mysql' });
    const r = StreamRecord.parse(h.producer.records[0]);
    if (r.kind !== 'alarm' || r.source !== 'events-v2') throw new Error('not an events-v2 alarm');
    expect(r).toMatchObject({
      alarm_arn: 'arn:pagetrail:events-v2:::db/srv01/mysql',
      service: 'db',
      state: 'ALARM',
      alarm_name: 'DISK at 99% on machine prod-datapipe03.example.com',
      labels: { severity: 'critical', component: 'mysql', group: 'prod-datapipe', class: 'disk' },
    });
    expect(JSON.stringify(h.producer.records)).not.toContain(ROUTING_KEY);
    expect(JSON.parse(r.raw!).payload.custom_details).toEqual({
      'free space': '1%',
      'ping time': '1500ms',
      'load avg': 0.75,
    });
  });

  it('a trigger without a dedup_key gets one, returned, the same for a retry of the same event', async () => {
    const h = harness();
    type Ok = { dedup_key: string };
    const first = (await (await enqueue(h, json('events-v2-trigger-no-dedup-key.json'))).json()) as Ok;
    const retry = (await (await enqueue(h, json('events-v2-trigger-no-dedup-key.json'))).json()) as Ok;
    expect(first).toMatchObject({ status: 'success', message: 'Event processed' });
    expect(first.dedup_key).toMatch(/^[0-9a-f]{32}$/);
    expect(retry.dedup_key).toBe(first.dedup_key);
    const [a, b] = h.producer.records.map((x) => StreamRecord.parse(x));
    expect(b.event_id).toBe(a.event_id);
    expect(a.alarm_arn).toBe(`arn:pagetrail:events-v2:::app/${first.dedup_key}`);
  });

  it.each([
    ['acknowledge', 'ACK'],
    ['resolve', 'OK'],
  ])("PagerDuty's %s example → 202 with its dedup_key; state %s", async (action, state) => {
    const h = harness();
    const res = await enqueue(h, json(`events-v2-${action}.json`));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'dedupkeyhere' });
    expect(StreamRecord.parse(h.producer.records[0])).toMatchObject({
      state,
      service: 'checkout-api',
      alarm_arn: 'arn:pagetrail:events-v2:::checkout-api/dedupkeyhere',
    });
  });

  it("an unknown routing key → 400, PagerDuty's body (Invalid routing key), nothing written", async () => {
    const h = harness();
    const res = await enqueue(h, { ...json('events-v2-trigger.json'), routing_key: 'f'.repeat(32) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(json('events-v2-response-invalid.json'));
    expect(h.producer.records).toHaveLength(0);
  });

  it("a body that is not JSON → 400, PagerDuty's unrecognized-object body", async () => {
    const h = harness();
    const res = await enqueue(h, '{"routing_key": ');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(json('events-v2-response-unrecognized.json'));
  });

  const trigger = () => json('events-v2-trigger.json');
  it.each([
    ['no event_action', () => ({ ...trigger(), event_action: undefined }), "'event_action' is missing or blank"],
    ['an unknown event_action', () => ({ ...trigger(), event_action: 'escalate' }), "'event_action' must be one of"],
    ['no routing_key', () => ({ ...trigger(), routing_key: undefined }), "'routing_key' is missing or blank"],
    ['a trigger without payload', () => ({ ...trigger(), payload: undefined }), "'payload' is missing"],
    [
      'no payload.summary',
      () => ({ ...trigger(), payload: { ...trigger().payload, summary: '' } }),
      "'payload.summary' is missing or blank",
    ],
    [
      'a summary over 1024 characters',
      () => ({ ...trigger(), payload: { ...trigger().payload, summary: 'x'.repeat(1025) } }),
      "'payload.summary' is longer than 1024 characters",
    ],
    [
      'severity fatal',
      () => ({ ...trigger(), payload: { ...trigger().payload, severity: 'fatal' } }),
      "'payload.severity' must be one of critical, error, warning or info",
    ],
    ['no payload.source', () => ({ ...trigger(), payload: { ...trigger().payload, source: undefined } }), 'source'],
    ['a dedup_key over 255', () => ({ ...trigger(), dedup_key: 'k'.repeat(256) }), 'longer than 255 characters'],
    [
      'resolve without a dedup_key',
      () => ({ routing_key: ROUTING_KEY, event_action: 'resolve' }),
      "'dedup_key' is missing or blank",
    ],
    [
      'a bad payload.timestamp',
      () => ({ ...trigger(), payload: { ...trigger().payload, timestamp: 'yesterday' } }),
      "'payload.timestamp' is not an ISO 8601 timestamp",
    ],
    ['a JSON array', () => [trigger()], 'Event must be a JSON object'],
    ['a number for component', () => ({ ...trigger(), payload: { ...trigger().payload, component: 7 } }), 'component'],
  ])('%s → 400 invalid event with the reason in errors, nothing written', async (_name, make, reason) => {
    const h = harness();
    const res = await enqueue(h, make());
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: string[] };
    expect(body).toMatchObject({ status: 'invalid event', message: 'Event object is invalid' });
    expect(body.errors.join('\n')).toContain(reason);
    expect(h.producer.records).toHaveLength(0);
  });

  it('503 when the stream does not take it (clients retry 5xx)', async () => {
    const h = harness();
    h.producer.failWith = new Error('stream down');
    expect((await enqueue(h, json('events-v2-trigger.json'))).status).toBe(503);
  });
});
