import { describe, expect, it } from 'vitest';
import type { Twilio } from 'twilio';
import type { Resend } from 'resend';
import { Dispatcher, type PageRequest } from './dispatcher.js';
import { loadOnCallConfig } from './oncall-config.js';
import { pageRefFromQuery, pageRefFromTags } from '../../schemas/correlation.js';

const oncall = loadOnCallConfig(new URL('../../infra/local/oncall/demo.json', import.meta.url).pathname);
const content = { incidentId: 'inc_0123456789abcdef0123', alarmName: 'orders-api-cpu-high', severity: 'P1', reason: 'CPU above 90%', personName: 'Alice', level: 1, ackCode: '7KQ2MX', ackUrl: 'https://alerts.example.com/ack?x', openedAt: 0 };
const req = (channel: PageRequest['channel'], address: string): PageRequest => ({ incidentId: content.incidentId, alarmArn: 'arn:aws:cloudwatch:us-east-1:1:alarm:orders-api-cpu-high', dispatchId: 'evt_00112233445566778899aabbccddeeff', channel, address, content });

function fakeTwilio(results: (() => unknown)[]) {
  const calls: Record<string, unknown>[] = [];
  const twilio = { messages: { create: async (params: Record<string, unknown>) => { calls.push(params); return results.shift()!(); } } } as unknown as Twilio;
  return { twilio, calls };
}
const rest = (status: number, code: number) => () => { throw Object.assign(new Error(`twilio ${code}`), { status, code }); };

function fakeResend(results: unknown[]) {
  const calls: { payload: Record<string, unknown>; options: Record<string, unknown> }[] = [];
  const resend = { emails: { send: async (payload: Record<string, unknown>, options: Record<string, unknown>) => { calls.push({ payload, options }); return results.shift(); } } } as unknown as Resend;
  return { resend, calls };
}

const dispatcher = (twilio: Twilio, resend: Resend) => new Dispatcher({ twilio, resend, oncall, publicBaseUrl: 'https://alerts.example.com', baseDelayMs: 1 });

describe('Dispatcher', () => {
  it('sends SMS with the page reference in the StatusCallback and the ack code in the body', async () => {
    const { twilio, calls } = fakeTwilio([() => ({ sid: 'SM1' })]);
    expect(await dispatcher(twilio, fakeResend([]).resend).send(req('sms', '+15551230001'))).toEqual({ ok: true, messageId: 'SM1', provider: 'twilio' });
    expect(calls[0]).toMatchObject({ to: '+15551230001', from: '+15550000000', body: expect.stringContaining('Reply ACK 7KQ2MX') });
    expect(pageRefFromQuery(new URL(String(calls[0].statusCallback)).searchParams)).toEqual({ incidentId: content.incidentId, alarmArn: req('sms', '').alarmArn, dispatchId: req('sms', '').dispatchId });
  });

  it('sends WhatsApp as the approved content template of the severity', async () => {
    const { twilio, calls } = fakeTwilio([() => ({ sid: 'SM2' })]);
    await dispatcher(twilio, fakeResend([]).resend).send(req('whatsapp', 'whatsapp:+15551230001'));
    expect(calls[0]).toMatchObject({ from: 'whatsapp:+15550000000', contentSid: oncall.whatsapp_templates.P1!.content_sid });
    expect(JSON.parse(String(calls[0].contentVariables))).toMatchObject({ '2': 'orders-api-cpu-high', '4': 'ACK 7KQ2MX' });
    expect(calls[0].body).toBeUndefined();
  });

  it('retries throttling and 5xx, then succeeds', async () => {
    const { twilio, calls } = fakeTwilio([rest(429, 20429), rest(503, 20503), () => ({ sid: 'SM3' })]);
    expect(await dispatcher(twilio, fakeResend([]).resend).send(req('sms', '+15551230001'))).toMatchObject({ ok: true, messageId: 'SM3' });
    expect(calls).toHaveLength(3);
  });

  it('records a 4xx refusal as a failed page at once, with the provider code', async () => {
    const { twilio, calls } = fakeTwilio([rest(400, 21211)]);
    const r = await dispatcher(twilio, fakeResend([]).resend).send(req('sms', '+15551230001'));
    expect(r).toMatchObject({ ok: false, provider: 'twilio', error: { code: '21211', status: 400, retryable: false } });
    expect(calls).toHaveLength(1);
  });

  it('sends branded email with the page reference in tags and the dispatch id as idempotency key', async () => {
    const { resend, calls } = fakeResend([{ data: { id: 're_1' }, error: null }]);
    expect(await dispatcher(fakeTwilio([]).twilio, resend).send(req('email', 'alice@example.com'))).toEqual({ ok: true, messageId: 're_1', provider: 'resend' });
    expect(calls[0].options).toEqual({ idempotencyKey: req('email', '').dispatchId });
    expect(calls[0].payload).toMatchObject({ to: ['alice@example.com'], subject: '[P1] orders-api-cpu-high is in ALARM' });
    expect(String(calls[0].payload.html)).toContain('https://alerts.example.com/ack?x');
    const tags = Object.fromEntries((calls[0].payload.tags as { name: string; value: string }[]).map((t) => [t.name, t.value]));
    expect(pageRefFromTags(tags)?.incidentId).toBe(content.incidentId);
  });

  it('retries Resend rate limits; a validation error fails at once', async () => {
    const limited = fakeResend([{ data: null, error: { name: 'rate_limit_exceeded', message: 'slow down', statusCode: 429 } }, { data: { id: 're_2' }, error: null }]);
    expect(await dispatcher(fakeTwilio([]).twilio, limited.resend).send(req('email', 'alice@example.com'))).toMatchObject({ ok: true, messageId: 're_2' });
    const invalid = fakeResend([{ data: null, error: { name: 'validation_error', message: 'bad to', statusCode: 422 } }]);
    expect(await dispatcher(fakeTwilio([]).twilio, invalid.resend).send(req('email', 'alice@example.com'))).toMatchObject({ ok: false, error: { code: 'validation_error', retryable: false } });
    expect(invalid.calls).toHaveLength(1);
  });
});
