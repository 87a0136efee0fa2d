import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resend } from 'resend';
import { resendClient } from '../../../platform/providers/resend.js';
import { twilioClient, type TwilioClient } from '../../../platform/providers/twilio.js';
import { startProviderSimulator, type ProviderSimulator } from './server.js';

/** The account configuration APIs (twilio-account.ts, resend-webhook-api.ts) through the official SDKs. */

const ACCOUNT_SID = 'AC' + 'abcdef0123456789'.repeat(2);
const AUTH_TOKEN = 'local-test-auth-token-0002';
const RESEND_KEY = 're_local_test_key_0002';
const WEBHOOK_SECRET = 'whsec_' + Buffer.from('local-test-webhook-secret-32bytes!').toString('base64');
const SERVICE = 'MG' + '0'.repeat(31) + '1';

let sim: ProviderSimulator;
let tw: TwilioClient;
let resend: Resend;

beforeAll(async () => {
  sim = await startProviderSimulator({
    accountSid: ACCOUNT_SID,
    twilioAuthToken: AUTH_TOKEN,
    resendApiKey: RESEND_KEY,
    resendWebhookSecret: WEBHOOK_SECRET,
    receiverBaseUrl: 'http://127.0.0.1:9',
    phoneNumbers: ['+15551110001', '+15551110002', '+445551110001'],
    whatsappSenders: ['whatsapp:+15551110001'],
    messagingServices: [SERVICE],
  });
  tw = twilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: sim.url });
  resend = resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url });
});
afterAll(() => sim?.close());

describe('Twilio IncomingPhoneNumbers', () => {
  it('lists the numbers containing PhoneNumber, pages through all, and keeps an update', async () => {
    const all = await tw.incomingPhoneNumbers.list({ pageSize: 2 });
    expect(all.map((n) => n.phoneNumber).sort()).toEqual(['+15551110001', '+15551110002', '+445551110001']);
    const found = await tw.incomingPhoneNumbers.list({ phoneNumber: '+15551110001' });
    expect(found.map((n) => n.phoneNumber)).toEqual(['+15551110001']);
    expect(found[0].sid).toMatch(/^PN[0-9a-f]{32}$/);
    expect(found[0].capabilities).toMatchObject({ sms: true, voice: true });
    expect(await tw.incomingPhoneNumbers.list({ phoneNumber: '+15559999999' })).toEqual([]);

    const updated = await tw
      .incomingPhoneNumbers(found[0].sid)
      .update({ smsUrl: 'https://alerts.example.com/webhooks/twilio', smsMethod: 'post', smsApplicationSid: '' });
    expect(updated).toMatchObject({
      smsUrl: 'https://alerts.example.com/webhooks/twilio',
      smsMethod: 'POST',
      smsApplicationSid: null,
      voiceUrl: null,
    });
    const again = await tw.incomingPhoneNumbers(found[0].sid).fetch();
    expect(again.smsUrl).toBe('https://alerts.example.com/webhooks/twilio');
  });

  it('answers Twilio errors: unknown number 404, bad URL 400, wrong credentials 401', async () => {
    await expect(
      tw.incomingPhoneNumbers('PN' + 'f'.repeat(32)).update({ smsUrl: 'https://x.example.com' }),
    ).rejects.toMatchObject({ status: 404, code: 20404 });
    const [n] = await tw.incomingPhoneNumbers.list({ phoneNumber: '+15551110002' });
    await expect(tw.incomingPhoneNumbers(n.sid).update({ voiceUrl: 'not a url' })).rejects.toMatchObject({
      status: 400,
    });
    const wrong = twilioClient({ accountSid: ACCOUNT_SID, authToken: 'wrong-token-000000000', apiBaseUrl: sim.url });
    await expect(wrong.incomingPhoneNumbers.list()).rejects.toMatchObject({ status: 401, code: 20003 });
  });
});

describe('Twilio Senders API (WhatsApp) and Messaging Services', () => {
  it('lists WhatsApp senders and merges a webhook update (snake_case, as the API takes it)', async () => {
    const senders = await tw.messaging.v2.channelsSenders.list({ channel: 'whatsapp' });
    expect(senders.map((s) => s.senderId)).toEqual(['whatsapp:+15551110001']);
    expect(senders[0].sid).toMatch(/^XE[0-9a-f]{32}$/);
    const webhook = { callback_url: 'https://alerts.example.com/webhooks/twilio', callback_method: 'POST' };
    const updated = await tw.messaging.v2.channelsSenders(senders[0].sid).update({ webhook } as never);
    expect(updated.webhook).toMatchObject({
      callbackUrl: webhook.callback_url,
      callbackMethod: 'POST',
      statusCallbackUrl: null,
    });
    const fetched = await tw.messaging.v2.channelsSenders(senders[0].sid).fetch();
    expect(fetched.webhook.callbackUrl).toBe(webhook.callback_url);
    // camelCase keys are what the SDK's type suggests but not what the API takes: refused, not ignored.
    await expect(
      tw.messaging.v2.channelsSenders(senders[0].sid).update({ webhook: { callbackUrl: 'https://x.example.com' } }),
    ).rejects.toMatchObject({ status: 400 });
    expect(await tw.messaging.v2.channelsSenders.list({ channel: 'rcs' })).toEqual([]);
  });

  it('fetches and updates a Messaging Service inbound URL; an unknown service is 404', async () => {
    const before = await tw.messaging.v1.services(SERVICE).fetch();
    expect(before.inboundRequestUrl).toBeNull();
    const after = await tw.messaging.v1
      .services(SERVICE)
      .update({ inboundRequestUrl: 'https://alerts.example.com/webhooks/twilio', inboundMethod: 'POST' });
    expect(after).toMatchObject({
      inboundRequestUrl: 'https://alerts.example.com/webhooks/twilio',
      inboundMethod: 'POST',
    });
    await expect(tw.messaging.v1.services('MG' + 'e'.repeat(32)).fetch()).rejects.toMatchObject({ status: 404 });
  });
});

describe('Resend webhook endpoints', () => {
  it('creates, lists (paged), gets with the signing secret, updates and deletes', async () => {
    const created = await resend.webhooks.create({
      endpoint: 'https://alerts.example.com/webhooks/resend',
      events: ['email.delivered', 'email.bounced'],
    });
    expect(created.error).toBeNull();
    expect(created.data?.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const second = await resend.webhooks.create({ endpoint: 'https://other.example.com/hook', events: ['email.sent'] });
    const id = created.data!.id;

    const first = await resend.webhooks.list({ limit: 1 });
    expect(first.data).toMatchObject({ object: 'list', has_more: true });
    expect(first.data!.data[0].id).toBe(second.data!.id);
    const rest = await resend.webhooks.list({ limit: 1, after: first.data!.data[0].id });
    expect(rest.data!.data.map((w) => w.id)).toEqual([id]);
    expect(rest.data!.has_more).toBe(false);
    expect(rest.data!.data[0]).not.toHaveProperty('signing_secret');

    const got = await resend.webhooks.get(id);
    expect(got.data).toMatchObject({
      endpoint: 'https://alerts.example.com/webhooks/resend',
      status: 'enabled',
      signing_secret: created.data!.signing_secret,
    });
    const upd = await resend.webhooks.update(id, { events: ['email.opened'], status: 'disabled' });
    expect(upd.data).toEqual({ object: 'webhook', id });
    expect((await resend.webhooks.get(id)).data).toMatchObject({ events: ['email.opened'], status: 'disabled' });
    expect((await resend.webhooks.remove(second.data!.id)).data).toMatchObject({ deleted: true });
    expect((await resend.webhooks.get(second.data!.id)).error).toMatchObject({ statusCode: 404, name: 'not_found' });
  });

  it('refuses bad input with 422 and a wrong key with 403', async () => {
    const bad = await resend.webhooks.create({ endpoint: 'nope', events: ['email.sent'] });
    expect(bad.error).toMatchObject({ statusCode: 422 });
    const noEvents = await resend.webhooks.create({ endpoint: 'https://a.example.com', events: [] });
    expect(noEvents.error).toMatchObject({ statusCode: 422 });
    const wrong = resendClient({ apiKey: 're_wrong_key_000000000', baseUrl: sim.url });
    expect((await wrong.webhooks.list()).error).toMatchObject({ statusCode: 403 });
  });

  it('records every configuration request', () => {
    const paths = sim
      .requests()
      .map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}$|(PN|XE)[0-9a-f]{32}(\.json)?$/, ':id')}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'GET /webhooks',
        'POST /webhooks',
        'PATCH /webhooks/:id',
        'POST /v2/Channels/Senders/:id',
      ]),
    );
  });
});
