import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  twilioVoiceAnswerUrl,
  twilioVoiceGatherUrl,
  twilioVoiceStatusCallbackUrl,
  type PageRef,
} from '../../../schemas/correlation.js';
import { twilioClient } from '../../../platform/providers/twilio.js';
import { startProviderSimulator, type ProviderSimulator } from './server.js';
import { gatherAction } from './twilio-voice.js';

const ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH_TOKEN = 'voice-test-auth-token-0001';
const PUBLIC_BASE = 'https://pagetrail.example.com';
const FROM = '+15550000001';
const ref: PageRef = {
  incidentId: 'inc_0001abcd',
  alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-5xx',
  dispatchId: 'dsp_0001abcd',
};

const NUMBERS = { ack: '+15551230001', noAnswer: '+15551230002', busy: '+15551230003', voicemail: '+15551230004' };

interface Got {
  path: string;
  params: Record<string, string>;
  valid: boolean;
}

let got: Got[] = [];
let server: ServerType;
let sim: ProviderSimulator;

function twiml() {
  const r = new twilio.twiml.VoiceResponse();
  r.gather({ numDigits: 1, action: twilioVoiceGatherUrl(PUBLIC_BASE, ref), method: 'POST' }).say(
    'Alarm. Press 1 to acknowledge.',
  );
  r.hangup();
  return r.toString();
}

const client = () =>
  twilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: sim.url, timeoutMs: 2_000 });

const call = (to: string) =>
  client().calls.create({
    to,
    from: FROM,
    twiml: twiml(),
    statusCallback: twilioVoiceStatusCallbackUrl(PUBLIC_BASE, ref),
    statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    machineDetection: 'Enable',
  });

/** What the receiver got for a call: `status[:AnsweredBy]` per status callback, `gather:<digits>` per key press. */
const story = (sid: string) =>
  got
    .filter((g) => g.params.CallSid === sid)
    .map((g) =>
      g.path.endsWith('/gather')
        ? `gather:${g.params.Digits}`
        : g.path.endsWith('/answer')
          ? `answer:${g.params.AnsweredBy}`
          : g.params.AnsweredBy
            ? `${g.params.CallStatus}:${g.params.AnsweredBy}`
            : g.params.CallStatus,
    );

beforeAll(async () => {
  const app = new Hono();
  app.post('/webhooks/twilio/*', async (c) => {
    const u = new URL(c.req.url);
    const params = Object.fromEntries(new URLSearchParams(await c.req.text()));
    const valid = twilio.validateRequest(
      AUTH_TOKEN,
      c.req.header('x-twilio-signature') ?? '',
      PUBLIC_BASE + u.pathname + u.search,
      params,
    );
    got.push({ path: u.pathname, params, valid });
    // the answer URL gets the call's TwiML (what the receiver's /voice/answer does for a person)
    return c.body(u.pathname.endsWith('/answer') ? twiml() : '<Response/>', valid ? 200 : 403, {
      'content-type': 'text/xml',
    });
  });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  sim = await startProviderSimulator({
    accountSid: ACCOUNT_SID,
    twilioAuthToken: AUTH_TOKEN,
    resendApiKey: 're_voice_test',
    resendWebhookSecret: 'whsec_' + Buffer.from('voice-test-webhook-secret-32byte!').toString('base64'),
    receiverBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    publicBaseUrl: PUBLIC_BASE,
    stepDelayMs: 5,
    retry: { attempts: 1 },
    behaviours: {
      [NUMBERS.ack]: ['answer_ack'],
      [NUMBERS.noAnswer]: ['no_answer'],
      [NUMBERS.busy]: ['busy'],
      [NUMBERS.voicemail]: ['voicemail'],
    },
  });
});

afterEach(async () => {
  await sim.idle();
  got = [];
});

afterAll(async () => {
  await sim?.close();
  await new Promise((r) => server?.close(r));
});

describe('provider simulator: Twilio Calls API through the official SDK', () => {
  it(
    'answer_ack: initiated → ringing → in-progress (human) → Gather Digits=1 → completed, all signed, page ' +
      'reference kept',
    async () => {
      const c = await call(NUMBERS.ack);
      expect(c.sid).toMatch(/^CA[0-9a-f]{32}$/);
      expect(c.status).toBe('queued');
      expect(c.to).toBe(NUMBERS.ack);
      await sim.idle();
      expect(story(c.sid)).toEqual(['initiated', 'ringing', 'in-progress:human', 'gather:1', 'completed:human']);
      const mine = got.filter((g) => g.params.CallSid === c.sid);
      expect(mine.every((g) => g.valid)).toBe(true);
      for (const g of mine) expect(g.params.To).toBe(NUMBERS.ack);
      expect(mine.filter((g) => g.path === '/webhooks/twilio/voice')).toHaveLength(4);
      const fetched = await client().calls(c.sid).fetch();
      expect(fetched).toMatchObject({
        sid: c.sid,
        status: 'completed',
        answeredBy: 'human',
        direction: 'outbound-api',
      });
    },
  );

  it.each([
    ['no_answer', NUMBERS.noAnswer, ['initiated', 'ringing', 'no-answer']],
    ['busy', NUMBERS.busy, ['initiated', 'busy']],
    [
      'voicemail',
      NUMBERS.voicemail,
      ['initiated', 'ringing', 'in-progress:machine_end_beep', 'completed:machine_end_beep'],
    ],
  ])('%s', async (_name, to, expected) => {
    const c = await call(to);
    await sim.idle();
    expect(story(c.sid)).toEqual(expected);
    expect(got.every((g) => g.valid)).toBe(true);
  });

  it('lists calls by recipient, newest first (calls.list)', async () => {
    const a = await call(NUMBERS.busy);
    const b = await call(NUMBERS.busy);
    const other = await call(NUMBERS.noAnswer);
    const listed = await client().calls.list({ to: NUMBERS.busy, limit: 20 });
    const sids = listed.map((x) => x.sid);
    expect(sids.indexOf(b.sid)).toBeLessThan(sids.indexOf(a.sid));
    expect(sids).not.toContain(other.sid);
    expect(listed.every((x) => x.to === NUMBERS.busy && x.dateCreated instanceof Date)).toBe(true);
  });

  it('refuses a call without credentials or without TwiML', async () => {
    const bad = twilioClient({ accountSid: ACCOUNT_SID, authToken: 'wrong', apiBaseUrl: sim.url });
    await expect(bad.calls.create({ to: NUMBERS.ack, from: FROM, twiml: twiml() })).rejects.toMatchObject({
      status: 401,
    });
    await expect(client().calls.create({ to: NUMBERS.ack, from: FROM } as never)).rejects.toMatchObject({
      status: 400,
      code: 21205,
    });
    await expect(client().calls.create({ to: 'not-a-number', from: FROM, twiml: twiml() })).rejects.toMatchObject({
      status: 400,
      code: 21211,
    });
  });

  it('gatherAction reads the action back from the TwiML (entities decoded)', () => {
    expect(gatherAction(twiml())).toBe(twilioVoiceGatherUrl(PUBLIC_BASE, ref));
    expect(gatherAction('<Response><Say>hi</Say></Response>')).toBeUndefined();
  });

  it(
    'a call with a Url fetches its TwiML once answered (signed, with AnsweredBy), then plays it: the key press ' +
      'reaches its Gather action',
    async () => {
      const url = twilioVoiceAnswerUrl(PUBLIC_BASE, ref, { say: 'Alarm.', reference: '7Q2M9XKD' });
      const c = await client().calls.create({
        to: NUMBERS.ack,
        from: FROM,
        url,
        method: 'POST',
        statusCallback: twilioVoiceStatusCallbackUrl(PUBLIC_BASE, ref),
        statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
        machineDetection: 'DetectMessageEnd',
      });
      await sim.idle();
      expect(story(c.sid)).toEqual([
        'initiated',
        'ringing',
        'answer:human',
        'in-progress:human',
        'gather:1',
        'completed:human',
      ]);
      expect(got.every((g) => g.valid)).toBe(true);
      const answer = got.find((g) => g.path.endsWith('/answer'))!;
      expect(answer.params).toMatchObject({ CallStatus: 'in-progress', AnsweredBy: 'human', To: NUMBERS.ack });
    },
  );

  it(
    'voicemail with a Url: the answer request says machine_end_beep (the receiver leaves its short message); no ' +
      'key press',
    async () => {
      const url = twilioVoiceAnswerUrl(PUBLIC_BASE, ref, { say: 'Alarm.', reference: '7Q2M9XKD' });
      const c = await client().calls.create({
        to: NUMBERS.voicemail,
        from: FROM,
        url,
        statusCallback: twilioVoiceStatusCallbackUrl(PUBLIC_BASE, ref),
        statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
        machineDetection: 'DetectMessageEnd',
      });
      await sim.idle();
      expect(story(c.sid)).toEqual([
        'initiated',
        'ringing',
        'answer:machine_end_beep',
        'in-progress:machine_end_beep',
        'completed:machine_end_beep',
      ]);
    },
  );
});
