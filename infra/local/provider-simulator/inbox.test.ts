import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resendClient } from '../../../platform/providers/resend.js';
import { signInMessage } from '../../../producers/receiver/auth/mailer.js';
import { twilioClient } from '../../../platform/providers/twilio.js';
import type { InboxEntry } from './inbox.js';
import { startProviderSimulator, type ProviderSimulator } from './server.js';

/**
 * `GET /__sim/inbox`: what the simulator was sent, as the people paged would see it, with the way to
 * acknowledge each page; in-process, against a receiver that only records what it is sent.
 */
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'local-test-auth-token-0001';
const RESEND_KEY = 're_local_test_key_0001';
const WEBHOOK_SECRET = `whsec_${Buffer.from('local-test-webhook-secret-32bytes!').toString('base64')}`;
/** The receiver's public origin (behind a proxy): ack links carry it, the inbox opens them on the receiver. */
const PUBLIC_BASE = 'https://pagetrail.example.com';

let receiver: { url: string; inbound: { params: Record<string, string>; valid: boolean }[]; close(): Promise<void> };
let sim: ProviderSimulator;

beforeAll(async () => {
  const inbound: { params: Record<string, string>; valid: boolean }[] = [];
  const app = new Hono();
  app.post('/webhooks/twilio', async (c) => {
    const params = Object.fromEntries(new URLSearchParams(await c.req.text()));
    const sig = c.req.header('x-twilio-signature') ?? '';
    inbound.push({ params, valid: twilio.validateRequest(AUTH_TOKEN, sig, `${PUBLIC_BASE}/webhooks/twilio`, params) });
    return c.body(null, 204);
  });
  app.all('*', (c) => c.body(null, 204));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inbound,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  sim = await startProviderSimulator({
    accountSid: ACCOUNT_SID,
    twilioAuthToken: AUTH_TOKEN,
    resendApiKey: RESEND_KEY,
    resendWebhookSecret: WEBHOOK_SECRET,
    receiverBaseUrl: receiver.url,
    publicBaseUrl: PUBLIC_BASE,
    stepDelayMs: 1,
    behaviours: { '+15551230007': ['no_answer'] },
  });
});

afterAll(async () => {
  await sim?.close();
  await receiver?.close();
});

/** Resolves once the clock has moved past `t`: the next item is strictly newer. */
const clockPast = (t: number) => vi.waitUntil(() => Date.now() > t, { timeout: 1000, interval: 1 });

const inboxJson = async () =>
  (await (await fetch(`${sim.url}/__sim/inbox`, { headers: { accept: 'application/json' } })).json()) as InboxEntry[];

describe('the simulator inbox', () => {
  let smsSid: string;

  it('lists every SMS, WhatsApp, email and call, newest first, masked, with how to acknowledge', async () => {
    const tw = twilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: sim.url });
    const resend = resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url });
    const sms = await tw.messages.create({
      to: '+15551230001',
      from: '+15550000000',
      body: 'P1 orders-db-cpu-high. Reply ACK 7KQ2MX to acknowledge.',
    });
    smsSid = sms.sid;
    await clockPast(Date.now());
    await tw.messages.create({
      to: 'whatsapp:+15551230004',
      from: 'whatsapp:+15550000000',
      body: 'P1 orders-db-cpu-high. Reply ACK 9ZZ4QP to acknowledge.',
    });
    await clockPast(Date.now());
    const email = await resend.emails.send({
      from: 'pagetrail <pages@example.com>',
      to: 'alice@example.com',
      subject: 'P1 orders-db-cpu-high is in alarm',
      html: `<p>CPU above 90 %.</p><a href="${PUBLIC_BASE}/ack?incident=inc_1&amp;sig=abc">Acknowledge</a>`,
    });
    await clockPast(Date.now());
    const call = await tw.calls.create({
      to: '+15551230007',
      from: '+15550000000',
      twiml:
        '<Response><Gather numDigits="1"><Say>P1 orders-db-cpu-high. Press 1 to acknowledge.</Say></Gather></Response>',
    });

    const entries = await inboxJson();
    expect(entries.map((e) => [e.channel, e.to])).toEqual([
      ['voice', '+*********07'],
      ['email', 'a***@example.com'],
      ['whatsapp', 'whatsapp:+*********04'],
      ['sms', '+*********01'],
    ]);
    const [voice, mail, wa, text] = entries;
    expect(voice).toMatchObject({ id: call.sid, body: 'P1 orders-db-cpu-high. Press 1 to acknowledge.', ackKey: '1' });
    expect(mail).toMatchObject({
      id: email.data?.id,
      subject: 'P1 orders-db-cpu-high is in alarm',
      body: 'CPU above 90 %. Acknowledge',
      ackLink: {
        sent: `${PUBLIC_BASE}/ack?incident=inc_1&sig=abc`,
        open: `${receiver.url}/ack?incident=inc_1&sig=abc`,
      },
    });
    expect(wa.ackReply?.text).toBe('ACK 9ZZ4QP');
    expect(text).toMatchObject({
      id: sms.sid,
      body: 'P1 orders-db-cpu-high. Reply ACK 7KQ2MX to acknowledge.',
      ackReply: { text: 'ACK 7KQ2MX', send: `/__sim/inbox/${sms.sid}/reply` },
    });
    expect(Date.parse(text.at)).toBeLessThan(Date.parse(voice.at));
  });

  it('as an HTML page: the ack link is a link, the reply a button, no number in clear', async () => {
    const res = await fetch(`${sim.url}/__sim/inbox`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain(`<a href="${receiver.url}/ack?incident=inc_1&amp;sig=abc">acknowledge</a>`);
    expect(html).toContain(`<form method="post" action="/__sim/inbox/${smsSid}/reply">`);
    expect(html).toContain('reply ACK 7KQ2MX</button>');
    expect(html).toContain('press 1 during the call');
    expect(html).not.toMatch(/\+1555123000\d|alice@/);
  });

  it('the reply button sends the signed "ACK <code>" reply the person would send', async () => {
    const res = await fetch(`${sim.url}/__sim/inbox/${smsSid}/reply`, { method: 'POST', redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/__sim/inbox');
    expect(receiver.inbound.map((r) => [r.params.Body, r.params.From, r.valid])).toEqual([
      ['ACK 7KQ2MX', '+15551230001', true],
    ]);
    // the reply is the person's, not a page: the inbox does not list it
    expect((await inboxJson()).filter((e) => e.channel === 'sms')).toHaveLength(1);
    expect((await fetch(`${sim.url}/__sim/inbox/SMnope/reply`, { method: 'POST' })).status).toBe(404);
  });
  it("links a console sign-in mail's link, opened on the local receiver", async () => {
    const resend = resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url });
    const link = `${PUBLIC_BASE}/console/sign-in/verify?token=${'A'.repeat(43)}`;
    const msg = signInMessage({ to: 'alice@example.com', name: 'Alice Ng', link, expiresAt: Date.now() + 600_000 });
    await resend.emails.send({ from: 'pagetrail <pages@example.com>', to: 'alice@example.com', ...msg });
    const [mail] = await inboxJson();
    expect(mail).toMatchObject({
      subject: 'Your pagetrail sign-in link',
      signInLink: { sent: link, open: `${receiver.url}/console/sign-in/verify?token=${'A'.repeat(43)}` },
    });
    expect(mail.ackLink).toBeUndefined();
    const html = await (await fetch(`${sim.url}/__sim/inbox`, { headers: { accept: 'text/html' } })).text();
    expect(html).toContain(`<a href="${receiver.url}/console/sign-in/verify?token=${'A'.repeat(43)}">sign in to the`);
  });
});
