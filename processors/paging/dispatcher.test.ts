import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProviderSimulator, type ProviderSimulator } from '../../infra/local/provider-simulator/server.js';
import { resendClient } from '../../platform/providers/resend.js';
import { twilioClient } from '../../platform/providers/twilio.js';
import { pageRefFromQuery, pageRefFromTags } from '../../schemas/correlation.js';
import { Dispatcher, pageReference, type DispatcherOptions, type PageRequest } from './dispatcher.js';
import { PageLookupError } from './errors.js';
import { carriesReference } from './message-content.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';

const ACCOUNT_SID = 'AC' + 'fedcba9876543210'.repeat(2);
const AUTH_TOKEN = 'dispatcher-test-auth-token';
const RESEND_KEY = 're_dispatcher_test_key';
const WEBHOOK_SECRET = 'whsec_' + Buffer.from('dispatcher-test-webhook-secret-32b!').toString('base64');
const PUBLIC_BASE = 'https://alerts.example.com';

const oncall = loadOnCallConfig(new URL('../../infra/local/oncall/demo.json', import.meta.url).pathname);
const content = {
  incidentId: 'inc_0123456789abcdef0123',
  alarmName: 'orders-api-cpu-high',
  severity: 'P1',
  reason: 'CPU above 90%',
  personName: 'Alice',
  level: 1,
  ackCode: '7KQ2MX',
  ackUrl: 'https://alerts.example.com/ack?x',
  openedAt: 0,
};
const ALARM = 'arn:aws:cloudwatch:us-east-1:1:alarm:orders-api-cpu-high';
let seq = 0;
const req = (
  channel: PageRequest['channel'],
  address: string,
  dispatchId = `evt_${process.pid}_${++seq}_dispatch`,
): PageRequest => ({ incidentId: content.incidentId, alarmArn: ALARM, dispatchId, channel, address, content });

let receiver: Server;
let sim: ProviderSimulator;

/** Callbacks land here (the dispatcher does not care about them). */
async function startSink(): Promise<{ server: Server; url: string }> {
  const server = createServer((rq, rs) => {
    rq.resume();
    rq.on('end', () => rs.writeHead(200, { 'content-type': 'text/xml' }).end('<Response/>'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function dispatcher(o: Partial<DispatcherOptions> & { apiBase?: string; clientTimeoutMs?: number } = {}) {
  const base = o.apiBase ?? sim.url;
  return new Dispatcher({
    twilio: twilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      apiBaseUrl: base,
      timeoutMs: o.clientTimeoutMs ?? o.timeoutMs ?? 2_000,
    }),
    resend: resendClient({ apiKey: RESEND_KEY, baseUrl: base, timeoutMs: o.clientTimeoutMs ?? o.timeoutMs ?? 2_000 }),
    oncall,
    publicBaseUrl: PUBLIC_BASE,
    timeoutMs: 2_000,
    baseDelayMs: 20,
    maxDelayMs: 100,
    ...o,
  });
}

const posts = (dispatchId: string) => sim.requests().filter((r) => r.method === 'POST' && r.dispatchId === dispatchId);
const created = (dispatchId: string) => posts(dispatchId).filter((r) => r.id && !r.replayed);
const lists = () => sim.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/Messages.json'));

beforeAll(async () => {
  const sink = await startSink();
  receiver = sink.server;
  sim = await startProviderSimulator({
    accountSid: ACCOUNT_SID,
    twilioAuthToken: AUTH_TOKEN,
    resendApiKey: RESEND_KEY,
    resendWebhookSecret: WEBHOOK_SECRET,
    receiverBaseUrl: sink.url,
    publicBaseUrl: PUBLIC_BASE,
    stepDelayMs: 5,
    retry: { attempts: 1 },
  });
});

afterEach(async () => {
  await sim.idle();
});

afterAll(async () => {
  await sim?.close();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
});

describe('page reference', () => {
  it('is 8 Crockford base32 characters derived from the dispatch id', () => {
    const r = pageReference('evt_00112233445566778899aabbccddeeff');
    expect(r).toMatch(/^[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(pageReference('evt_00112233445566778899aabbccddeeff')).toBe(r);
    expect(pageReference('evt_00112233445566778899aabbccddeefe')).not.toBe(r);
    expect(carriesReference(`x Ref ${r}`, r)).toBe(true);
    expect(carriesReference(`x Ref ${r}Z`, r)).toBe(false);
  });
});

describe('Dispatcher through the SDKs against the provider simulator', () => {
  it('SMS: the body carries the ACK code and the page reference; the StatusCallback the PageRef', async () => {
    const r = req('sms', '+15551230001');
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({ ok: true, provider: 'twilio', messageId: expect.stringMatching(/^SM/) });
    const [p] = posts(r.dispatchId);
    expect(p.params).toMatchObject({ To: '+15551230001', From: '+15550000000' });
    expect(p.params!.Body).toContain('Reply ACK 7KQ2MX');
    expect(p.params!.Body).toContain(`Ref ${pageReference(r.dispatchId)}`);
    expect(p.reference).toBe(pageReference(r.dispatchId));
    expect(pageRefFromQuery(new URL(p.params!.StatusCallback).searchParams)).toEqual({
      incidentId: r.incidentId,
      alarmArn: ALARM,
      dispatchId: r.dispatchId,
    });
  });

  it('WhatsApp: the approved template of the severity, with the reference as variable 5', async () => {
    const r = req('whatsapp', 'whatsapp:+15551230002');
    const res = await dispatcher().send(r);
    expect(res.ok).toBe(true);
    const [p] = posts(r.dispatchId);
    expect(p.params).toMatchObject({
      From: 'whatsapp:+15550000000',
      ContentSid: oncall.whatsapp_templates.P1!.content_sid,
    });
    expect(p.params!.Body).toBeUndefined();
    expect(JSON.parse(p.params!.ContentVariables)).toMatchObject({
      '2': 'orders-api-cpu-high',
      '4': 'ACK 7KQ2MX',
      '5': `Ref ${pageReference(r.dispatchId)}`,
    });
    expect(await dispatcher().find(r, Date.now())).toBe(res.ok && res.messageId);
  });

  it('email: branded HTML and text with the reference, PageRef tags, the dispatch id as idempotency key', async () => {
    const r = req('email', 'alice@example.com');
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({ ok: true, provider: 'resend' });
    const [p] = posts(r.dispatchId);
    expect(p.idempotencyKey).toBe(r.dispatchId);
    const body = p.body as {
      subject: string;
      html: string;
      text: string;
      to: string[];
      tags: { name: string; value: string }[];
    };
    expect(body).toMatchObject({ to: ['alice@example.com'], subject: '[P1] orders-api-cpu-high is in ALARM' });
    expect(body.html).toContain('https://alerts.example.com/ack?x');
    expect(body.text).toContain(`Ref ${pageReference(r.dispatchId)}`);
    expect(body.html).toContain(`Ref ${pageReference(r.dispatchId)}`);
    const tags = Object.fromEntries(body.tags.map((t) => [t.name, t.value]));
    expect(pageRefFromTags(tags)).toEqual({ incidentId: r.incidentId, alarmArn: ALARM, dispatchId: r.dispatchId });
    expect(tags.page_ref).toBe(pageReference(r.dispatchId));
  });

  it('a hung Twilio send times out; send returns the message found by its reference: exactly one message', async () => {
    const r = req('sms', '+15551230010');
    sim.injectFaults(r.address, [{ type: 'hang', ms: 3_000 }]);
    const started = Date.now();
    const res = await dispatcher({ timeoutMs: 150 }).send(r);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(created(r.dispatchId)).toHaveLength(1);
    expect(posts(r.dispatchId)).toHaveLength(1);
    expect(res).toEqual({ ok: true, provider: 'twilio', messageId: created(r.dispatchId)[0].id });
    expect(posts(r.dispatchId)[0].hungMs).toBe(3_000);
  });

  it('a hung WhatsApp send is found by the reference in the rendered template body', async () => {
    const r = req('whatsapp', 'whatsapp:+15551230011');
    sim.injectFaults(r.address, [{ type: 'hang', ms: 3_000 }]);
    const res = await dispatcher({ timeoutMs: 150 }).send(r);
    expect(posts(r.dispatchId)).toHaveLength(1);
    expect(res).toEqual({ ok: true, provider: 'twilio', messageId: created(r.dispatchId)[0].id });
  });

  it('Twilio 500 after accepting, then ok: the accepted message is found, no second message', async () => {
    const r = req('sms', '+15551230012');
    sim.injectFaults(r.address, [{ type: 'error', status: 500, accepted: true }]);
    const res = await dispatcher().send(r);
    expect(posts(r.dispatchId)).toHaveLength(1);
    expect(created(r.dispatchId)).toHaveLength(1);
    expect(res).toEqual({ ok: true, provider: 'twilio', messageId: created(r.dispatchId)[0].id });
  });

  it('Twilio 503 before accepting: the lookup finds nothing, the page is sent again once', async () => {
    const r = req('sms', '+15551230013');
    sim.injectFaults(r.address, [{ type: 'error', status: 503 }]);
    const res = await dispatcher().send(r);
    expect(posts(r.dispatchId).map((p) => p.status)).toEqual([503, 201]);
    expect(res).toEqual({ ok: true, provider: 'twilio', messageId: created(r.dispatchId)[0].id });
    expect(lists().length).toBeGreaterThan(0);
  });

  it('a connection reset is an unknown outcome: looked up, then sent once', async () => {
    const r = req('sms', '+15551230014');
    sim.injectFaults(r.address, [{ type: 'reset', accepted: true }]);
    const res = await dispatcher().send(r);
    expect(posts(r.dispatchId)).toHaveLength(1);
    expect(res).toEqual({ ok: true, provider: 'twilio', messageId: created(r.dispatchId)[0].id });
  });

  it('429 is retried without a lookup', async () => {
    const r = req('sms', '+15551230015');
    sim.injectFaults(r.address, [
      { type: 'error', status: 429 },
      { type: 'error', status: 429 },
    ]);
    const before = lists().length;
    const res = await dispatcher().send(r);
    expect(res.ok).toBe(true);
    expect(posts(r.dispatchId).map((p) => p.status)).toEqual([429, 429, 201]);
    expect(lists().length).toBe(before);
  });

  it('a definite 400 refusal is returned at once, not retried, not unknown', async () => {
    const r = req('sms', '+15005550001');
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({
      ok: false,
      provider: 'twilio',
      error: { code: '21211', status: 400, retryable: false },
    });
    expect('unknown' in res && res.unknown).toBeFalsy();
    expect(posts(r.dispatchId)).toHaveLength(1);
  });

  it('a provider that cannot be reached: retried, then a definite failure (never reached)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const res = await dispatcher({ apiBase: `http://127.0.0.1:${port}` }).send(req('sms', '+15551230016'));
    expect(res).toMatchObject({ ok: false, provider: 'twilio', error: { code: 'ECONNREFUSED', retryable: true } });
    expect('unknown' in res && res.unknown).toBeFalsy();
  });

  it(
    'an outcome left unknown by the budget is settled ' + 'later by find (a crash between claim and completion)',
    async () => {
      const r = req('sms', '+15551230017');
      sim.injectFaults(r.address, [{ type: 'hang', ms: 3_000 }]);
      const claimedAt = Date.now();
      const res = await dispatcher({ timeoutMs: 100, budgetMs: 150 }).send(r);
      expect(res).toMatchObject({ ok: false, unknown: true, provider: 'twilio', error: { code: 'timeout' } });
      expect(await dispatcher().find(r, claimedAt)).toBe(created(r.dispatchId)[0].id);
      expect(posts(r.dispatchId)).toHaveLength(1);
    },
  );

  it('find matches the reference, not another page to the same number; undefined for a page never sent', async () => {
    const d = dispatcher();
    const since = Date.now();
    const a = req('sms', '+15551230018');
    const b = req('sms', '+15551230018');
    const ra = await d.send(a);
    const rb = await d.send(b);
    await sim.idle(); // both sent (date_sent set)
    expect(await d.find(a, since)).toBe(ra.ok && ra.messageId);
    expect(await d.find(b, since)).toBe(rb.ok && rb.messageId);
    expect(await d.find(req('sms', '+15551230018'), since)).toBeUndefined();
    // A message of the page sent long before the window is not looked at.
    expect(await d.find(a, Date.now() + 3_600_000)).toBeUndefined();
  });

  it('find pages through the list with twilio-node (page size 2, the page sent first of five)', async () => {
    const d = dispatcher({ findPageSize: 2 });
    const since = Date.now();
    const pages = Array.from({ length: 5 }, () => req('sms', '+15551230019'));
    const ids: string[] = [];
    for (const p of pages) {
      const r = await d.send(p);
      if (r.ok) ids.push(r.messageId);
    }
    await sim.idle();
    const before = lists().length;
    expect(await d.find(pages[0], since)).toBe(ids[0]);
    const used = lists().slice(before);
    expect(used.map((l) => l.count)).toEqual([2, 2, 1]);
    expect(used[0].query).toMatchObject({ To: '+15551230019', PageSize: '2' });
    expect(used[0].query!['DateSent>']).toBe(
      new Date(Math.floor((since - 60_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    );
  });

  it('find throws PageLookupError when the lookup itself fails', async () => {
    const bad = new Dispatcher({
      twilio: twilioClient({ accountSid: ACCOUNT_SID, authToken: 'wrong', apiBaseUrl: sim.url }),
      resend: resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url }),
      oncall,
      publicBaseUrl: PUBLIC_BASE,
    });
    const err = await bad.find(req('sms', '+15551230020'), Date.now()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PageLookupError);
    expect(err).toMatchObject({ provider: 'twilio', code: '20003', retryable: true });
  });

  it('email: a hung send is re-sent under the same idempotency key: one email, the first id', async () => {
    const r = req('email', 'hung@example.com');
    sim.injectFaults(r.address, [{ type: 'hang', ms: 400 }]);
    const res = await dispatcher({ timeoutMs: 150, maxAttempts: 8, baseDelayMs: 60, maxDelayMs: 120 }).send(r);
    expect(created(r.dispatchId)).toHaveLength(1);
    expect(res).toEqual({ ok: true, provider: 'resend', messageId: created(r.dispatchId)[0].id });
    const statuses = posts(r.dispatchId).map((p) => (p.replayed ? 'replay' : (p.error?.code ?? p.status)));
    expect(statuses[0]).toBe(200); // created (its answer hung)
    expect(statuses.at(-1)).toBe('replay');
    // find IS a re-send under the same key: the same id, still one email.
    expect(await dispatcher().find(r, Date.now())).toBe(res.ok && res.messageId);
    expect(created(r.dispatchId)).toHaveLength(1);
    await sim.idle();
    const hooks = sim
      .callbacks()
      .filter((c) => c.kind === 'resend.webhook' && c.messageId === created(r.dispatchId)[0].id);
    expect(hooks.map((h) => h.event)).toEqual(['email.sent', 'email.delivered']);
  });

  it('email: a 500 after accepting is retried under the same key and yields the accepted email', async () => {
    const r = req('email', 'fivehundred@example.com');
    sim.injectFaults(r.address, [{ type: 'error', status: 500, accepted: true }]);
    const res = await dispatcher().send(r);
    expect(created(r.dispatchId)).toHaveLength(1);
    expect(res).toEqual({ ok: true, provider: 'resend', messageId: created(r.dispatchId)[0].id });
  });

  it('email: a validation refusal is not retried; find of a never-accepted payload is undefined', async () => {
    const r = req('email', 'not-an-address');
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({
      ok: false,
      provider: 'resend',
      error: { code: 'validation_error', status: 422, retryable: false },
    });
    expect(posts(r.dispatchId)).toHaveLength(1);
    expect(await dispatcher().find(r, Date.now())).toBeUndefined();
  });

  it(
    'email: content changed under the same dispatch → invalid_idempotent_request (definite failure; find throws, ' +
      'not retryable)',
    async () => {
      const r = req('email', 'bob@example.com');
      expect((await dispatcher().send(r)).ok).toBe(true);
      const changed = { ...r, content: { ...r.content, ackUrl: 'https://alerts.example.com/ack?y' } };
      expect(await dispatcher().send(changed)).toMatchObject({
        ok: false,
        error: { code: 'invalid_idempotent_request', status: 409 },
      });
      await expect(dispatcher().find(changed, Date.now())).rejects.toMatchObject({
        name: 'PageLookupError',
        code: 'invalid_idempotent_request',
        retryable: false,
      });
    },
  );
});

describe('Dispatcher.find for a page not yet sent (queued, no date_sent)', () => {
  it("finds it among the recipient's most recent messages", async () => {
    const sink = await startSink();
    const slow = await startProviderSimulator({
      accountSid: ACCOUNT_SID,
      twilioAuthToken: AUTH_TOKEN,
      resendApiKey: RESEND_KEY,
      resendWebhookSecret: WEBHOOK_SECRET,
      receiverBaseUrl: sink.url,
      publicBaseUrl: PUBLIC_BASE,
      stepDelayMs: 60_000,
    });
    try {
      const d = dispatcher({ apiBase: slow.url });
      const since = Date.now();
      const r = req('sms', '+15551230021');
      const res = await d.send(r);
      expect(res.ok).toBe(true);
      expect(await d.find(r, since)).toBe(res.ok && res.messageId);
      const gets = slow.requests().filter((q) => q.method === 'GET');
      expect(gets.map((g) => [Boolean(g.query?.['DateSent>']), g.count])).toEqual([
        [true, 0],
        [false, 1],
      ]);
    } finally {
      await slow.close();
      sink.server.closeAllConnections();
      await new Promise((r) => sink.server.close(r));
    }
  });
});

describe('Dispatcher: voice pages through the Calls API', () => {
  const VOICE_FROM = '+15550000009';
  const voiceOncall = { ...oncall, twilio: { ...oncall.twilio, voice_from: VOICE_FROM } };
  const voice = (o: Partial<DispatcherOptions> = {}) => dispatcher({ oncall: voiceOncall, ...o });
  const callPosts = (dispatchId: string) => posts(dispatchId).filter((p) => p.path.endsWith('/Calls.json'));

  it(
    'calls with AMD to the end of the greeting; the answer URL carries what to read and the page reference; the ' +
      'PageRef in the StatusCallback',
    async () => {
      const r = req('voice', '+15551230031');
      const res = await voice().send(r);
      expect(res).toMatchObject({ ok: true, provider: 'twilio', messageId: expect.stringMatching(/^CA[0-9a-f]{32}$/) });
      const [p] = callPosts(r.dispatchId);
      expect(p.params).toMatchObject({
        To: r.address,
        From: VOICE_FROM,
        MachineDetection: 'DetectMessageEnd',
        Method: 'POST',
        StatusCallbackMethod: 'POST',
        StatusCallbackEvent: 'initiated,ringing,answered,completed',
      });
      expect(p.params!.Twiml).toBeUndefined();
      const page = { incidentId: r.incidentId, alarmArn: ALARM, dispatchId: r.dispatchId };
      const status = new URL(p.params!.StatusCallback);
      expect(status.pathname).toBe('/webhooks/twilio/voice');
      expect(pageRefFromQuery(status.searchParams)).toEqual(page);
      const answer = new URL(p.params!.Url);
      expect(answer.origin + answer.pathname).toBe(`${PUBLIC_BASE}/webhooks/twilio/voice/answer`);
      expect(pageRefFromQuery(answer.searchParams)).toEqual(page);
      expect(answer.searchParams.get('say')).toContain('orders api cpu high is in alarm');
      expect(answer.searchParams.get('ref')).toBe(pageReference(r.dispatchId));
      // the same dispatch renders the same call (pure content)
      expect(voice().voiceAnswerUrl(r)).toBe(p.params!.Url);
    },
  );

  it('a 500 after the call was accepted: find settles it by recipient and time; no second call', async () => {
    const r = req('voice', '+15551230032');
    sim.injectFaults(r.address, [{ type: 'error', status: 500, accepted: true }]);
    const res = await voice().send(r);
    expect(callPosts(r.dispatchId)).toHaveLength(1);
    const [made] = created(r.dispatchId);
    expect(res).toEqual({ ok: true, provider: 'twilio', messageId: made.id });
  });

  it('a 503 before accepting: find finds no call, the page is called once', async () => {
    const r = req('voice', '+15551230033');
    sim.injectFaults(r.address, [{ type: 'error', status: 503 }]);
    const res = await voice().send(r);
    expect(callPosts(r.dispatchId)).toHaveLength(2);
    expect(created(r.dispatchId)).toHaveLength(1);
    expect(res).toMatchObject({ ok: true, messageId: created(r.dispatchId)[0].id });
  });

  it(
    'find: undefined with no call in the window; the call; ' + 'ambiguous (not retryable) with two calls to the number',
    async () => {
      const r = req('voice', '+15551230034');
      const since = Date.now();
      expect(await voice().find(r, since)).toBeUndefined();
      const first = await voice().send(r);
      expect(await voice().find(r, since)).toBe(first.ok && first.messageId);
      // calls made before the window (a minute before the claim) do not count
      expect(await voice().find(r, Date.now() + 120_000)).toBeUndefined();
      await voice().send(req('voice', r.address));
      await expect(voice().find(r, since)).rejects.toMatchObject({
        name: 'PageLookupError',
        code: 'ambiguous',
        retryable: false,
      });
    },
  );

  it('without twilio.voice_from a voice page is refused at once (no request)', async () => {
    const r = req('voice', '+15551230035');
    const { voice_from: _none, ...twilio } = oncall.twilio;
    expect(await dispatcher({ oncall: { ...oncall, twilio } }).send(r)).toMatchObject({
      ok: false,
      error: { code: 'no_voice_from', retryable: false },
    });
    expect(callPosts(r.dispatchId)).toHaveLength(0);
  });
});
