import { generateKeyPairSync, createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localSnsSigner } from '../../infra/local/provider-simulator/sns-signer.js';
import { AlarmRecord } from '../../schemas/alarm-record.js';
import { alarmKind, alarmNamespaces, type CloudWatchAlarmEvent } from '../../schemas/cloudwatch-alarm.js';
import { CloudWatchAlarmSnsMessage, eventFromSnsAlarm, snsAlarmMessage } from '../../schemas/cloudwatch-alarm-sns.js';
import { silentLogger } from '../../platform/logger.js';
import { createApp } from './app.js';
import { canonicalString, SnsVerifier } from './sns-signature.js';
import { goTimeToIso } from './sns-events.js';
import { FakeAckCodes, FakeErrorSink, FakeProducer, testConfig } from './testing.js';

/**
 * POST /events/sns: the endpoint-level verification table (nothing written for any refused message), the known
 * answers (a message AWS signed; CloudWatch's and AMP's messages as AWS documents them), each kind of Notification,
 * and the ids that make an alarm sent by SNS and by EventBridge one incident.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'sns-events-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const signer = localSnsSigner(dir);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:pagetrail-alarms';
const CERT_URL = 'http://127.0.0.1:4580/__sim/sns/SimpleNotificationService-local.pem';
const ROUTE = '/events/sns';
const FIX = new URL('../../schemas/fixtures/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIX), 'utf8');
const SNS_KAT = new URL('./fixtures/sns/', import.meta.url);

function setup(
  opts: {
    config?: Parameters<typeof testConfig>[0];
    verifier?: Partial<ConstructorParameters<typeof SnsVerifier>[0]>;
    getUrl?: (url: string) => Promise<number>;
  } = {},
) {
  const confirmed: string[] = [];
  const fetched: string[] = [];
  const verifier = new SnsVerifier({
    allowedTopics: [TOPIC],
    trustedCertUrls: [CERT_URL],
    fetchCert: async (url) => {
      fetched.push(url);
      if (url !== CERT_URL) throw new Error('404');
      return signer.cert;
    },
    getUrl:
      opts.getUrl ??
      (async (url) => {
        confirmed.push(url);
        return 200;
      }),
    ...opts.verifier,
  });
  const producer = new FakeProducer();
  const errorSink = new FakeErrorSink();
  const config = testConfig({
    ALARM_NAMESPACES: ['AWS/EC2', 'AWS/RDS'],
    ALERTMANAGER_TOKENS: ['unused-alertmanager-token-0123'],
    EVENTS_V2_ROUTING_KEYS: { R0UTINGKEY0000000000000000000001: 'db' },
    ...opts.config,
  });
  const app = createApp({
    config,
    producer,
    errorSink,
    ackCodes: new FakeAckCodes(),
    logger: silentLogger,
    now: () => Date.parse('2026-12-07T22:00:00Z'),
    snsEventsVerifier: verifier,
  });
  return { app, producer, errorSink, confirmed, fetched };
}

const send = (app: ReturnType<typeof setup>['app'], body: unknown) =>
  app.request(ROUTE, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const notify = (message: unknown, topic = TOPIC, certUrl = CERT_URL) =>
  signer.notification(topic, typeof message === 'string' ? message : JSON.stringify(message), certUrl);

/** Re-signs a message with the local key (so only the field under test is wrong). */
function resign(m: Record<string, string>): Record<string, string> {
  const s = createSign('RSA-SHA256');
  s.update(canonicalString(m));
  const key = readFileSync(path.join(dir, 'sns-signing.key'), 'utf8');
  return { ...m, Signature: s.sign(key, 'base64') };
}

/** The EventBridge event of CloudWatch's docs and the SNS notification of the same state change. */
const ebEvent = () => JSON.parse(fixture('cloudwatch-alarm-state-change.json')) as CloudWatchAlarmEvent;
function snsOf(e: CloudWatchAlarmEvent): Record<string, unknown> {
  const base = JSON.parse(fixture('cloudwatch-alarm-sns-single-metric.json')) as Record<string, unknown>;
  return {
    ...base,
    AlarmName: e.detail.alarmName,
    AlarmArn: e.resources[0],
    AWSAccountId: e.account,
    Region: 'US East (N. Virginia)',
    NewStateValue: e.detail.state.value,
    NewStateReason: e.detail.state.reason,
    StateChangeTime: e.detail.state.timestamp,
    OldStateValue: e.detail.previousState?.value,
  };
}

describe('POST /events/sns: verification (nothing written when refused)', () => {
  const alarm = JSON.parse(fixture('cloudwatch-alarm-sns-single-metric.json'));
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cases: [string, () => unknown, number][] = [
    [
      'certificate from a host other than sns.<region>.amazonaws.com',
      () =>
        resign({ ...notify(alarm), SigningCertURL: 'https://sns.evil.example.com/SimpleNotificationService-x.pem' }),
      401,
    ],
    [
      'certificate over http from an AWS host',
      () =>
        resign({
          ...notify(alarm),
          SigningCertURL: 'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem',
        }),
      401,
    ],
    [
      'an altered Message',
      () => ({ ...notify(alarm), Message: JSON.stringify({ ...alarm, NewStateValue: 'OK' }) }),
      401,
    ],
    ['an altered TopicArn', () => ({ ...notify(alarm), TopicArn: `${TOPIC}-2` }), 401],
    ['a wrong SignatureVersion', () => ({ ...notify(alarm), SignatureVersion: '3' }), 401],
    [
      'signed by another key',
      () => {
        const m = notify(alarm);
        const s = createSign('RSA-SHA256');
        s.update(canonicalString(m));
        return { ...m, Signature: s.sign(other.privateKey, 'base64') };
      },
      401,
    ],
    ['not an SNS message (the alarm JSON posted as is)', () => alarm, 401],
    ['authentic, of a topic not listed', () => notify(alarm, 'arn:aws:sns:us-east-1:123456789012:someone-else'), 403],
  ];
  for (const [name, body, status] of cases) {
    it(`${name} → ${status}`, async () => {
      const { app, producer, errorSink, fetched } = setup();
      const res = await send(app, body());
      expect(res.status).toBe(status);
      expect(producer.records).toEqual([]);
      expect(errorSink.calls).toEqual([]);
      for (const url of fetched) expect(url).toBe(CERT_URL); // nothing fetched from a refused URL
    });
  }

  it("a message AWS signed (AWS's validator's known answer) is verified; its text Message is kept", async () => {
    const kat = JSON.parse(readFileSync(new URL('aws-php-functional.json', SNS_KAT), 'utf8')) as {
      messages: Record<string, string>[];
    };
    const cert = readFileSync(new URL('aws-php-functional.cert.pem', SNS_KAT), 'utf8');
    const m = kat.messages.find((x) => x.Type === 'Notification' && x.SignatureVersion === '2') ?? kat.messages[0];
    const verifier = {
      allowedTopics: [m.TopicArn],
      fetchCert: async () => cert,
      now: () => Date.parse(m.Timestamp),
    };
    const { app, producer, errorSink } = setup({ verifier });
    const res = await send(app, m);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ kept: 'errors', path: 'Message' });
    expect(producer.records).toEqual([]);
    expect(errorSink.calls).toHaveLength(1);
    expect(errorSink.calls[0].meta.route).toBe(ROUTE);
    // the same message altered: refused before anything is kept
    const altered = setup({ verifier });
    expect((await send(altered.app, { ...m, Message: `${m.Message}!` })).status).toBe(401);
    expect(altered.errorSink.calls).toEqual([]);
  });
});

describe('POST /events/sns: subscription', () => {
  it('confirms an allowed topic (GET SubscribeURL); 503 when that fails, so SNS sends it again', async () => {
    const url = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=abc';
    const ok = setup();
    const res = await send(ok.app, signer.confirmation(TOPIC, url, CERT_URL));
    expect(res.status).toBe(200);
    expect(ok.confirmed).toEqual([url]);
    const down = setup({ getUrl: async () => Promise.reject(new Error('timeout')) });
    expect((await send(down.app, signer.confirmation(TOPIC, url, CERT_URL))).status).toBe(503);
    const refused = setup({ getUrl: async () => 403 });
    expect((await send(refused.app, signer.confirmation(TOPIC, url, CERT_URL))).status).toBe(503);
  });

  it('never confirms a topic not listed (403), nor a SubscribeURL off AWS', async () => {
    const s = setup();
    const url = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc';
    const res = await send(s.app, signer.confirmation('arn:aws:sns:us-east-1:123456789012:other', url, CERT_URL));
    expect(res.status).toBe(403);
    expect((await send(s.app, signer.confirmation(TOPIC, 'https://evil.example.com/c', CERT_URL))).status).toBe(401);
    expect(s.confirmed).toEqual([]);
    expect(s.producer.records).toEqual([]);
  });
});

describe('POST /events/sns: CloudWatch alarm notifications', () => {
  it("AWS's single-metric example → the alarm record the EventBridge event gives, via sns", async () => {
    const { app, producer } = setup();
    const msg = notify(JSON.parse(fixture('cloudwatch-alarm-sns-single-metric.json')));
    const res = await send(app, msg);
    expect(res.status).toBe(200);
    const [r] = producer.records as Record<string, unknown>[];
    expect(r).toMatchObject({ v: 1, kind: 'alarm', source: 'cloudwatch', via: 'sns' });
    const a = AlarmRecord.parse(r);
    expect(a).toMatchObject({
      alarm_arn: 'arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE',
      alarm_name: 'EXAMPLE',
      state: 'ALARM',
      previous_state: 'INSUFFICIENT_DATA',
      namespace: 'AWS/EC2',
      via: 'sns',
      event_time: Date.parse('2015-06-03T17:43:27.123Z'),
    });
    expect(a.event.detail.configuration.metrics[0].metricStat?.metric).toEqual({
      namespace: 'AWS/EC2',
      name: 'NetworkOut',
      dimensions: { InstanceId: 'TestInstance' },
    });
    expect(a.event.id).toBe(msg.MessageId);
    expect(a.event.region).toBe('REGION');
    expect(await res.json()).toEqual({
      written: [{ event_id: a.event_id, incident_id: a.incident_id, alarm: 'EXAMPLE', state: 'ALARM' }],
    });
  });

  it("AWS's metric-math example keeps its expression and metric", async () => {
    const { app, producer } = setup();
    expect((await send(app, notify(JSON.parse(fixture('cloudwatch-alarm-sns-multiple-metrics.json'))))).status).toBe(
      200,
    );
    const a = AlarmRecord.parse(producer.records[0]);
    expect(a.event.detail.configuration.metrics.map((m) => m.expression ?? m.metricStat?.metric.name)).toEqual([
      'm1*1',
      'NetworkOut',
    ]);
    expect(a.namespace).toBe('AWS/EC2');
  });

  it('an alarm of a namespace outside ALARM_NAMESPACES is acknowledged and ignored', async () => {
    const { app, producer } = setup({ config: { ALARM_NAMESPACES: ['AWS/ECS'] } });
    const res = await send(app, notify(JSON.parse(fixture('cloudwatch-alarm-sns-single-metric.json'))));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ignored: expect.stringContaining('AWS/EC2') });
    expect(producer.records).toEqual([]);
  });

  it('the same state change by SNS and by EventBridge: the same event id and incident id (pages once)', async () => {
    const e = ebEvent();
    const { app, producer } = setup();
    expect((await send(app, notify(snsOf(e)))).status).toBe(200);
    const bySns = AlarmRecord.parse(producer.records[0]);
    const byEb = AlarmRecord.parse({ v: 1, kind: 'alarm', event: e });
    expect([bySns.event_id, bySns.incident_id, bySns.alarm_arn]).toEqual([
      byEb.event_id,
      byEb.incident_id,
      byEb.alarm_arn,
    ]);
    // its OK: the same event id; the incident is found as the alarm's open one (paging handler, e2e test)
    const ok: CloudWatchAlarmEvent = {
      ...e,
      detail: {
        ...e.detail,
        previousState: { ...e.detail.state },
        state: { value: 'OK', reason: 'back', timestamp: '2019-10-02T17:24:40.989+0000' },
      },
    };
    expect((await send(app, notify(snsOf(ok)))).status).toBe(200);
    const okBySns = AlarmRecord.parse(producer.records[1]);
    expect(okBySns.event_id).toBe(AlarmRecord.parse({ v: 1, kind: 'alarm', event: ok }).event_id);
    expect([okBySns.state, okBySns.previous_state]).toEqual(['OK', 'ALARM']);
  });

  it('an EventBridge alarm event published to SNS (a rule with an SNS target): the same record', async () => {
    const e = ebEvent();
    const { app, producer } = setup();
    expect((await send(app, notify(e))).status).toBe(200);
    const r = AlarmRecord.parse(producer.records[0]);
    expect(r.event_id).toBe(AlarmRecord.parse({ v: 1, kind: 'alarm', event: e }).event_id);
    expect(r.via).toBe('sns');
  });

  it('a notification without AlarmArn is kept (202), not written', async () => {
    const { app, producer, errorSink } = setup();
    const { AlarmArn: _, ...noArn } = JSON.parse(fixture('cloudwatch-alarm-sns-single-metric.json'));
    const res = await send(app, notify(noArn));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ kept: 'errors', path: 'AlarmArn' });
    expect(producer.records).toEqual([]);
    expect(errorSink.calls).toHaveLength(1);
  });
});

describe('POST /events/sns: Alertmanager and Events v2 messages', () => {
  it("AMP's JSON template → the Alertmanager intake (key: topic and group labels; Go times read)", async () => {
    const { app, producer } = setup();
    const res = await send(app, notify(fixture('amp-sns-json-template-firing.txt').trim()));
    expect(res.status).toBe(200);
    const [r] = producer.records as Record<string, unknown>[];
    expect(r).toMatchObject({
      kind: 'alarm',
      source: 'alertmanager',
      alarm_name: 'CheckoutErrorRate',
      state: 'ALARM',
      firing: 2,
      key: `pagetrail/${TOPIC}:{alertname="CheckoutErrorRate",service="checkout"}`,
      labels: { alertname: 'CheckoutErrorRate', service: 'checkout', severity: 'critical', team: 'payments' },
    });
    expect((r.members as { starts_at: string }[]).map((m) => m.starts_at)).toEqual([
      '2026-12-07T21:58:00.000Z',
      '2026-12-07T21:58:30.000Z',
    ]);
    // a redelivery (SNS retries) is the same event
    expect((await send(app, notify(fixture('amp-sns-json-template-firing.txt').trim()))).status).toBe(200);
    expect((producer.records[1] as { event_id: string }).event_id).toBe(r.event_id);
  });

  it('the Alertmanager webhook v4 JSON → the same record as POST /events/alertmanager gives', async () => {
    const { app, producer } = setup();
    const body = fixture('alertmanager-group-firing.json');
    expect((await send(app, notify(body))).status).toBe(200);
    const direct = setup();
    const res = await direct.app.request('/events/alertmanager', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer unused-alertmanager-token-0123' },
      body,
    });
    expect(res.status).toBe(200);
    const [a] = producer.records as Record<string, unknown>[];
    const [b] = direct.producer.records as Record<string, unknown>[];
    expect(a).toEqual(b);
  });

  it('an Events API v2 event with a known routing key → as /v2/enqueue; an unknown key is kept', async () => {
    const { app, producer, errorSink } = setup();
    const e = JSON.parse(fixture('events-v2-resolve.json'));
    expect((await send(app, notify({ ...e, routing_key: 'R0UTINGKEY0000000000000000000001' }))).status).toBe(200);
    expect(producer.records[0]).toMatchObject({ source: 'events-v2', service: 'db', state: 'OK' });
    expect(JSON.stringify(producer.records[0])).not.toContain('R0UTINGKEY');
    const res = await send(app, notify({ ...e, routing_key: 'R0UTINGKEY0000000000000000000002' }));
    expect(res.status).toBe(202);
    expect(producer.records).toHaveLength(1);
    expect(errorSink.calls.map((c) => c.reason)).toEqual(['unknown routing key']);
  });

  it("AMP's default text template and unknown JSON are kept with the reason (202), never written", async () => {
    const { app, producer, errorSink } = setup();
    const text = '[FIRING:1] CheckoutErrorRate (checkout critical)\nAlerts Firing:\nLabels:\n - alertname = x';
    expect((await send(app, notify(text))).status).toBe(202);
    expect((await send(app, notify({ hello: 'world' }))).status).toBe(202);
    expect(producer.records).toEqual([]);
    expect(errorSink.calls).toHaveLength(2);
    expect(errorSink.calls[1].reason).toMatch(/not a known kind/);
  });

  it('503 when the error sink or the stream fails: SNS retries; nothing answered 2xx unwritten', async () => {
    const sink = setup();
    sink.errorSink.failWith = new Error('s3 down');
    expect((await send(sink.app, notify({ hello: 'world' }))).status).toBe(503);
    const stream = setup();
    stream.producer.failWith = new Error('kinesis down');
    expect(
      (await send(stream.app, notify(JSON.parse(fixture('cloudwatch-alarm-sns-single-metric.json'))))).status,
    ).toBe(503);
  });
});

describe('snsAlarmMessage / eventFromSnsAlarm', () => {
  for (const name of ['state-change', 'metric-math', 'composite']) {
    it(`the EventBridge ${name} example and its SNS notification make the same alarm record`, () => {
      const e = JSON.parse(fixture(`cloudwatch-alarm-${name}.json`)) as CloudWatchAlarmEvent;
      const back = eventFromSnsAlarm(CloudWatchAlarmSnsMessage.parse(snsAlarmMessage(e)), 'mid');
      const [a, b] = [
        AlarmRecord.parse({ v: 1, kind: 'alarm', event: e }),
        AlarmRecord.parse({ v: 1, kind: 'alarm', event: back }),
      ];
      expect([b.event_id, b.incident_id, b.alarm_arn, b.state, b.previous_state, b.namespace]).toEqual([
        a.event_id,
        a.incident_id,
        a.alarm_arn,
        a.state,
        a.previous_state,
        a.namespace,
      ]);
      expect(alarmKind(back)).toBe(alarmKind(a.event));
      expect(alarmNamespaces(back)).toEqual(alarmNamespaces(a.event));
      expect([back.account, back.region]).toEqual([e.account, e.region]);
    });
  }
});

describe('goTimeToIso', () => {
  it("reads Go's time.Time String() and leaves anything else", () => {
    expect(goTimeToIso('2026-12-07 21:58:00.123456789 +0000 UTC')).toBe('2026-12-07T21:58:00.123+00:00');
    expect(goTimeToIso('2026-12-07 22:58:00 +0100 CET m=+12.5')).toBe('2026-12-07T22:58:00+01:00');
    expect(goTimeToIso('2026-12-07T21:58:00Z')).toBe('2026-12-07T21:58:00Z');
    expect(goTimeToIso(5)).toBe(5);
  });
});
