import { describe, expect, it } from 'vitest';
import { partitionKeyOf } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { PAGE, jsonFixture, post, resendRequest, svixHeaders, testApp } from './testing.js';

const body = (name: string, edit?: (o: Record<string, any>) => void) => {
  const o = jsonFixture<Record<string, any>>(name);
  edit?.(o);
  return JSON.stringify(o);
};

describe('POST /webhooks/resend', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['email.sent', { status: 'sent' }],
    ['email.delivered', { status: 'delivered' }],
    ['email.delivery_delayed', { status: 'delayed' }],
    ['email.opened', { status: 'opened' }],
    ['email.clicked', { status: 'clicked' }],
    ['email.complained', { status: 'complained' }],
    [
      'email.bounced',
      {
        status: 'bounced',
        error_code: 'Permanent/Suppressed',
        error_message:
          "The recipient's email address is on the suppression list " +
          'because it has a recent history of producing hard bounces.',
      },
    ],
    ['email.failed', { status: 'failed', error_code: 'reached_daily_quota', error_message: 'reached_daily_quota' }],
    [
      'email.suppressed',
      {
        status: 'suppressed',
        error_code: 'OnAccountSuppressionList',
        error_message: 'Recipient is on the suppression list.',
      },
    ],
  ];

  it.each(cases)('%s → 200 after one receipt record is written', async (type, expected) => {
    const { app, producer, errorSink } = testApp();
    const b = body(`resend/${type}.json`);
    const res = await post(app, resendRequest(b, { id: `msg_${type}` }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ event_id: eventId('receipt', 'resend', `msg_${type}`) });
    expect(producer.records).toHaveLength(1);
    const [record] = producer.records;
    expect(record).toMatchObject({
      v: 1,
      kind: 'receipt',
      event_id: eventId('receipt', 'resend', `msg_${type}`),
      incident_id: PAGE.incidentId,
      alarm_arn: PAGE.alarmArn,
      event_time: '2026-11-28T10:00:04.126Z',
      provider: 'resend',
      channel: 'email',
      message_id: '56761188-7520-42d8-8898-ff6fc54ce618',
      dispatch_id: PAGE.dispatchId,
      provider_status: type,
      recipient: 'alice@example.com',
      raw: b,
      ...expected,
    });
    expect(partitionKeyOf(record)).toBe(PAGE.alarmArn);
    expect(errorSink.calls).toHaveLength(0);
  });

  it('a retry (same svix-id) yields the same event_id and is written again', async () => {
    const { app, producer } = testApp();
    const b = body('resend/email.opened.json');
    await post(app, resendRequest(b, { id: 'msg_retry' }));
    await post(app, resendRequest(b, { id: 'msg_retry', date: new Date(Date.now() + 60_000) }));
    expect(producer.records).toHaveLength(2);
    expect((producer.records[0] as { event_id: string }).event_id).toBe(
      (producer.records[1] as { event_id: string }).event_id,
    );
  });

  it('accepts tags as a list of {name, value}', async () => {
    const { app, producer } = testApp();
    const b = body('resend/email.delivered.json', (o) => {
      o.data.tags = Object.entries(o.data.tags).map(([name, value]) => ({ name, value }));
    });
    expect((await post(app, resendRequest(b))).status).toBe(200);
    expect(producer.records[0]).toMatchObject({ incident_id: PAGE.incidentId, dispatch_id: PAGE.dispatchId });
  });

  describe('202 ignored: verified, but not one of our pages (nothing written, nothing kept)', () => {
    const variants: [string, string, string][] = [
      [
        'contact.created (documented example)',
        body('resend/docs-example-contact.created.json'),
        'not a page: event type contact.created is not about an email',
      ],
      [
        'domain.updated',
        JSON.stringify({
          type: 'domain.updated',
          created_at: '2026-11-28T10:00:00Z',
          data: { id: 'd91cd9bd-1176-453e-8fc1-35364d380206', status: 'verified' },
        }),
        'not a page: event type domain.updated is not about an email',
      ],
      [
        'a future event family',
        JSON.stringify({ type: 'broadcast.sent', created_at: '2026-11-28T10:00:00Z', data: {} }),
        'not a page: event type broadcast.sent is not about an email',
      ],
      [
        'email.received (documented example: inbound mail)',
        body('resend/docs-example-email.received.json'),
        'not a page: email.received is inbound mail',
      ],
      [
        'email.received even with page tags',
        body('resend/email.delivered.json', (o) => (o.type = 'email.received')),
        'not a page: email.received is inbound mail',
      ],
      [
        'mail sent outside this product (documented email.bounced: other tags)',
        body('resend/docs-example-email.bounced.json'),
        'not a page: no page tags',
      ],
      [
        'mail sent outside this product (documented email.sent: no tags)',
        body('resend/docs-example-email.sent.json'),
        'not a page: no page tags',
      ],
      [
        'our fixture without tags',
        body('resend/email.delivered.json', (o) => delete o.data.tags),
        'not a page: no page tags',
      ],
      [
        'an unknown future email.* type without page tags',
        body('resend/docs-example-email.sent.json', (o) => (o.type = 'email.teleported')),
        'not a page: no page tags',
      ],
      [
        'tags as a list without page tags',
        body('resend/email.delivered.json', (o) => (o.data.tags = [{ name: 'category', value: 'newsletter' }])),
        'not a page: no page tags',
      ],
    ];
    it.each(variants)('%s', async (_name, b, reason) => {
      const { app, producer, errorSink } = testApp();
      const res = await post(app, resendRequest(b));
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ ignored: reason });
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls).toHaveLength(0);
    });
  });

  describe('401: nothing written', () => {
    const b = body('resend/email.delivered.json');
    const good = resendRequest(b);
    const without = (name: string) => ({
      ...good,
      headers: Object.fromEntries(Object.entries(good.headers as Record<string, string>).filter(([k]) => k !== name)),
    });
    const variants: [string, RequestInit & { url: string }][] = [
      ['no svix-id', without('svix-id')],
      ['no svix-timestamp', without('svix-timestamp')],
      ['no svix-signature', without('svix-signature')],
      [
        'wrong secret',
        resendRequest(b, { secret: 'whsec_' + Buffer.from('another-secret-of-24-byt').toString('base64') }),
      ],
      ['expired (10 min old)', resendRequest(b, { date: new Date(Date.now() - 600_000) })],
      ['altered body', { ...good, body: b.replace('email.delivered', 'email.opened') }],
      [
        'webhook-* headers instead of svix-*',
        {
          ...good,
          headers: Object.fromEntries(
            Object.entries(good.headers as Record<string, string>).map(([k, v]) => [k.replace('svix-', 'webhook-'), v]),
          ),
        },
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

  describe('202 kept: verified, ours, but unusable → error sink with the reason, no record', () => {
    const variants: [string, string, string][] = [
      [
        'unknown email event type (with page tags)',
        body('resend/email.delivered.json', (o) => (o.type = 'email.teleported')),
        'type',
      ],
      [
        'a malformed page tag',
        body('resend/email.delivered.json', (o) => (o.data.tags.alarm_arn_b64 = 'bm90LWFuLWFybg')),
        'data.tags',
      ],
      ['a page tag missing', body('resend/email.delivered.json', (o) => delete o.data.tags.dispatch_id), 'data.tags'],
      ['no email_id', body('resend/email.delivered.json', (o) => delete o.data.email_id), 'data.email_id'],
      ['empty to', body('resend/email.delivered.json', (o) => (o.data.to = [])), 'data.to'],
      ['bad created_at', body('resend/email.delivered.json', (o) => (o.created_at = 'yesterday')), 'created_at'],
      ['no type', body('resend/email.delivered.json', (o) => delete o.type), 'type'],
      ['not JSON', 'this is not json', ''],
    ];
    it.each(variants)('%s', async (_name, b, path) => {
      const { app, producer, errorSink } = testApp();
      const res = await post(app, resendRequest(b));
      expect(res.status).toBe(202);
      const json = (await res.json()) as { kept?: string; error?: string; path?: string };
      expect(json.kept).toBe('errors');
      expect(json.error).toBe(errorSink.calls[0]?.reason);
      expect(json.path ?? '').toBe(path);
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls).toHaveLength(1);
      expect(errorSink.calls[0].body).toBe(b);
      expect(errorSink.calls[0].meta).toMatchObject({ route: '/webhooks/resend', url: '/webhooks/resend' });
      expect(errorSink.calls[0].meta.path ?? '').toBe(path);
      expect(errorSink.calls[0].meta.headers).not.toHaveProperty('svix-signature');
      expect(errorSink.calls[0].meta.headers).toHaveProperty('svix-id');
    });

    it('503 when the error sink cannot keep it (Svix retries; nothing is lost)', async () => {
      const { app, producer, errorSink } = testApp();
      errorSink.failWith = new Error('s3 down');
      const res = await post(
        app,
        resendRequest(body('resend/email.delivered.json', (o) => (o.type = 'email.teleported'))),
      );
      expect(res.status).toBe(503);
      expect(producer.calls).toHaveLength(0);
    });
  });

  it('503 when the stream write fails', async () => {
    const { app, producer } = testApp();
    producer.failWith = new Error('kinesis down');
    const res = await post(app, resendRequest(body('resend/email.opened.json')));
    expect(res.status).toBe(503);
  });

  it('413 above the body limit, before verification', async () => {
    const { app, producer } = testApp();
    const b = body('resend/email.opened.json', (o) => (o.data.subject = 'x'.repeat(5000)));
    const res = await app.request('/webhooks/resend', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...svixHeaders(b) },
      body: b,
    });
    expect(res.status).toBe(413);
    expect(producer.calls).toHaveLength(0);
  });
});
