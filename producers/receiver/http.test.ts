import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import twilio from 'twilio';
import { silentLogger } from '../../platform/logger.js';
import { InvalidRecordError } from '../../platform/stream/errors.js';
import { guarded, markVerified, requireApiKey, writeRecords, type RouteDeps } from './http.js';
import {
  FakeAckCodes,
  FakeErrorSink,
  FakeProducer,
  TEST_ENV,
  fixture,
  jsonFixture,
  pageQuery,
  testApp,
  testConfig,
  twilioRequest,
} from './testing.js';
import { RejectionLog } from './rejections.js';

const ALARM = () =>
  jsonFixture<{ detail: { state: { timestamp: string } } }>(
    '../../../schemas/fixtures/cloudwatch-alarm-state-change.json',
  );
const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const apiPost = (body: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': TEST_ENV.API_KEY },
  body,
});

function deps(): RouteDeps & { producer: FakeProducer; errorSink: FakeErrorSink } {
  return {
    config: testConfig(),
    producer: new FakeProducer(),
    errorSink: new FakeErrorSink(),
    ackCodes: new FakeAckCodes(),
    logger: silentLogger,
    now: () => 0,
    rejections: new RejectionLog(silentLogger),
  };
}

describe('hostile bodies (measured on the previous version)', () => {
  it('a signed Twilio JSON body nested 5,000 deep → kept and acknowledged, not a 500', async () => {
    const { app, errorSink, producer } = testApp({ config: { BODY_LIMIT_BYTES: 100_000 } });
    const body = `{"MessageSid":"SM1","MessageStatus":"delivered","x":${deep(5000)}}`;
    const path = `/webhooks/twilio?${pageQuery()}&bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const signature = twilio.getExpectedTwilioSignature(
      TEST_ENV.TWILIO_AUTH_TOKEN,
      TEST_ENV.PUBLIC_BASE_URL + path,
      {},
    );
    const res = await app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-twilio-signature': signature },
      body,
    });
    expect(res.status).toBeLessThan(500);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls.map((c) => c.reason)).toEqual(['nested too deep (over 64 levels)']);
  });

  it('an alarm with a field nested 5,000 deep → 400 "nested too deep", kept; not a 503', async () => {
    const { app, errorSink, producer } = testApp({
      config: { BODY_LIMIT_BYTES: 100_000, ALARM_NAMESPACES: ['AWS/EC2'] },
    });
    const body = JSON.stringify(ALARM()).replace(/}$/, `,"x":${deep(5000)}}`);
    const res = await app.request('/events/cloudwatch', apiPost(body));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'nested too deep (over 64 levels)',
      path: expect.stringMatching(/^x(\.0)+$/),
    });
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(1);
  });

  it('a schema-valid alarm whose state.timestamp is not a time → 400 with the path, kept under errors/', async () => {
    const { app, errorSink, producer } = testApp({ config: { ALARM_NAMESPACES: ['AWS/EC2'] } });
    const alarm = ALARM();
    alarm.detail.state.timestamp = 'yesterday';
    const res = await app.request('/events/cloudwatch', apiPost(JSON.stringify(alarm)));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ path: 'detail.state.timestamp' });
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls[0]).toMatchObject({
      reason: expect.stringContaining('timestamp'),
      meta: { path: 'detail.state.timestamp' },
    });
  });

  it('`&__proto__=x` appended to a signed form body → 401 (the signature covers it), nothing written', async () => {
    const { app, errorSink, producer } = testApp();
    const req = twilioRequest(`/webhooks/twilio?${pageQuery()}`, fixture('twilio/sms-delivered.json'));
    const ok = await app.request(req.url, req);
    expect(ok.status).toBe(200);
    const res = await app.request(req.url, { ...req, body: `${req.body}&__proto__=x` });
    expect(res.status).toBe(401);
    expect(producer.calls).toHaveLength(1);
    expect(errorSink.calls).toHaveLength(0);
  });
});

describe('guarded: the last line', () => {
  const app = (d: RouteDeps, fail: (c: Parameters<Parameters<typeof guarded>[2]>[0]) => never) => {
    const a = new Hono();
    a.post(
      '/x',
      guarded(d, '/x', async (c) => fail(c)),
    );
    return a;
  };

  it('an unexpected error of an unverified request → 400, nothing kept', async () => {
    const d = deps();
    const res = await app(d, () => {
      throw new TypeError('boom');
    }).request('/x', { method: 'POST', body: 'b' });
    expect(res.status).toBe(400);
    expect(d.errorSink.calls).toHaveLength(0);
  });

  it('an unexpected error after verification → 400, the body kept with the reason', async () => {
    const d = deps();
    const res = await app(d, (c) => {
      markVerified(c);
      throw new RangeError('not a timestamp');
    }).request('/x', { method: 'POST', body: 'b' });
    expect(res.status).toBe(400);
    expect(d.errorSink.calls).toMatchObject([
      { reason: 'unexpected error while handling the body: RangeError: not a timestamp', body: 'b' },
    ]);
  });

  it('… and 503 when the error sink is down (the sender retries)', async () => {
    const d = deps();
    d.errorSink.failWith = new Error('s3 down');
    const res = await app(d, (c) => {
      requireApiKey(c, TEST_ENV.API_KEY);
      throw new Error('boom');
    }).request('/x', { method: 'POST', headers: { 'x-api-key': TEST_ENV.API_KEY }, body: 'b' });
    expect(res.status).toBe(503);
  });

  it(
    'a record the producer refuses before sending (InvalidRecordError) ' + 'is the body’s fault: 400, not 503',
    async () => {
      const d = deps();
      d.producer.failWith = new InvalidRecordError(0, 'partition key has 300 characters, over 256');
      const a = new Hono();
      a.post(
        '/x',
        guarded(d, '/x', async (c) => {
          await writeRecords(d, [
            {
              v: 1,
              kind: 'ack',
              event_id: 'evt_00112233445566778899aabbccddeeff',
              incident_id: 'inc_0123456789abcdef0123',
              alarm_arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:a',
              event_time: '2026-11-28T10:00:00.000Z',
              channel: 'email',
              via: 'email_link',
              person: 'alice',
            },
          ]);
          return c.body(null, 200);
        }),
      );
      const res = await a.request('/x', { method: 'POST', body: 'b' });
      expect(res.status).toBe(400);
      expect(d.errorSink.calls[0].reason).toContain('the stream refuses the record');
    },
  );
});
