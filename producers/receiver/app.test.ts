import { describe, expect, it } from 'vitest';
import { DescribeStreamSummaryCommand, ResourceNotFoundException } from '@aws-sdk/client-kinesis';
import { testApp } from './testing.js';
import { StreamHealthCheck } from './stream-health.js';

/** A Kinesis client that answers DescribeStreamSummary as told, counting calls. */
class FakeKinesis {
  calls = 0;
  constructor(public answer: (signal?: AbortSignal) => Promise<unknown>) {}
  async send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<never> {
    if (!(command instanceof DescribeStreamSummaryCommand)) throw new Error('unexpected command');
    this.calls++;
    return (await this.answer(options?.abortSignal)) as never;
  }
}

const active = () => Promise.resolve({ StreamDescriptionSummary: { StreamStatus: 'ACTIVE' } });

function healthApp(kinesis: FakeKinesis, opts: { timeoutMs?: number; now?: () => number } = {}) {
  const streamHealth = new StreamHealthCheck({
    kinesis: kinesis as never,
    streamName: 'pagetrail-events',
    timeoutMs: opts.timeoutMs,
    now: opts.now,
  });
  return testApp({ streamHealth }).app;
}

describe('createApp', () => {
  it('GET /healthz without a stream check → 200 ok', async () => {
    const res = await testApp().app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', rejected: {} });
  });

  it('unknown routes and methods → 404, nothing written', async () => {
    const { app, producer } = testApp();
    expect((await app.request('/webhooks/other', { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await app.request('/webhooks/twilio')).status).toBe(404);
    expect(producer.calls).toHaveLength(0);
  });
});

describe('GET /healthz with the stream check', () => {
  it('stream ACTIVE → 200 ok, reachable', async () => {
    const now = Date.parse('2026-11-28T10:00:00.000Z');
    const app = healthApp(new FakeKinesis(active), { now: () => now });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      stream: { reachable: true, checkedAt: '2026-11-28T10:00:00.000Z' },
      rejected: {},
    });
  });

  it(
    'stream unreachable → still 200 (the ALB must not replace the receiver), ' + 'degraded with the error name only',
    async () => {
      const err = new ResourceNotFoundException({
        message: 'Stream pagetrail-events under account 123456789012 not found.',
        $metadata: {},
      });
      const app = healthApp(new FakeKinesis(() => Promise.reject(err)));
      const res = await app.request('/healthz');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({
        status: 'degraded',
        stream: { reachable: false, error: 'ResourceNotFoundException' },
      });
      expect(JSON.stringify(body)).not.toContain('123456789012');
    },
  );

  it('a stream that is not writable (DELETING) is degraded', async () => {
    const app = healthApp(
      new FakeKinesis(() => Promise.resolve({ StreamDescriptionSummary: { StreamStatus: 'DELETING' } })),
    );
    expect(await (await app.request('/healthz')).json()).toMatchObject({
      status: 'degraded',
      stream: { reachable: false, error: 'stream status DELETING' },
    });
  });

  it('a call that never answers is given up after the timeout and aborted', async () => {
    let aborted: Promise<void> | undefined;
    const hang = (signal?: AbortSignal) => {
      aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
      return new Promise<never>(() => undefined);
    };
    const app = healthApp(new FakeKinesis(hang), { timeoutMs: 50 });
    const started = performance.now();
    const res = await app.request('/healthz');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'degraded',
      stream: { reachable: false, error: 'DescribeStreamSummary did not answer within 50 ms' },
    });
    await aborted; // resolves only if the SDK call's abort signal fired
  });

  it(
    'answers are cached ~5 s and concurrent requests share one call: ' + 'never one AWS call per health request',
    async () => {
      let now = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const kinesis = new FakeKinesis(async () => {
        await gate;
        return { StreamDescriptionSummary: { StreamStatus: 'ACTIVE' } };
      });
      const app = healthApp(kinesis, { now: () => now });
      const concurrent = Promise.all(Array.from({ length: 10 }, () => app.request('/healthz')));
      release();
      expect((await concurrent).every((r) => r.status === 200)).toBe(true);
      expect(kinesis.calls).toBe(1);
      now += 4_999;
      await app.request('/healthz');
      expect(kinesis.calls).toBe(1);
      kinesis.answer = () => Promise.reject(Object.assign(new Error('down'), { name: 'NetworkingError' }));
      now += 1;
      expect(await (await app.request('/healthz')).json()).toMatchObject({
        status: 'degraded',
        stream: { error: 'NetworkingError' },
      });
      expect(kinesis.calls).toBe(2);
    },
  );
});
