import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProviderSimulator, type ProviderSimulator } from '../../infra/local/provider-simulator/server.js';
import { awsSmsVoiceClient } from '../../platform/providers/aws-sms-voice.js';
import { resendClient } from '../../platform/providers/resend.js';
import { twilioClient } from '../../platform/providers/twilio.js';
import { pageRefFromContext } from '../../schemas/correlation.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { Dispatcher, pageReference, type DispatcherOptions, type PageRequest } from './dispatcher.js';
import { PageLookupError } from './errors.js';

/**
 * The dispatcher's second route through the official SDK client (@aws-sdk/client-pinpoint-sms-voice-v2) against the
 * provider simulator's AWS JSON 1.0 endpoint, and Twilio failing fast when the second route waits.
 */
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'second-route-test-auth-token';
const RESEND_KEY = 're_second_route_test_key';
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
const req = (channel: PageRequest['channel'], address: string, route?: 'aws'): PageRequest => ({
  incidentId: content.incidentId,
  alarmArn: ALARM,
  dispatchId: `evt_${process.pid}_${++seq}_second_route`,
  channel,
  address,
  content,
  ...(route ? { route } : {}),
});

let sink: Server;
let sim: ProviderSimulator;

function dispatcher(o: Partial<DispatcherOptions> & { second?: boolean } = {}) {
  const { second = true, ...rest } = o;
  return new Dispatcher({
    twilio: twilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: sim.url, timeoutMs: 500 }),
    resend: resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url, timeoutMs: 500 }),
    oncall,
    publicBaseUrl: 'https://alerts.example.com',
    timeoutMs: 500,
    baseDelayMs: 10,
    maxDelayMs: 20,
    ...(second
      ? {
          secondRoute: {
            client: awsSmsVoiceClient({
              region: 'us-east-1',
              endpoint: sim.url,
              timeoutMs: 500,
              credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
            }),
            smsOrigination: '+15550000009',
            voiceOrigination: '+15550000010',
            configurationSet: 'pagetrail-pages',
          },
        }
      : {}),
    ...rest,
  });
}

const awsPosts = (dispatchId: string) => sim.requests().filter((r) => r.api === 'aws' && r.dispatchId === dispatchId);
const twilioPosts = (dispatchId: string) =>
  sim.requests().filter((r) => r.api === 'twilio' && r.method === 'POST' && r.dispatchId === dispatchId);

beforeAll(async () => {
  sink = createServer((rq, rs) => {
    rq.resume();
    rq.on('end', () => rs.writeHead(200).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  sim = await startProviderSimulator({
    accountSid: ACCOUNT_SID,
    twilioAuthToken: AUTH_TOKEN,
    resendApiKey: RESEND_KEY,
    resendWebhookSecret: `whsec_${Buffer.from('second-route-test-webhook-secret!!').toString('base64')}`,
    receiverBaseUrl: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    stepDelayMs: 5,
    retry: { attempts: 1 },
  });
});
afterEach(async () => sim.idle());
afterAll(async () => {
  await sim?.close();
  sink?.closeAllConnections();
  await new Promise((r) => sink?.close(r));
});

describe('Dispatcher: the second route (AWS End User Messaging SMS and Voice)', () => {
  it('SMS by AWS: SendTextMessage with the configuration set, the page reference and its Context', async () => {
    const r = req('sms', '+15551230001', 'aws');
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({ ok: true, provider: 'aws', messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const [p] = awsPosts(r.dispatchId);
    expect(p).toMatchObject({ path: '/SendTextMessage', status: 200, recipient: '+15551230001' });
    const body = p.body as Record<string, unknown>;
    expect(body).toMatchObject({
      OriginationIdentity: '+15550000009',
      ConfigurationSetName: 'pagetrail-pages',
      MessageType: 'TRANSACTIONAL',
    });
    expect(body.MessageBody).toContain(`Ref ${pageReference(r.dispatchId)}`);
    expect(pageRefFromContext(body.Context as Record<string, string>)).toEqual({
      incidentId: r.incidentId,
      alarmArn: ALARM,
      dispatchId: r.dispatchId,
    });
    expect(twilioPosts(r.dispatchId)).toEqual([]);
  });

  it('voice by AWS: SendVoiceMessage from the voice number, saying how to acknowledge', async () => {
    const r = req('voice', '+15551230016', 'aws');
    expect(await dispatcher().send(r)).toMatchObject({ ok: true, provider: 'aws' });
    const body = awsPosts(r.dispatchId)[0].body as Record<string, string>;
    expect(body).toMatchObject({ OriginationIdentity: '+15550000010', MessageBodyTextType: 'TEXT' });
    expect(body.MessageBody).toContain('reply ACK 7 K Q 2 M X');
  });

  it('Twilio 5xx with a second route: one Twilio call, no Twilio retry; a definite failure', async () => {
    const r = req('sms', '+15551230002');
    sim.injectFaults(r.address, [{ type: 'error', status: 503 }]);
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({ ok: false, provider: 'twilio', error: { status: 503 } });
    expect('unknown' in res && res.unknown).toBeFalsy();
    expect(twilioPosts(r.dispatchId)).toHaveLength(1);
  });

  it('Twilio cutting the connection with a second route: looked up once, not there → failed', async () => {
    const r = req('sms', '+15551230003');
    sim.injectFaults(r.address, [{ type: 'reset', accepted: false }]);
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({ ok: false, provider: 'twilio' });
    expect('unknown' in res && res.unknown).toBeFalsy();
    expect(twilioPosts(r.dispatchId)).toHaveLength(1);
    expect(sim.requests().filter((q) => q.method === 'GET' && q.query?.To === r.address).length).toBeGreaterThan(0);
  });

  it('Twilio timing out on a message it took: found by its reference, no second route', async () => {
    const r = req('sms', '+15551230008');
    sim.injectFaults(r.address, [{ type: 'hang', ms: 1500 }]);
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({ ok: true, provider: 'twilio' });
    expect(twilioPosts(r.dispatchId)).toHaveLength(1);
  });

  it('a Twilio 5xx that created the message after all is found by its reference: sent, no second route', async () => {
    const r = req('sms', '+15551230004');
    sim.injectFaults(r.address, [{ type: 'error', status: 500, accepted: true }]);
    const res = await dispatcher().send(r);
    expect(res).toMatchObject({ ok: true, provider: 'twilio', messageId: expect.stringMatching(/^SM/) });
    expect(twilioPosts(r.dispatchId)).toHaveLength(1);
  });

  it('without a second route Twilio is retried as before', async () => {
    const r = req('sms', '+15551230005');
    sim.injectFaults(r.address, [{ type: 'error', status: 503 }]);
    expect(await dispatcher({ second: false }).send(r)).toMatchObject({ ok: true, provider: 'twilio' });
    expect(twilioPosts(r.dispatchId)).toHaveLength(2);
  });

  it('AWS 5xx: the outcome is unknown and never sent again blindly; find cannot settle it', async () => {
    const r = req('sms', '+15551230006', 'aws');
    sim.injectFaults(`aws:${r.address}`, [{ type: 'error', status: 500, accepted: true }]);
    const d = dispatcher();
    expect(await d.send(r)).toMatchObject({ ok: false, unknown: true, provider: 'aws' });
    expect(awsPosts(r.dispatchId)).toHaveLength(1);
    await expect(d.find(r, Date.now())).rejects.toBeInstanceOf(PageLookupError);
  });

  it('AWS refusing (4xx) is a definite failure; throttling is retried', async () => {
    const bad = req('sms', '12345', 'aws');
    expect(await dispatcher().send(bad)).toMatchObject({
      ok: false,
      provider: 'aws',
      error: { code: 'ValidationException', status: 400 },
    });
    const r = req('sms', '+15551230007', 'aws');
    sim.injectFaults(`aws:${r.address}`, [{ type: 'error', status: 429 }]);
    expect(await dispatcher().send(r)).toMatchObject({ ok: true, provider: 'aws' });
    expect(awsPosts(r.dispatchId)).toHaveLength(2);
  });
});
