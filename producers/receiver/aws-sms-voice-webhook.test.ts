import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localSnsSigner } from '../../infra/local/provider-simulator/sns-signer.js';
import { awsContext } from '../../schemas/correlation.js';
import { AWS_SMS_VOICE_STATUS } from './status-map.js';
import { SnsVerifier } from './sns-signature.js';
import { FakeAckCodes, PAGE, testApp } from './testing.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aws-sms-voice-webhook-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const signer = localSnsSigner(dir);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:pagetrail-sms-voice-events';
const CERT_URL = 'http://127.0.0.1:4580/__sim/sns/SimpleNotificationService-local.pem';
const ROUTE = '/webhooks/aws-sms-voice';

/** An SMS event as AWS's docs show it ("Messaging Events", SMS example log), for our page. */
const smsEvent = (eventType: string, over: Record<string, unknown> = {}) => ({
  eventType,
  eventVersion: '1.0',
  eventTimestamp: 1765141200000,
  isFinal: true,
  originationPhoneNumber: '+12065550152',
  destinationPhoneNumber: '+14255550156',
  isInternationalSend: false,
  mcc: '310',
  mnc: '800',
  messageId: '862a8790-60c0-4430-9b2b-658bdexample',
  messageRequestTimestamp: 1765141199700,
  messageEncoding: 'GSM',
  messageType: 'TRANSACTIONAL',
  messageStatus: eventType.replace(/^TEXT_|^VOICE_/, ''),
  messageStatusDescription: 'Message has been accepted by phone carrier',
  context: awsContext(PAGE),
  totalMessageParts: 1,
  totalMessagePrice: 0.00581,
  totalCarrierFee: 0.0,
  ...over,
});

function setup(ackCodes?: FakeAckCodes) {
  const confirmed: string[] = [];
  const verifier = new SnsVerifier({
    allowedTopics: [TOPIC],
    trustedCertUrls: [CERT_URL],
    fetchCert: async (url) => {
      if (url !== CERT_URL) throw new Error('404');
      return signer.cert;
    },
    getUrl: async (url) => {
      confirmed.push(url);
      return 200;
    },
  });
  return { ...testApp({ snsVerifier: verifier, ackCodes }), confirmed };
}

const send = (app: ReturnType<typeof setup>['app'], body: unknown, route = ROUTE) =>
  app.request(route, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const notification = (event: unknown, topic = TOPIC) => signer.notification(topic, JSON.stringify(event), CERT_URL);

describe('POST /webhooks/aws-sms-voice', () => {
  it('a delivered SMS becomes a receipt of its page; a redelivery is the same event', async () => {
    const { app, producer } = setup();
    const msg = notification(smsEvent('TEXT_DELIVERED'));
    const res = await send(app, msg);
    expect(res.status).toBe(200);
    const again = await send(app, notification(smsEvent('TEXT_DELIVERED'))); // SNS redelivers as a new message
    expect(again.status).toBe(200);
    const [a, b] = producer.records as { event_id: string; raw?: string }[];
    expect(a).toMatchObject({
      kind: 'receipt',
      provider: 'aws',
      channel: 'sms',
      status: 'delivered',
      provider_status: 'TEXT_DELIVERED',
      message_id: '862a8790-60c0-4430-9b2b-658bdexample',
      dispatch_id: PAGE.dispatchId,
      incident_id: PAGE.incidentId,
      alarm_arn: PAGE.alarmArn,
      recipient: '+14255550156',
      event_time: new Date(1765141200000).toISOString(),
    });
    expect(b.event_id).toBe(a.event_id);
    expect(JSON.parse(a.raw ?? '{}').MessageId).toBe(msg.MessageId);
  });

  it.each([
    ['TEXT_SUCCESSFUL', 'sent', 'sms'],
    ['TEXT_BLOCKED', 'undelivered', 'sms'],
    ['TEXT_CARRIER_UNREACHABLE', 'undelivered', 'sms'],
    ['TEXT_INVALID', 'failed', 'sms'],
    ['VOICE_ANSWERED', 'delivered', 'voice'],
    ['VOICE_NO_ANSWER', 'undelivered', 'voice'],
  ])('%s → %s (%s)', async (type, status, channel) => {
    const { app, producer } = setup();
    expect((await send(app, notification(smsEvent(type)))).status).toBe(200);
    const r = producer.records[0] as Record<string, unknown>;
    expect(r).toMatchObject({ status, channel, provider_status: type });
    if (status === 'undelivered' || status === 'failed') expect(r.error_code).toBe(type.replace(/^[A-Z]+_/, ''));
    else expect(r.error_code).toBeUndefined();
  });

  it('maps every event type of AWS docs, and only those', () => {
    expect(Object.keys(AWS_SMS_VOICE_STATUS).sort()).toContain('TEXT_DELIVERED');
    expect(Object.keys(AWS_SMS_VOICE_STATUS).every((t) => /^(TEXT|VOICE)_[A-Z_]+$/.test(t))).toBe(true);
  });

  it('forged, altered or of another topic: 401 / 403 and nothing written', async () => {
    const { app, producer, errorSink } = setup();
    const msg = notification(smsEvent('TEXT_DELIVERED'));
    expect((await send(app, { ...msg, Message: JSON.stringify(smsEvent('TEXT_BLOCKED')) })).status).toBe(401);
    expect((await send(app, { ...msg, SigningCertURL: CERT_URL.replace('4580', '4581') })).status).toBe(401);
    expect((await send(app, { ...msg, SignatureVersion: '3' })).status).toBe(401);
    expect((await send(app, 'not sns')).status).toBe(401);
    const other = notification(smsEvent('TEXT_DELIVERED'), 'arn:aws:sns:us-east-1:123456789012:someone-else');
    expect((await send(app, other)).status).toBe(403);
    expect(producer.records).toEqual([]);
    expect(errorSink.calls).toEqual([]);
  });

  it('confirms the subscription of an allowed topic (and of no other)', async () => {
    const { app, confirmed, producer } = setup();
    const subscribe = 'http://127.0.0.1:4580/__sim/sns/confirm?Token=abc';
    const res = await send(app, signer.confirmation(TOPIC, subscribe, CERT_URL));
    expect(res.status).toBe(200);
    expect(confirmed).toEqual([subscribe]);
    const other = signer.confirmation('arn:aws:sns:us-east-1:123456789012:x', subscribe, CERT_URL);
    expect((await send(app, other)).status).toBe(403);
    expect(confirmed).toHaveLength(1);
    expect(producer.records).toEqual([]);
  });

  it('an event that is not a page is ignored; one of ours that cannot be read is kept', async () => {
    const { app, producer, errorSink } = setup();
    const foreign = await send(app, notification(smsEvent('TEXT_DELIVERED', { context: { account: 'bar' } })));
    expect(foreign.status).toBe(202);
    expect(await foreign.json()).toMatchObject({ ignored: expect.stringContaining('no page reference') });
    const unknown = await send(app, notification(smsEvent('TEXT_TELEPATHY')));
    expect(unknown.status).toBe(202);
    expect(await unknown.json()).toMatchObject({ kept: 'errors' });
    const notJson = await send(app, signer.notification(TOPIC, 'hello', CERT_URL));
    expect(notJson.status).toBe(202);
    expect(producer.records).toEqual([]);
    expect(errorSink.calls.map((c) => c.reason)).toEqual([
      expect.stringContaining('TEXT_TELEPATHY'),
      'Message is not JSON',
    ]);
  });
});

const INBOUND = '/webhooks/aws-sms-voice/inbound';
const TWO_WAY_TOPIC = 'arn:aws:sns:us-east-1:123456789012:pagetrail-sms-voice-inbound';
const PAGED = '+14255550182';

/** An inbound SMS as AWS's docs show it ("Example of a two-way SMS message payload for Amazon SNS topics"). */
const inboundSms = (messageBody: string, over: Record<string, unknown> = {}) => ({
  originationNumber: PAGED,
  destinationNumber: '+12125550101',
  messageKeyword: 'KEYWORD_123456789012',
  messageBody,
  inboundMessageId: 'cae173d2-66b9-564c-8309-21f858e9fb84',
  previousPublishedMessageId: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  ...over,
});

function inboundSetup() {
  const ackCodes = new FakeAckCodes({
    '7KQ2MX': {
      incidentId: PAGE.incidentId,
      alarmArn: PAGE.alarmArn,
      expiresAt: Date.parse('2100-01-01T00:00:00Z'),
      recipients: [{ address: PAGED, person: 'alice' }],
    },
  });
  const verifier = new SnsVerifier({
    allowedTopics: [TOPIC, TWO_WAY_TOPIC],
    trustedCertUrls: [CERT_URL],
    fetchCert: async () => signer.cert,
    getUrl: async () => 200,
  });
  return testApp({ snsVerifier: verifier, ackCodes });
}

const inbound = (sms: unknown, topic = TWO_WAY_TOPIC) =>
  signer.notification(topic, typeof sms === 'string' ? sms : JSON.stringify(sms), CERT_URL);

describe('POST /webhooks/aws-sms-voice/inbound (two-way SMS)', () => {
  it('ACK <code> from a paged number acks the incident once, also when SNS redelivers it', async () => {
    const { app, producer } = inboundSetup();
    const msg = inbound(inboundSms('ack 7kq2mx'));
    const res = await send(app, msg, INBOUND);
    expect(res.status).toBe(200);
    const again = await send(app, msg, INBOUND); // SNS retries the same message
    expect(again.status).toBe(200);
    const [a, b] = producer.records as Record<string, unknown>[];
    expect(a).toMatchObject({
      kind: 'ack',
      incident_id: PAGE.incidentId,
      alarm_arn: PAGE.alarmArn,
      channel: 'sms',
      via: 'sms_reply',
      person: 'alice',
      recipient: PAGED,
      message_id: 'cae173d2-66b9-564c-8309-21f858e9fb84',
      event_time: msg.Timestamp,
    });
    expect(await res.json()).toEqual({ event_id: a.event_id });
    expect(b.event_id).toBe(a.event_id); // one ack for the stream's dedupe
    // a new message with the same inbound id (SNS redelivers as a new notification) is the same ack too
    await send(app, inbound(inboundSms('ACK 7KQ2MX')), INBOUND);
    expect((producer.records[2] as { event_id: string }).event_id).toBe(a.event_id);
  });

  it('a drill answer OK <code> is an ack of the code like on Twilio', async () => {
    const { app, producer } = inboundSetup();
    expect((await send(app, inbound(inboundSms('OK 7KQ2MX')), INBOUND)).status).toBe(200);
    expect(producer.records).toHaveLength(1);
  });

  it('from a number not paged with the code, an unknown code, or any other text: nothing written', async () => {
    const { app, producer, errorSink } = inboundSetup();
    const stranger = await send(app, inbound(inboundSms('ACK 7KQ2MX', { originationNumber: '+14255550199' })), INBOUND);
    expect(stranger.status).toBe(202);
    expect(await stranger.json()).toEqual({ not_counted: 'not_paged' });
    const unknown = await send(app, inbound(inboundSms('ACK ZZZZZZ')), INBOUND);
    expect(await unknown.json()).toEqual({ not_counted: 'unknown_code' });
    const chat = await send(app, inbound(inboundSms('on my way, ACK 7KQ2MX')), INBOUND);
    expect(chat.status).toBe(202);
    expect(await chat.json()).toMatchObject({ ignored: expect.any(String) });
    expect(producer.records).toEqual([]);
    expect(errorSink.calls).toEqual([]);
  });

  it('forged, altered or of a topic not listed: 401 / 403 and nothing written', async () => {
    const { app, producer, errorSink } = inboundSetup();
    const msg = inbound(inboundSms('ACK 7KQ2MX'));
    const altered = { ...msg, Message: JSON.stringify(inboundSms('ACK 7KQ2MX', { originationNumber: '+1999' })) };
    expect((await send(app, altered, INBOUND)).status).toBe(401);
    const forged = (msg.Signature.startsWith('A') ? 'B' : 'A') + msg.Signature.slice(1);
    expect((await send(app, { ...msg, Signature: forged }, INBOUND)).status).toBe(401);
    expect((await send(app, 'ACK 7KQ2MX', INBOUND)).status).toBe(401);
    const unlisted = inbound(inboundSms('ACK 7KQ2MX'), 'arn:aws:sns:us-east-1:123456789012:someone-else');
    expect((await send(app, unlisted, INBOUND)).status).toBe(403);
    expect(producer.records).toEqual([]);
    expect(errorSink.calls).toEqual([]);
  });

  it('a verified message that is not an inbound SMS is kept, not acked', async () => {
    const { app, producer, errorSink } = inboundSetup();
    const res = await send(app, inbound(smsEvent('TEXT_DELIVERED')), INBOUND);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ kept: 'errors' });
    expect(producer.records).toEqual([]);
    expect(errorSink.calls).toHaveLength(1);
  });

  it('a failing ack-code ledger is 503 (SNS retries), nothing written', async () => {
    const { app, producer, ackCodes } = inboundSetup();
    ackCodes.failWith = new Error('ddb down');
    expect((await send(app, inbound(inboundSms('ACK 7KQ2MX')), INBOUND)).status).toBe(503);
    expect(producer.records).toEqual([]);
  });
});
