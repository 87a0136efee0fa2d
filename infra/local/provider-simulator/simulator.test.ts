import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Webhook } from 'svix';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resendTags, twilioStatusCallbackUrl, type PageRef } from '../../../schemas/correlation.js';
import { resendClient } from '../../../platform/providers/resend.js';
import { BaseUrlRequestClient, twilioClient } from '../../../platform/providers/twilio.js';
import type { ProviderSimulatorOptions } from './options.js';
import { ackCodeOf, startProviderSimulator, type ProviderSimulator } from './server.js';

const ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH_TOKEN = 'local-test-auth-token-0001';
const RESEND_KEY = 're_local_test_key_0001';
const WEBHOOK_SECRET = 'whsec_' + Buffer.from('local-test-webhook-secret-32bytes!').toString('base64');
/** What the receiver believes its public URL is (behind a TLS proxy): Twilio signs over this. */
const PUBLIC_BASE = 'https://pagetrail.example.com';
const SMS_FROM = '+15550000000';
const WA_FROM = 'whatsapp:+15550000000';

const ref: PageRef = {
  incidentId: 'inc_0001abcd',
  alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-5xx',
  dispatchId: 'dsp_0001abcd',
};

interface Got {
  path: string;
  query: string;
  params?: Record<string, string>;
  payload?: { type: string; data: Record<string, unknown> & { email_id: string; tags?: Record<string, string> } };
  headers: Record<string, string>;
  valid: boolean;
  status: number;
}

/** A tiny webhook receiver: verifies signatures like the real one will, records what it got. */
async function startFakeReceiver() {
  const got: Got[] = [];
  const acks: { method: string; fields: Record<string, string> }[] = [];
  const failures = new Map<string, number>(); // key → how many more 503s to answer
  const app = new Hono();

  const take = (key: string) => {
    const n = failures.get(key) ?? 0;
    if (n > 0) failures.set(key, n - 1);
    return n > 0;
  };

  app.post('/webhooks/twilio', async (c) => {
    const u = new URL(c.req.url);
    const params = Object.fromEntries(new URLSearchParams(await c.req.text()));
    const headers = Object.fromEntries(c.req.raw.headers);
    const valid = twilio.validateRequest(
      AUTH_TOKEN,
      c.req.header('x-twilio-signature') ?? '',
      PUBLIC_BASE + u.pathname + u.search,
      params,
    );
    const status = !valid
      ? 403
      : take(`twilio:${params.MessageSid}:${params.MessageStatus ?? params.SmsStatus}`)
        ? 503
        : 200;
    got.push({ path: u.pathname, query: u.search, params, headers, valid, status });
    return status === 200
      ? c.body('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', 200, { 'content-type': 'text/xml' })
      : c.text('no', status as 403);
  });

  app.post('/webhooks/resend', async (c) => {
    const u = new URL(c.req.url);
    const raw = await c.req.text();
    const headers = Object.fromEntries(c.req.raw.headers);
    let payload: Got['payload'];
    let valid = true;
    try {
      payload = new Webhook(WEBHOOK_SECRET).verify(raw, headers) as Got['payload'];
    } catch {
      valid = false;
    }
    const status = !valid ? 400 : take(`resend:${payload!.data.email_id}:${payload!.type}`) ? 503 : 200;
    got.push({ path: u.pathname, query: u.search, payload, headers, valid, status });
    return c.json({ ok: status === 200 }, status as 200);
  });

  // The acknowledge link: GET must not acknowledge (mail scanners pre-fetch links); it renders a form.
  app.get('/ack', (c) => {
    const token = c.req.query('t') ?? '';
    acks.push({ method: 'GET', fields: { t: token } });
    return c.html(
      `<!doctype html><html><body><h1>Acknowledge page</h1>
       <form method="post" action="/ack?from=form">
         <input type="hidden" name="t" value="${token}">
         <input type="hidden" name="note" value="a &amp; b">
         <button type="submit" name="action" value="ack">Acknowledge</button>
       </form></body></html>`,
      200,
      { 'set-cookie': 'csrf=abc123; Path=/; HttpOnly' },
    );
  });
  app.post('/ack', async (c) => {
    const fields = Object.fromEntries(new URLSearchParams(await c.req.text()));
    acks.push({
      method: 'POST',
      fields: {
        ...fields,
        cookie: c.req.header('cookie') ?? '',
        origin: c.req.header('origin') ?? '',
        query: new URL(c.req.url).search,
      },
    });
    return c.html('<p>Acknowledged</p>');
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    got,
    acks,
    failNext: (key: string, n: number) => failures.set(key, n),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

type Receiver = Awaited<ReturnType<typeof startFakeReceiver>>;

/** A fake receiver, the simulator calling it back (`options` over this file's credentials and URLs), SDK clients. */
async function startLoop(options: Partial<ProviderSimulatorOptions>) {
  const receiver = await startFakeReceiver();
  const sim = await startProviderSimulator({
    accountSid: ACCOUNT_SID,
    twilioAuthToken: AUTH_TOKEN,
    resendApiKey: RESEND_KEY,
    resendWebhookSecret: WEBHOOK_SECRET,
    receiverBaseUrl: receiver.url,
    publicBaseUrl: PUBLIC_BASE,
    ...options,
  }).catch(async (err: unknown) => {
    await receiver.close();
    throw err;
  });
  return {
    receiver,
    sim,
    tw: twilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: sim.url }),
    resend: resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url }),
  };
}

async function closeLoop(sim: ProviderSimulator | undefined, receiver: Receiver | undefined) {
  await sim?.close();
  await receiver?.close();
}

describe('twilio base-URL request client', () => {
  it('rewrites every *.twilio.com host to the base, keeping path and query', () => {
    const c = new BaseUrlRequestClient('http://127.0.0.1:4580/');
    expect(c.rewrite('https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json')).toBe(
      'http://127.0.0.1:4580/2010-04-01/Accounts/AC1/Messages.json',
    );
    expect(c.rewrite('https://api.dublin.ie1.twilio.com/2010-04-01/x.json?PageSize=5')).toBe(
      'http://127.0.0.1:4580/2010-04-01/x.json?PageSize=5',
    );
    expect(new BaseUrlRequestClient('http://sim:1/twilio').rewrite('https://messaging.twilio.com/v1/Services')).toBe(
      'http://sim:1/twilio/v1/Services',
    );
    expect(c.rewrite('https://example.com/x')).toBe('https://example.com/x');
  });
});

describe('provider simulator with the official SDKs', () => {
  let receiver: Receiver;
  let sim: ProviderSimulator;
  let tw: ReturnType<typeof twilioClient>;
  let resend: ReturnType<typeof resendClient>;

  beforeAll(async () => {
    ({ receiver, sim, tw, resend } = await startLoop({
      stepDelayMs: 15,
      retry: { attempts: 4, baseDelayMs: 10 },
      behaviours: {
        '+15551230001': ['delivered'],
        'whatsapp:+15551230004': ['delivered', 'read'],
        '+15551230009': ['undelivered'],
        '+15551230002': ['delivered', 'reply_ack'],
        'whatsapp:+15551230003': ['delivered', 'reply_ack'],
        '+15551230007': ['failed'],
        'Alice@Example.com': ['delivered', 'opened', 'click_ack'],
        'bob@example.com': ['delivered'],
        'erin@example.com': ['bounced'],
        'dan@example.com': ['delayed'],
        'scan@example.com': ['delivered', 'link_scan'],
      },
    }));
  });

  afterAll(() => closeLoop(sim, receiver));

  beforeEach(() => {
    receiver.got.length = 0;
    receiver.acks.length = 0;
  });

  afterEach(() => {
    // Every callback the receiver got carried a valid signature (Twilio over the public URL, Svix).
    expect(receiver.got.filter((g) => !g.valid)).toEqual([]);
  });

  const statusesOf = (sid: string) =>
    receiver.got.filter((g) => g.params?.MessageSid === sid && g.status === 200).map((g) => g.params!.MessageStatus);
  const eventsOf = (id: string) =>
    receiver.got.filter((g) => g.payload?.data.email_id === id && g.status === 200).map((g) => g.payload!.type);

  it('SMS: 201 message resource, then signed status callbacks sent → delivered on the public URL', async () => {
    const statusCallback = twilioStatusCallbackUrl(PUBLIC_BASE, ref);
    const msg = await tw.messages.create({
      to: '+15551230001',
      from: SMS_FROM,
      body: 'P1 orders-5xx. Reply ACK 7KQ2MX',
      statusCallback,
    });
    expect(msg.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(msg.status).toBe('queued');
    expect(msg.to).toBe('+15551230001');
    expect(msg.from).toBe(SMS_FROM);
    expect(msg.accountSid).toBe(ACCOUNT_SID);
    expect(msg.apiVersion).toBe('2010-04-01');
    expect(msg.dateCreated).toBeInstanceOf(Date);
    expect(msg.uri).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${msg.sid}.json`);
    await sim.idle();

    expect(statusesOf(msg.sid)).toEqual(['sent', 'delivered']);
    const cbs = receiver.got.filter((g) => g.params?.MessageSid === msg.sid);
    expect(cbs.every((g) => g.valid)).toBe(true);
    expect(cbs[0].path).toBe('/webhooks/twilio');
    expect(new URLSearchParams(cbs[0].query).get('dispatch')).toBe(ref.dispatchId);
    expect(new URLSearchParams(cbs[0].query).get('alarm')).toBe(ref.alarmArn);
    expect(cbs[1].params).toMatchObject({
      AccountSid: ACCOUNT_SID,
      SmsSid: msg.sid,
      SmsStatus: 'delivered',
      From: SMS_FROM,
      To: '+15551230001',
      ApiVersion: '2010-04-01',
    });
    expect(cbs[1].headers['i-twilio-idempotency-token']).toBeTruthy();

    const fetched = await tw.messages(msg.sid).fetch();
    expect(fetched.status).toBe('delivered');
    const rec = sim.requests().find((r) => r.id === msg.sid)!;
    expect(rec).toMatchObject({
      api: 'twilio',
      status: 201,
      params: { To: '+15551230001', StatusCallback: statusCallback },
    });
    expect(JSON.stringify(sim.requests())).not.toContain(AUTH_TOKEN);
  });

  it(
    'WhatsApp template (contentSid + contentVariables): ' + 'sent → delivered → read, with channel params',
    async () => {
      const msg = await tw.messages.create({
        to: 'whatsapp:+15551230004',
        from: WA_FROM,
        contentSid: 'HX00000000000000000000000000000001',
        contentVariables: JSON.stringify({ 1: 'orders-5xx', 2: '7KQ2MX' }),
        statusCallback: twilioStatusCallbackUrl(PUBLIC_BASE, ref),
      });
      await sim.idle();
      expect(statusesOf(msg.sid)).toEqual(['sent', 'delivered', 'read']);
      const read = receiver.got.find((g) => g.params?.MessageSid === msg.sid && g.params.MessageStatus === 'read')!;
      expect(read.valid).toBe(true);
      expect(read.params).toMatchObject({
        ChannelPrefix: 'whatsapp',
        ChannelToAddress: '+15551230004',
        To: 'whatsapp:+15551230004',
        From: WA_FROM,
      });
    },
  );

  it('a free-form WhatsApp body outside the 24 h window fails with 63016', async () => {
    const msg = await tw.messages.create({
      to: 'whatsapp:+15551230004',
      from: WA_FROM,
      body: 'hello',
      statusCallback: twilioStatusCallbackUrl(PUBLIC_BASE, ref),
    });
    await sim.idle();
    expect(statusesOf(msg.sid)).toEqual(['failed']);
    expect(receiver.got.find((g) => g.params?.MessageSid === msg.sid)!.params!.ErrorCode).toBe('63016');
  });

  it('undelivered SMS carries ErrorCode 30003; failed carries 30008 without sent', async () => {
    const cb = twilioStatusCallbackUrl(PUBLIC_BASE, ref);
    const a = await tw.messages.create({ to: '+15551230009', from: SMS_FROM, body: 'P1', statusCallback: cb });
    const b = await tw.messages.create({ to: '+15551230007', from: SMS_FROM, body: 'P1', statusCallback: cb });
    await sim.idle();
    expect(statusesOf(a.sid)).toEqual(['sent', 'undelivered']);
    const und = receiver.got.find((g) => g.params?.MessageSid === a.sid && g.params.MessageStatus === 'undelivered')!;
    expect(und.params).toMatchObject({ ErrorCode: '30003', ErrorMessage: 'Unreachable destination handset' });
    expect(statusesOf(b.sid)).toEqual(['failed']);
    expect(receiver.got.find((g) => g.params?.MessageSid === b.sid)!.params!.ErrorCode).toBe('30008');
  });

  it('reply_ack: the recipient answers ACK <code> as a signed inbound message webhook (SMS and WhatsApp)', async () => {
    const sms = await tw.messages.create({
      to: '+15551230002',
      from: SMS_FROM,
      body: 'P1 billing-db. Reply ACK Q9ZK4T',
      statusCallback: twilioStatusCallbackUrl(PUBLIC_BASE, ref),
    });
    const wa = await tw.messages.create({
      to: 'whatsapp:+15551230003',
      from: WA_FROM,
      contentSid: 'HX00000000000000000000000000000001',
      contentVariables: JSON.stringify({ 1: 'billing-db', 2: 'ACK W4RT8P' }),
    });
    await sim.idle();
    const inbound = receiver.got.filter((g) => g.params?.SmsStatus === 'received');
    expect(inbound).toHaveLength(2);
    const s = inbound.find((g) => g.params!.From === '+15551230002')!;
    expect(s.valid).toBe(true);
    expect(s.path).toBe('/webhooks/twilio');
    expect(s.query).toBe('');
    expect(s.params).toMatchObject({ To: SMS_FROM, Body: 'ACK Q9ZK4T', NumMedia: '0', AccountSid: ACCOUNT_SID });
    expect(s.params!.MessageSid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(s.params!.MessageSid).not.toBe(sms.sid);
    const w = inbound.find((g) => g.params!.From === 'whatsapp:+15551230003')!;
    expect(w.params).toMatchObject({ To: WA_FROM, Body: 'ACK W4RT8P', WaId: '15551230003' });
    expect(wa.sid).toMatch(/^SM/);
  });

  it('finds the ACK code in the body, the variables, or a code-named variable', () => {
    expect(ackCodeOf({ body: 'Reply ACK 7KQ2MX to acknowledge' })).toBe('7KQ2MX');
    expect(ackCodeOf({ variables: { '1': 'x', '2': 'ACK AB12' } })).toBe('AB12');
    expect(ackCodeOf({ variables: { ack_code: 'ZZ99YY' } })).toBe('ZZ99YY');
    expect(ackCodeOf({ body: 'no code here' })).toBeUndefined();
  });

  it('the SDK throws the provider errors: 20003 on wrong auth, 21211 on an invalid To', async () => {
    const bad = twilioClient({ accountSid: ACCOUNT_SID, authToken: 'wrong-token', apiBaseUrl: sim.url });
    const err = await bad.messages.create({ to: '+15551230001', from: SMS_FROM, body: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(twilio.RestException);
    expect(err).toMatchObject({ status: 401, code: 20003 });
    const err2 = await tw.messages.create({ to: '555-NOPE', from: SMS_FROM, body: 'x' }).catch((e: unknown) => e);
    expect(err2).toMatchObject({ status: 400, code: 21211, moreInfo: 'https://www.twilio.com/docs/errors/21211' });
    const err3 = await tw.messages.create({ to: '+15551230001', from: SMS_FROM }).catch((e: unknown) => e);
    expect(err3).toMatchObject({ status: 400, code: 21619 });
  });

  it(
    'email: svix-signed webhooks sent → delivered → opened with the page tags; ' + 'bounced; delivery_delayed',
    async () => {
      const html = '<p>P1 orders-5xx</p>';
      const bob = await resend.emails.send({
        from: 'Pagetrail Alerts <alerts@pagetrail.example>',
        to: ['bob@example.com'],
        subject: 'P1',
        html,
        tags: resendTags(ref),
      });
      const erin = await resend.emails.send({
        from: 'alerts@pagetrail.example',
        to: 'erin@example.com',
        subject: 'P3',
        html,
        tags: resendTags(ref),
      });
      const dan = await resend.emails.send({
        from: 'alerts@pagetrail.example',
        to: 'dan@example.com',
        subject: 'P3',
        html,
      });
      expect(bob.error).toBeNull();
      expect(bob.data!.id).toMatch(/^[0-9a-f-]{36}$/);
      await sim.idle();
      expect(eventsOf(bob.data!.id)).toEqual(['email.sent', 'email.delivered']);
      expect(eventsOf(erin.data!.id)).toEqual(['email.sent', 'email.bounced']);
      expect(eventsOf(dan.data!.id)).toEqual(['email.sent', 'email.delivery_delayed', 'email.delivered']);

      const delivered = receiver.got.find(
        (g) => g.payload?.data.email_id === bob.data!.id && g.payload.type === 'email.delivered',
      )!;
      expect(delivered.valid).toBe(true);
      expect(delivered.path).toBe('/webhooks/resend');
      expect(delivered.headers['svix-id']).toMatch(/^msg_/);
      expect(delivered.payload!.data).toMatchObject({
        to: ['bob@example.com'],
        subject: 'P1',
        from: 'Pagetrail Alerts <alerts@pagetrail.example>',
        tags: { incident_id: ref.incidentId, dispatch_id: ref.dispatchId },
      });
      const bounced = receiver.got.find((g) => g.payload?.type === 'email.bounced')!;
      expect(bounced.payload!.data.bounce).toMatchObject({ type: 'Permanent', subType: 'General' });
      const ids = receiver.got.filter((g) => g.payload).map((g) => g.headers['svix-id']);
      expect(new Set(ids).size).toBe(ids.length);
    },
  );

  it('idempotency key: the same key returns the same id and sends nothing new', async () => {
    const payload = {
      from: 'alerts@pagetrail.example',
      to: ['bob@example.com'],
      subject: 'P1 idem',
      html: '<p>x</p>',
      tags: resendTags(ref),
    };
    const first = await resend.emails.send(payload, { idempotencyKey: 'dispatch/dsp_idem_1' });
    await sim.idle();
    const before = receiver.got.length;
    const second = await resend.emails.send(payload, { idempotencyKey: 'dispatch/dsp_idem_1' });
    await sim.idle();
    expect(second.data!.id).toBe(first.data!.id);
    expect(receiver.got.length).toBe(before);
    expect(eventsOf(first.data!.id)).toEqual(['email.sent', 'email.delivered']);
    const replay = sim.requests().filter((r) => r.idempotencyKey === 'dispatch/dsp_idem_1');
    expect(replay.map((r) => r.replayed ?? false)).toEqual([false, true]);
    const conflict = await resend.emails.send(
      { ...payload, subject: 'changed' },
      { idempotencyKey: 'dispatch/dsp_idem_1' },
    );
    expect(conflict.error).toMatchObject({ name: 'invalid_idempotent_request', statusCode: 409 });
  });

  it('Resend wrong API key: the SDK returns the provider error (it does not throw)', async () => {
    const bad = resendClient({ apiKey: 're_wrong', baseUrl: sim.url });
    const r = await bad.emails.send({
      from: 'alerts@pagetrail.example',
      to: 'bob@example.com',
      subject: 'x',
      html: 'x',
    });
    expect(r.data).toBeNull();
    expect(r.error).toMatchObject({ name: 'invalid_api_key', statusCode: 403 });
    const v = await resend.emails.send({ from: 'not an address', to: 'bob@example.com', subject: 'x', html: 'x' });
    expect(v.error).toMatchObject({ name: 'validation_error', statusCode: 422 });
  });

  it('a receiver 503 is retried (same idempotency token / svix-id) and then accepted', async () => {
    const msg = await tw.messages.create({
      to: '+15551230001',
      from: SMS_FROM,
      body: 'P1',
      statusCallback: twilioStatusCallbackUrl(PUBLIC_BASE, ref),
    });
    receiver.failNext(`twilio:${msg.sid}:sent`, 2);
    const mail = await resend.emails.send({
      from: 'alerts@pagetrail.example',
      to: 'bob@example.com',
      subject: 'P1 retry',
      html: '<p>x</p>',
    });
    receiver.failNext(`resend:${mail.data!.id}:email.sent`, 1);
    await sim.idle();

    const sent = receiver.got.filter((g) => g.params?.MessageSid === msg.sid && g.params.MessageStatus === 'sent');
    expect(sent.map((g) => g.status)).toEqual([503, 503, 200]);
    expect(new Set(sent.map((g) => g.headers['i-twilio-idempotency-token'])).size).toBe(1);
    expect(statusesOf(msg.sid)).toEqual(['sent', 'delivered']);
    const attempts = sim.callbacks().filter((c) => c.messageId === msg.sid && c.event === 'sent');
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);

    const es = receiver.got.filter(
      (g) => g.payload?.data.email_id === mail.data!.id && g.payload.type === 'email.sent',
    );
    expect(es.map((g) => g.status)).toEqual([503, 200]);
    expect(es[0].headers['svix-id']).toBe(es[1].headers['svix-id']);
    expect(es.every((g) => g.valid)).toBe(true);
  });

  it('click_ack: GET the acknowledge link (renders a form), then POST the form fields like a person', async () => {
    const ackUrl = `${PUBLIC_BASE}/ack?t=tok_abc.123&amp;x=1`;
    const html =
      `<p>P1 orders-5xx</p><p><a href="https://runbooks.example.com/orders">Runbook</a> ` +
      `<a href="${ackUrl}">Acknowledge</a></p>`;
    const r = await resend.emails.send({
      from: 'alerts@pagetrail.example',
      to: 'alice@example.com',
      subject: 'P1',
      html,
      tags: resendTags(ref),
    });
    await sim.idle();
    expect(eventsOf(r.data!.id)).toEqual(['email.sent', 'email.delivered', 'email.opened', 'email.clicked']);
    expect(receiver.acks.map((a) => a.method)).toEqual(['GET', 'POST']);
    expect(receiver.acks[0].fields.t).toBe('tok_abc.123');
    expect(receiver.acks[1].fields).toMatchObject({
      t: 'tok_abc.123',
      note: 'a & b',
      action: 'ack',
      cookie: 'csrf=abc123',
      origin: PUBLIC_BASE,
      query: '?from=form',
    });
    const flow = sim.callbacks().filter((c) => c.messageId === r.data!.id && c.kind.startsWith('ack.'));
    expect(flow.map((c) => [c.kind, c.status])).toEqual([
      ['ack.get', 200],
      ['ack.post', 200],
    ]);
  });

  it('link_scan: a scanner GETs the link and never POSTs', async () => {
    await resend.emails.send({
      from: 'alerts@pagetrail.example',
      to: 'scan@example.com',
      subject: 'P1',
      html: `<a href="${PUBLIC_BASE}/ack?t=scan1">Ack</a>`,
    });
    await sim.idle();
    expect(receiver.acks.map((a) => a.method)).toEqual(['GET']);
  });

  it('setBehaviour changes what a recipient does', async () => {
    sim.setBehaviour('+15551230042', ['no_answer']);
    const msg = await tw.messages.create({
      to: '+15551230042',
      from: SMS_FROM,
      body: 'P1',
      statusCallback: twilioStatusCallbackUrl(PUBLIC_BASE, ref),
    });
    await sim.idle();
    expect(statusesOf(msg.sid)).toEqual(['sent']);
  });
});

describe('provider simulator: list API, idempotency, hangs and faults', () => {
  let receiver: Receiver;
  let sim: ProviderSimulator;
  let tw: ReturnType<typeof twilioClient>;
  let resend: ReturnType<typeof resendClient>;
  const cb = (dispatchId: string) => twilioStatusCallbackUrl(PUBLIC_BASE, { ...ref, dispatchId });

  beforeAll(async () => {
    ({ receiver, sim, tw, resend } = await startLoop({
      stepDelayMs: 5,
      retry: { attempts: 2, baseDelayMs: 5 },
      hangMs: 400,
      contentTemplates: { HX00000000000000000000000000000009: 'Alarm {{1}}: reply {{2}}. {{3}}' },
      behaviours: { '+15551239901': ['hang', 'delivered'], 'hang@example.com': ['hang', 'delivered'] },
    }));
  });

  afterAll(() => closeLoop(sim, receiver));

  it('lists messages by To and DateSent> in Twilio page shape; twilio-node pages through it', async () => {
    const to = '+15551239801';
    const sids: string[] = [];
    for (let i = 0; i < 5; i++)
      sids.push(
        (
          await tw.messages.create({
            to,
            from: SMS_FROM,
            body: `P1 page ${i} Ref ABCDEFG${i}`,
            statusCallback: cb(`dsp_list_${i}`),
          })
        ).sid,
      );
    await tw.messages.create({ to: '+15551239802', from: SMS_FROM, body: 'someone else' });
    await sim.idle(); // every message is sent: date_sent set

    const all = await tw.messages.list({ to, pageSize: 2 });
    expect(all.map((m) => m.sid).sort()).toEqual([...sids].sort());
    expect(all[0].sid).toBe(sids[4]); // newest first
    const pages = sim
      .requests()
      .filter((r) => r.method === 'GET' && r.path.endsWith('/Messages.json') && r.query?.To === to);
    expect(pages.map((p) => p.count)).toEqual([2, 2, 1]);
    expect(pages[1].query).toMatchObject({ PageSize: '2', Page: '1', PageToken: `PA${sids[3]}` });

    const limited = await tw.messages.list({ to, limit: 3, pageSize: 2 });
    expect(limited).toHaveLength(3);
    const m = all.find((x) => x.sid === sids[2])!;
    expect(m).toMatchObject({
      to,
      from: SMS_FROM,
      status: 'delivered',
      body: 'P1 page 2 Ref ABCDEFG2',
      direction: 'outbound-api',
    });
    expect(m.dateSent).toBeInstanceOf(Date);

    expect(await tw.messages.list({ to, dateSentAfter: new Date(Date.now() + 5_000) })).toEqual([]);
    expect(
      (
        await tw.messages.list({
          to,
          dateSentAfter: new Date(Date.now() - 60_000),
          dateSentBefore: new Date(Date.now() + 60_000),
        })
      ).length,
    ).toBe(5);
    const today = new Date().toISOString().slice(0, 10);
    const raw = await fetch(
      `${sim.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json` +
        `?To=${encodeURIComponent(to)}&DateSent=${today}&PageSize=50`,
      {
        headers: { authorization: 'Basic ' + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64') },
      },
    );
    const page = (await raw.json()) as Record<string, unknown> & { messages: { sid: string; date_sent: string }[] };
    expect(page).toMatchObject({ page: 0, page_size: 50, next_page_uri: null, start: 0, previous_page_uri: null });
    expect(String(page.uri)).toContain('/Messages.json?');
    expect(page.messages).toHaveLength(5);
    expect(page.messages[0].date_sent).toMatch(/\+0000$/);
    const bad = await tw.messages.list({ to, pageSize: 2000 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400 });
  });

  it('a template message gets its rendered body (or the variables joined) in the list', async () => {
    const to = 'whatsapp:+15551239803';
    await tw.messages.create({
      to,
      from: WA_FROM,
      contentSid: 'HX00000000000000000000000000000009',
      contentVariables: JSON.stringify({ 1: 'orders-5xx', 2: 'ACK 7KQ2MX', 3: 'Ref 7Q2M9XKD' }),
    });
    await tw.messages.create({
      to,
      from: WA_FROM,
      contentSid: 'HX0000000000000000000000000000000a',
      contentVariables: JSON.stringify({ 2: 'b', 1: 'a', 10: 'Ref 8R3N0YMA' }),
    });
    const bodies = (await tw.messages.list({ to })).map((m) => m.body);
    expect(bodies).toContain('Alarm orders-5xx: reply ACK 7KQ2MX. Ref 7Q2M9XKD');
    expect(bodies).toContain('a · b · Ref 8R3N0YMA');
    const recs = sim.requests().filter((r) => r.method === 'POST' && r.recipient === to);
    expect(recs.map((r) => r.reference).sort()).toEqual(['7Q2M9XKD', '8R3N0YMA']);
    await sim.idle();
  });

  it('records receive time, recipient, reference and dispatch id of every send', async () => {
    const before = Date.now();
    const msg = await tw.messages.create({
      to: '+15551239804',
      from: SMS_FROM,
      body: 'P1 x. Ref 9S4P1ZNB',
      statusCallback: cb('dsp_rec_1'),
    });
    const email = await resend.emails.send(
      {
        from: 'alerts@pagetrail.example',
        to: 'rec@example.com',
        subject: 'P1',
        text: 'P1 x\nRef 9S4P1ZNC',
        tags: resendTags({ ...ref, dispatchId: 'dsp_rec_2' }),
      },
      { idempotencyKey: 'dsp_rec_2' },
    );
    const r1 = sim.requests().find((r) => r.id === msg.sid)!;
    expect(r1).toMatchObject({
      recipient: '+15551239804',
      reference: '9S4P1ZNB',
      dispatchId: 'dsp_rec_1',
      status: 201,
    });
    expect(r1.receivedAt).toBeGreaterThanOrEqual(before);
    expect(r1.answeredAt).toBeGreaterThanOrEqual(r1.receivedAt);
    expect(sim.requests().find((r) => r.id === email.data!.id)).toMatchObject({
      recipient: 'rec@example.com',
      reference: '9S4P1ZNC',
      dispatchId: 'dsp_rec_2',
    });
    const served = (await (await fetch(`${sim.url}/__sim/requests`)).json()) as { id?: string; receivedAt: number }[];
    expect(served.find((r) => r.id === msg.sid)?.receivedAt).toBe(r1.receivedAt);
    await sim.idle();
  });

  it('hang step: the message is created and its callbacks follow, but the API answer comes hangMs late', async () => {
    const quick = twilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: sim.url, timeoutMs: 100 });
    const err = await quick.messages
      .create({ to: '+15551239901', from: SMS_FROM, body: 'P1 hang. Ref 0HANGSMS', statusCallback: cb('dsp_hang_1') })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNABORTED' });
    const listed = await tw.messages.list({ to: '+15551239901' });
    expect(listed).toHaveLength(1);
    expect(listed[0].body).toContain('Ref 0HANGSMS');
    const rec = sim.requests().find((r) => r.id === listed[0].sid)!;
    expect(rec).toMatchObject({ hungMs: 400, status: 201 });
    await sim.idle();
    expect(
      receiver.got.filter((g) => g.params?.MessageSid === listed[0].sid).map((g) => g.params!.MessageStatus),
    ).toEqual(['sent', 'delivered']);
  });

  it(
    'idempotency: a re-send while the first answer hangs is 409 concurrent_idempotent_requests; after it, the same ' +
      'id; one email, one set of webhooks',
    async () => {
      const payload = {
        from: 'alerts@pagetrail.example',
        to: 'hang@example.com',
        subject: 'P1 hang',
        text: 'Ref 0HANGEML',
      };
      const first = resend.emails.send(payload, { idempotencyKey: 'dsp_hang_mail' });
      await expect.poll(() => sim.requests().filter((r) => r.idempotencyKey === 'dsp_hang_mail').length).toBe(1);
      const concurrent = await resend.emails.send(payload, { idempotencyKey: 'dsp_hang_mail' });
      expect(concurrent.error).toMatchObject({ statusCode: 409, name: 'concurrent_idempotent_requests' });
      const a = await first; // answered after hangMs
      const b = await resend.emails.send(payload, { idempotencyKey: 'dsp_hang_mail' });
      expect(b.data!.id).toBe(a.data!.id);
      const conflict = await resend.emails.send({ ...payload, text: 'other' }, { idempotencyKey: 'dsp_hang_mail' });
      expect(conflict.error).toMatchObject({ statusCode: 409, name: 'invalid_idempotent_request' });
      await sim.idle();
      const created = sim
        .requests()
        .filter((r) => r.idempotencyKey === 'dsp_hang_mail' && r.status === 200 && !r.replayed);
      expect(created).toHaveLength(1);
      expect(receiver.got.filter((g) => g.payload?.data.email_id === a.data!.id).map((g) => g.payload!.type)).toEqual([
        'email.sent',
        'email.delivered',
      ]);
    },
  );

  it('one-shot faults: 500 after accepting, 429 before, a reset; then normal', async () => {
    const to = '+15551239805';
    sim.injectFaults(to, [
      { type: 'error', status: 500, accepted: true },
      { type: 'error', status: 429 },
      { type: 'reset' },
    ]);
    const e1 = await tw.messages.create({ to, from: SMS_FROM, body: 'Ref 1FAULTAA' }).catch((e: unknown) => e);
    expect(e1).toMatchObject({ status: 500, code: 20500 });
    const e2 = await tw.messages.create({ to, from: SMS_FROM, body: 'Ref 1FAULTAB' }).catch((e: unknown) => e);
    expect(e2).toMatchObject({ status: 429, code: 20429 });
    const e3 = await tw.messages.create({ to, from: SMS_FROM, body: 'Ref 1FAULTAC' }).catch((e: unknown) => e);
    expect(e3).toMatchObject({ code: 'ECONNRESET' });
    const ok = await tw.messages.create({ to, from: SMS_FROM, body: 'Ref 1FAULTAD' });
    expect((await tw.messages.list({ to })).map((m) => m.sid).sort()).toEqual(
      [ok.sid, sim.requests().find((r) => r.fault === 'error 500 after accepting')!.id!].sort(),
    );
    expect(
      sim
        .requests()
        .filter((r) => r.recipient === to)
        .map((r) => r.fault),
    ).toEqual(['error 500 after accepting', 'error 429', 'reset', undefined]);
    const put = await fetch(`${sim.url}/__sim/faults/${encodeURIComponent(to)}`, {
      method: 'PUT',
      body: JSON.stringify([{ type: 'explode' }]),
    });
    expect(put.status).toBe(400);
    await sim.idle();
  });

  it('an outage refuses every send to any recipient until it is cleared; a one-shot fault waits', async () => {
    const [a, b] = ['+15551239811', '+15551239812'];
    sim.injectFaults(a, [{ type: 'error', status: 429 }]);
    const put = (body: unknown) => fetch(`${sim.url}/__sim/outage`, { method: 'PUT', body: JSON.stringify(body) });
    expect((await put({ type: 'error', status: 503 })).status).toBe(204);
    for (const to of [a, b]) {
      const e = await tw.messages.create({ to, from: SMS_FROM, body: 'Ref 2OUTAGEA' }).catch((err: unknown) => err);
      expect(e).toMatchObject({ status: 503, code: 20503 });
    }
    expect((await put({ type: 'explode' })).status).toBe(400);
    expect((await fetch(`${sim.url}/__sim/outage`, { method: 'DELETE' })).status).toBe(204);
    const e = await tw.messages.create({ to: a, from: SMS_FROM, body: 'Ref 2OUTAGEB' }).catch((err: unknown) => err);
    expect(e).toMatchObject({ status: 429 });
    await tw.messages.create({ to: b, from: SMS_FROM, body: 'Ref 2OUTAGEC' });
    expect(
      sim
        .requests()
        .filter((r) => r.recipient === a || r.recipient === b)
        .map((r) => r.fault),
    ).toEqual(['outage: error 503', 'outage: error 503', 'error 429', undefined]);
    await sim.idle();
  });
});

describe('provider simulator: seeded hang fraction', () => {
  async function hungSet(seed: string): Promise<string[]> {
    const { receiver, sim, tw } = await startLoop({
      stepDelayMs: 1,
      hangFraction: 0.5,
      hangMs: 1,
      seed,
    });
    try {
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          tw.messages.create({
            to: '+15551239900',
            from: SMS_FROM,
            body: `p${i}`,
            statusCallback: twilioStatusCallbackUrl(PUBLIC_BASE, { ...ref, dispatchId: `dsp_seed_${i}` }),
          }),
        ),
      );
      await sim.idle();
      return sim
        .requests()
        .filter((r) => r.hungMs)
        .map((r) => r.dispatchId!)
        .sort();
    } finally {
      await closeLoop(sim, receiver);
    }
  }

  it('the same seed hangs the same pages, whatever the arrival order; another seed others', async () => {
    const a = await hungSet('s1');
    expect(a.length).toBeGreaterThan(3);
    expect(a.length).toBeLessThan(21);
    expect(await hungSet('s1')).toEqual(a);
    expect(await hungSet('s2')).not.toEqual(a);
  });
});
