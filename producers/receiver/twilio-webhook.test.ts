import { describe, expect, it } from 'vitest';
import { partitionKeyOf } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { SignatureError } from './errors.js';
import {
  FakeAckCodes,
  PAGE,
  TEST_ENV,
  fixture,
  formBody,
  pageQuery,
  post,
  testApp,
  thrown,
  twilioRequest,
  twilioSignature,
} from './testing.js';
import { verifyTwilioRequest } from './twilio-signature.js';
import { isInboundMessage, notPagedMessage, paged, parseAckReply } from './twilio-webhook.js';

const NOW = Date.parse('2026-11-28T10:00:05.000Z');
const PATH = `/webhooks/twilio?${pageQuery()}`;

describe('POST /webhooks/twilio: status callbacks', () => {
  const cases: [
    string,
    { status: string; provider_status: string; channel: string; error_code?: string; error_message?: string },
  ][] = [
    ['twilio/sms-sent.json', { status: 'sent', provider_status: 'sent', channel: 'sms' }],
    ['twilio/sms-delivered.json', { status: 'delivered', provider_status: 'delivered', channel: 'sms' }],
    [
      'twilio/sms-undelivered-30003.json',
      { status: 'undelivered', provider_status: 'undelivered', channel: 'sms', error_code: '30003' },
    ],
    ['twilio/whatsapp-delivered.json', { status: 'delivered', provider_status: 'delivered', channel: 'whatsapp' }],
    ['twilio/whatsapp-read.json', { status: 'opened', provider_status: 'read', channel: 'whatsapp' }],
    [
      'twilio/whatsapp-failed-63016.json',
      {
        status: 'failed',
        provider_status: 'failed',
        channel: 'whatsapp',
        error_code: '63016',
        error_message: 'Failed to send freeform message because you are outside the allowed window.',
      },
    ],
  ];

  it.each(cases)('%s → 200 after one receipt record is written', async (name, expected) => {
    const { app, producer, errorSink } = testApp({ now: () => NOW });
    const params = fixture(name);
    const res = await post(app, twilioRequest(PATH, params));
    expect(res.status).toBe(200);
    expect(producer.calls).toHaveLength(1);
    const [record] = producer.calls[0];
    expect(record).toMatchObject({
      v: 1,
      kind: 'receipt',
      event_id: eventId('receipt', 'twilio', params.MessageSid, params.MessageStatus),
      incident_id: PAGE.incidentId,
      alarm_arn: PAGE.alarmArn,
      event_time: new Date(NOW).toISOString(),
      provider: 'twilio',
      message_id: params.MessageSid,
      dispatch_id: PAGE.dispatchId,
      recipient: params.To,
      ...expected,
    });
    if (!expected.error_code) expect(record).not.toHaveProperty('error_code');
    expect(JSON.parse((record as { raw: string }).raw)).toEqual(params);
    expect(partitionKeyOf(record)).toBe(PAGE.alarmArn);
    expect(errorSink.calls).toHaveLength(0);
  });

  it('a duplicate delivery is written again with the same event_id (downstream dedupes)', async () => {
    const { app, producer } = testApp();
    const params = fixture('twilio/sms-delivered.json');
    expect((await post(app, twilioRequest(PATH, params))).status).toBe(200);
    expect((await post(app, twilioRequest(PATH, params))).status).toBe(200);
    expect(producer.records).toHaveLength(2);
    expect(producer.records[0].kind === 'receipt' && producer.records[0].event_id).toBe(
      producer.records[1].kind === 'receipt' && producer.records[1].event_id,
    );
  });

  it('accepts a callback Twilio signed with the default port', async () => {
    const { app, producer } = testApp();
    const params = fixture('twilio/sms-sent.json');
    const res = await post(app, twilioRequest(PATH, params, { signedUrl: `https://alerts.example.com:443${PATH}` }));
    expect(res.status).toBe(200);
    expect(producer.records).toHaveLength(1);
  });

  describe('401: nothing written', () => {
    const params = fixture('twilio/sms-delivered.json');
    const variants: [string, RequestInit & { url: string }][] = [
      [
        'no signature',
        (() => {
          const r = twilioRequest(PATH, params);
          return { ...r, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
        })(),
      ],
      ['wrong token', twilioRequest(PATH, params, { token: 'not-the-token' })],
      [
        'altered body',
        { ...twilioRequest(PATH, params), body: new URLSearchParams({ ...params, MessageStatus: 'read' }).toString() },
      ],
      ['other page in the query', { ...twilioRequest(PATH, params), url: PATH.replace('inc_0123', 'inc_9999') }],
      ['signed over the socket URL', twilioRequest(PATH, params, { signedUrl: `http://127.0.0.1:8080${PATH}` })],
      [
        'unknown status, forged',
        { ...twilioRequest(PATH, { ...params, MessageStatus: 'exploded' }, { token: 'nope' }) },
      ],
    ];
    it.each(variants)('%s', async (_name, req) => {
      const { app, producer, errorSink } = testApp();
      const res = await post(app, req);
      expect(res.status).toBe(401);
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls).toHaveLength(0);
    });
  });

  describe('202 kept: verified but unusable → error sink with the reason, no record (a retry cannot help)', () => {
    const params = fixture('twilio/sms-delivered.json');
    const variants: [string, string, Record<string, string>, string | undefined][] = [
      ['unknown status', PATH, { ...params, MessageStatus: 'exploded', SmsStatus: 'exploded' }, 'MessageStatus'],
      ['no page reference in the URL (not one of our pages)', '/webhooks/twilio', params, 'query'],
      [
        'malformed page reference',
        `/webhooks/twilio?incident=inc_0123456789abcdef0123&alarm=not-an-arn&dispatch=${PAGE.dispatchId}`,
        params,
        'query',
      ],
      [
        'no MessageSid',
        PATH,
        Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'MessageSid')),
        'MessageSid',
      ],
      [
        'no status',
        PATH,
        Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'MessageStatus' && k !== 'SmsStatus')),
        'MessageStatus',
      ],
    ];
    it.each(variants)('%s', async (_name, path, p, field) => {
      const { app, producer, errorSink } = testApp({ now: () => NOW });
      const req = twilioRequest(path, p);
      const res = await post(app, req);
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ kept: 'errors', path: field, error: errorSink.calls[0]?.reason });
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls).toHaveLength(1);
      const [call] = errorSink.calls;
      expect(call.body).toBe(req.body);
      expect(call.meta).toMatchObject({ route: '/webhooks/twilio', path: field, url: path, receivedAt: NOW });
      expect(call.meta.headers).not.toHaveProperty('x-twilio-signature');
    });

    it('a verified JSON body that is not an object is kept too', async () => {
      const { app, producer, errorSink } = testApp();
      const text = '[1,2]';
      const path = `${PATH}&bodySHA256=${createHash('sha256').update(text).digest('hex')}`;
      const res = await app.request(path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-twilio-signature': twilioSignature(TEST_ENV.TWILIO_AUTH_TOKEN, TEST_ENV.PUBLIC_BASE_URL + path, {}),
        },
        body: text,
      });
      expect(res.status).toBe(202);
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls.map((c) => c.body)).toEqual([text]);
    });

    it('an inbound ACK without MessageSid is kept and answered with empty TwiML', async () => {
      const { app, producer, errorSink } = testApp({ ackCodes: new FakeAckCodes() });
      const p = Object.fromEntries(
        Object.entries({ ...fixture('twilio/inbound-sms.json'), Body: 'ACK 7KQ2MX' }).filter(
          ([k]) => k !== 'MessageSid',
        ),
      );
      const res = await post(app, twilioRequest('/webhooks/twilio', p));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls).toHaveLength(1);
      expect(errorSink.calls[0].meta.path).toBe('MessageSid');
    });

    it('503 when the error sink cannot keep the payload (so Twilio may retry)', async () => {
      const { app, producer, errorSink } = testApp();
      errorSink.failWith = new Error('s3 down');
      const res = await post(app, twilioRequest(PATH, { ...params, MessageStatus: 'exploded' }));
      expect(res.status).toBe(503);
      expect(producer.calls).toHaveLength(0);
    });
  });

  it('503 when the stream write fails, and nothing is reported as written', async () => {
    const { app, producer, errorSink } = testApp();
    producer.failWith = Object.assign(new Error('PutRecords: 1 of 1 records not written'), {
      name: 'PutRecordsFailedError',
    });
    const res = await post(app, twilioRequest(PATH, fixture('twilio/sms-delivered.json')));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(errorSink.calls).toHaveLength(0);
  });

  describe('413 above BODY_LIMIT_BYTES (4096 in tests)', () => {
    const big = { ...fixture('twilio/sms-delivered.json'), Padding: 'x'.repeat(5000) };

    it('by Content-Length, before reading', async () => {
      const { app, producer } = testApp();
      const req = twilioRequest(PATH, big);
      const res = await app.request(PATH, {
        ...req,
        headers: { ...(req.headers as Record<string, string>), 'content-length': String((req.body as string).length) },
      });
      expect(res.status).toBe(413);
      expect(producer.calls).toHaveLength(0);
    });

    it('by the bytes actually read (no Content-Length, chunked)', async () => {
      const { app, producer } = testApp();
      const req = twilioRequest(PATH, big);
      const bytes = new TextEncoder().encode(req.body as string);
      const stream = new ReadableStream<Uint8Array>({
        start(ctrl) {
          for (let i = 0; i < bytes.length; i += 1000) ctrl.enqueue(bytes.slice(i, i + 1000));
          ctrl.close();
        },
      });
      const res = await app.request(PATH, {
        method: 'POST',
        headers: req.headers,
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(producer.calls).toHaveLength(0);
    });

    it('by the bytes actually read when Content-Length lies', async () => {
      const { app, producer } = testApp();
      const req = twilioRequest(PATH, big);
      const res = await app.request(PATH, {
        ...req,
        headers: { ...(req.headers as Record<string, string>), 'content-length': '10' },
      });
      expect(res.status).toBe(413);
      expect(producer.calls).toHaveLength(0);
    });
  });
});

describe('POST /webhooks/twilio: inbound replies', () => {
  // alice was paged on +15551230001 (SMS and WhatsApp: the fixtures' From), carol on another number.
  const recipients = [
    { address: '+15551230001', person: 'alice' },
    { address: 'alice@example.com', person: 'alice' },
    { address: '+15551230003', person: 'carol' },
  ];
  const entry = { incidentId: PAGE.incidentId, alarmArn: PAGE.alarmArn, expiresAt: NOW + 3_600_000, recipients };
  const codes = () => new FakeAckCodes({ '7KQ2MX': entry });

  it('parses ACK replies tolerantly', () => {
    expect(parseAckReply('ACK 7KQ2MX')).toBe('7KQ2MX');
    expect(parseAckReply('  ack   7kq2mx \n')).toBe('7kq2mx');
    expect(parseAckReply('Ack: 7KQ2MX.')).toBe('7KQ2MX');
    expect(parseAckReply('ACK7KQ2MX')).toBe('7KQ2MX');
    expect(parseAckReply('on it')).toBeUndefined();
    expect(parseAckReply('ACK')).toBeUndefined();
    expect(parseAckReply('please ACK 7KQ2MX')).toBeUndefined();
    // a reachability drill asks for OK <code> (README "Reachability drills"); OK needs a separator before the code
    expect(parseAckReply('OK 7KQ2MX')).toBe('7KQ2MX');
    expect(parseAckReply('ok: 7kq2mx!')).toBe('7kq2mx');
    expect(parseAckReply('okay')).toBeUndefined();
    expect(parseAckReply('OK')).toBeUndefined();
    expect(isInboundMessage(fixture('twilio/inbound-sms.json'))).toBe(true);
    expect(isInboundMessage(fixture('twilio/sms-delivered.json'))).toBe(false);
  });

  it.each([
    ['twilio/inbound-sms.json', 'sms', 'sms_reply'],
    ['twilio/inbound-whatsapp.json', 'whatsapp', 'whatsapp_reply'],
  ])('%s with a known code → ack record, TwiML confirmation', async (name, channel, via) => {
    const { app, producer } = testApp({ ackCodes: codes(), now: () => NOW });
    const params: Record<string, string> = { ...fixture(name), Body: ' ack 7kq2mx ' };
    const res = await post(app, twilioRequest('/webhooks/twilio', params));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await res.text()).toContain('<Message>Acknowledged: api-cpu-high.</Message>');
    expect(producer.records).toEqual([
      {
        v: 1,
        kind: 'ack',
        event_id: eventId('ack', 'twilio', params.MessageSid),
        incident_id: PAGE.incidentId,
        alarm_arn: PAGE.alarmArn,
        event_time: new Date(NOW).toISOString(),
        channel,
        via,
        person: 'alice',
        recipient: params.From,
        message_id: params.MessageSid,
      },
    ]);
  });

  it.each([
    ['an unknown number', '+15559990000'],
    ['a paged number, but on another incident', '+15551230002'],
    ['an email address in From', 'alice@example.com'],
    ['no usable number', 'PAGETRAIL'],
  ])('ACK from %s → 200 TwiML saying it was not paged, nothing written', async (_name, from) => {
    const { app, producer, errorSink } = testApp({ ackCodes: codes(), now: () => NOW });
    const res = await post(
      app,
      twilioRequest('/webhooks/twilio', { ...fixture('twilio/inbound-sms.json'), From: from, Body: 'ACK 7KQ2MX' }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    const text = await res.text();
    expect(text).toContain(
      `<Message>This number was not paged for incident ${PAGE.incidentId}; ` +
        `reply from the phone that was paged, or use the link in the email.</Message>`,
    );
    expect(text).toContain(notPagedMessage(PAGE.incidentId));
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(0);
  });

  it('a code with no recipients recorded counts no reply', async () => {
    const ackCodes = new FakeAckCodes({ '7KQ2MX': { ...entry, recipients: [] } });
    const { app, producer } = testApp({ ackCodes });
    const res = await post(
      app,
      twilioRequest('/webhooks/twilio', { ...fixture('twilio/inbound-sms.json'), Body: 'ACK 7KQ2MX' }),
    );
    expect(await res.text()).toContain('This number was not paged');
    expect(producer.calls).toHaveLength(0);
  });

  it('an ack from a paged number whose entry names nobody has no person', async () => {
    const ackCodes = new FakeAckCodes({ '7KQ2MX': { ...entry, recipients: [{ address: '+15551230001' }] } });
    const { app, producer } = testApp({ ackCodes });
    const params: Record<string, string> = { ...fixture('twilio/inbound-whatsapp.json'), Body: 'ACK 7KQ2MX' };
    const res = await post(app, twilioRequest('/webhooks/twilio', params));
    expect(await res.text()).toContain('Acknowledged: api-cpu-high.');
    expect(producer.records).toHaveLength(1);
    expect(producer.records[0]).toMatchObject({
      kind: 'ack',
      via: 'whatsapp_reply',
      recipient: 'whatsapp:+15551230001',
    });
    expect(producer.records[0]).not.toHaveProperty('person');
  });

  it('paged(): compares normalized numbers and names the person only when it is unambiguous', () => {
    const base = { incidentId: PAGE.incidentId, alarmArn: PAGE.alarmArn, expiresAt: NOW };
    expect(paged({ ...base, recipients }, 'whatsapp:+1 555 123 0001')).toEqual({ person: 'alice' });
    expect(paged({ ...base, recipients }, '+15551230003')).toEqual({ person: 'carol' });
    expect(paged({ ...base, recipients }, '+15551230009')).toBeUndefined();
    expect(paged({ ...base, recipients }, undefined)).toBeUndefined();
    const shared = [
      { address: '+15551230001', person: 'alice' },
      { address: '+15551230001', person: 'bob' },
    ];
    expect(paged({ ...base, recipients: shared }, '+15551230001')).toEqual({});
    expect(paged({ ...base, person: 'dave', recipients: [{ address: '+15551230001' }] }, '+15551230001')).toEqual({
      person: 'dave',
    });
  });

  it('the same reply delivered twice yields the same event_id', async () => {
    const { app, producer } = testApp({ ackCodes: codes() });
    const params: Record<string, string> = { ...fixture('twilio/inbound-sms.json'), Body: 'ACK 7KQ2MX' };
    await post(app, twilioRequest('/webhooks/twilio', params));
    await post(app, twilioRequest('/webhooks/twilio', params));
    expect(producer.records).toHaveLength(2);
    expect(new Set(producer.records.map((r) => (r as { event_id: string }).event_id)).size).toBe(1);
  });

  it('an unknown code → 200 TwiML saying so, nothing written', async () => {
    const { app, producer } = testApp({ ackCodes: codes() });
    const res = await post(
      app,
      twilioRequest('/webhooks/twilio', { ...fixture('twilio/inbound-sms.json'), Body: 'ACK ZZZZZZ' }),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Unknown or expired ack code ZZZZZZ.');
    expect(producer.calls).toHaveLength(0);
  });

  it('a reply without ACK → 200 empty TwiML, nothing written', async () => {
    const { app, producer } = testApp({ ackCodes: codes() });
    const res = await post(
      app,
      twilioRequest('/webhooks/twilio', { ...fixture('twilio/inbound-sms.json'), Body: 'looking into it' }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(producer.calls).toHaveLength(0);
  });

  it('a forged reply → 401, the code is never looked up', async () => {
    const ackCodes = codes();
    ackCodes.failWith = new Error('must not be called');
    const { app, producer } = testApp({ ackCodes });
    const res = await post(
      app,
      twilioRequest(
        '/webhooks/twilio',
        { ...fixture('twilio/inbound-sms.json'), Body: 'ACK 7KQ2MX' },
        { token: 'forged' },
      ),
    );
    expect(res.status).toBe(401);
    expect(producer.calls).toHaveLength(0);
  });

  it('503 when the code cannot be looked up or the ack cannot be written', async () => {
    const params: Record<string, string> = { ...fixture('twilio/inbound-sms.json'), Body: 'ACK 7KQ2MX' };
    const down = codes();
    down.failWith = new Error('dynamodb down');
    expect((await post(testApp({ ackCodes: down }).app, twilioRequest('/webhooks/twilio', params))).status).toBe(503);
    const t = testApp({ ackCodes: codes() });
    t.producer.failWith = new Error('kinesis down');
    expect((await post(t.app, twilioRequest('/webhooks/twilio', params))).status).toBe(503);
  });
});

describe('POST /webhooks/twilio: SharedKey signatures (HMAC-SHA256)', () => {
  const SECRET = 'whsk_test_shared_key_secret_0123';
  const SETTINGS = 'key=webhooks_sharedkey_0123456789abcdef,algorithm=HMAC_SHA256';
  const params = fixture('twilio/sms-undelivered-30003.json');
  // Known answer for PUBLIC_BASE_URL + PATH and this fixture, computed with OpenSSL:
  // printf '%s' "$URL$(sorted name+value pairs)" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
  const KNOWN = 'SivuXhvbf5vWDK+jNZ+EZzk773fe+2hCvqYbLiwE2DY=';
  const request = (settings?: string) => ({
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': KNOWN,
      ...(settings ? { 'x-twilio-webhooks-signature-settings': settings } : {}),
    },
    body: formBody(params),
  });

  it('accepted when TWILIO_WEBHOOK_SHARED_KEY_SECRET is set → receipt written', async () => {
    const { app, producer } = testApp({ config: { TWILIO_WEBHOOK_SHARED_KEY_SECRET: SECRET } });
    const res = await app.request(PATH, request(SETTINGS));
    expect(res.status).toBe(200);
    expect(producer.records).toMatchObject([
      { kind: 'receipt', status: 'undelivered', error_code: '30003', incident_id: PAGE.incidentId },
    ]);
  });

  it.each([
    ['the setting is off (the default)', {}, SETTINGS],
    ['another secret configured', { TWILIO_WEBHOOK_SHARED_KEY_SECRET: `${SECRET}x` }, SETTINGS],
    [
      'the settings header dropped (checked as an Auth Token signature)',
      { TWILIO_WEBHOOK_SHARED_KEY_SECRET: SECRET },
      undefined,
    ],
    [
      'the header names HMAC_SHA1',
      { TWILIO_WEBHOOK_SHARED_KEY_SECRET: SECRET },
      SETTINGS.replace('HMAC_SHA256', 'HMAC_SHA1'),
    ],
  ])('401 when %s, nothing written', async (_name, config, settings) => {
    const { app, producer, errorSink } = testApp({ config });
    const res = await app.request(PATH, request(settings));
    expect(res.status).toBe(401);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(0);
  });
});

describe('POST /webhooks/twilio: the URL exactly as requested', () => {
  // Characters `new URL()` re-encodes (' " | ^) or that the legacy fallbacks turn into others (+):
  // Twilio signs the URL with the characters it requested.
  const rawPath = `${PATH}&note=it's+a|"b"^c`;
  const params = fixture('twilio/sms-delivered.json');
  const signature = twilioSignature(TEST_ENV.TWILIO_AUTH_TOKEN, TEST_ENV.PUBLIC_BASE_URL + rawPath, params);

  it('in process: the raw request target handed over by @hono/node-server (env.incoming.url)', async () => {
    const { app, producer } = testApp();
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: formBody(params),
    };
    expect((await app.request(rawPath, init, { incoming: { url: rawPath } })).status).toBe(200);
    expect(producer.records).toHaveLength(1);
  });

  it('over real HTTP (@hono/node-server): raw quote, plus, pipe and double quote in the query → 200', async () => {
    const { app, producer } = testApp();
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    try {
      const { port } = server.address() as AddressInfo;
      const body = formBody(params);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: rawPath,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'content-length': Buffer.byteLength(body),
              'x-twilio-signature': signature,
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(status).toBe(200);
      expect(producer.records).toMatchObject([{ kind: 'receipt', status: 'delivered', incident_id: PAGE.incidentId }]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('the re-encoded URL (new URL(), what was verified before) does not verify the raw signature', () => {
    const url = new URL(TEST_ENV.PUBLIC_BASE_URL + rawPath);
    expect(url.search).toContain('%27'); // ' and " re-encoded
    const err = thrown(() =>
      verifyTwilioRequest(TEST_ENV.TWILIO_AUTH_TOKEN, TEST_ENV.PUBLIC_BASE_URL, {
        pathAndQuery: url.pathname + url.search,
        signature,
        body: formBody(params),
      }),
    );
    expect(err).toBeInstanceOf(SignatureError);
  });
});
