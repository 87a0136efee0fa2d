import { describe, expect, it } from 'vitest';
import { eventId } from '../schemas/ids.js';
import { ackLinkUrl, verifyAckLink } from './ack-links.js';
import { SignatureError } from './errors.js';
import { PAGE, TEST_ENV, testApp, thrown } from '../producers/receiver/testing.js';

const SECRET = TEST_ENV.ACK_LINK_SECRET;
const NOW = Date.parse('2026-11-28T10:00:10.000Z');
const EXP = NOW + 3_600_000;
const ref = { incidentId: PAGE.incidentId, alarmArn: PAGE.alarmArn, person: 'alice' };
const link = () => new URL(ackLinkUrl(TEST_ENV.PUBLIC_BASE_URL, ref, SECRET, EXP));

const reject = thrown;

describe('ackLinkUrl / verifyAckLink', () => {
  it('signs a link on the public base that verifies to its claims', () => {
    const url = link();
    expect(url.origin + url.pathname).toBe('https://alerts.example.com/ack');
    expect(verifyAckLink(url.searchParams, SECRET, NOW)).toEqual({ ...ref, expiresAtMs: EXP });
  });

  const tamper = (edit: (p: URLSearchParams) => void) => {
    const p = link().searchParams;
    edit(p);
    return p;
  };
  it.each([
    ['another person', tamper((p) => p.set('person', 'mallory'))],
    ['another incident', tamper((p) => p.set('incident', 'inc_99999999999999999999'))],
    ['another alarm', tamper((p) => p.set('alarm', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:other'))],
    ['a later expiry', tamper((p) => p.set('exp', String(EXP + 1)))],
    ['a truncated signature', tamper((p) => p.set('sig', p.get('sig')!.slice(0, -2)))],
    ['a signature with padding', tamper((p) => p.set('sig', p.get('sig')! + '='))],
    ['no signature', tamper((p) => p.delete('sig'))],
    ['no person', tamper((p) => p.delete('person'))],
    ['a malformed expiry', tamper((p) => p.set('exp', '1e20'))],
  ])('rejects %s', (_name, params) => {
    expect(reject(() => verifyAckLink(params, SECRET, NOW))).toBeInstanceOf(SignatureError);
  });

  it('rejects another secret and an expired link', () => {
    expect(reject(() => verifyAckLink(link().searchParams, 'another-secret-another-secret-0000', NOW))).toBeInstanceOf(
      SignatureError,
    );
    expect((reject(() => verifyAckLink(link().searchParams, SECRET, EXP)) as SignatureError).reason).toBe(
      'ack link expired',
    );
  });
});

describe('GET /ack and POST /ack', () => {
  const get = (app: ReturnType<typeof testApp>['app'], url: URL) => app.request(url.pathname + url.search);
  const postForm = (app: ReturnType<typeof testApp>['app'], params: URLSearchParams) =>
    app.request('/ack', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    });

  it('GET renders a confirmation form and writes nothing (mail scanners prefetch links)', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    const res = await get(app, link());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/ack">');
    expect(html).toContain('api-cpu-high');
    expect(html).toContain('name="sig"');
    expect(producer.calls).toHaveLength(0);
  });

  it('POST with the form fields writes the ack record, then says so', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    const html = await (await get(app, link())).text();
    // Submit exactly what the page's form carries.
    const unescapeHtml = (v: string) =>
      v
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');
    const fields = new URLSearchParams(
      [...html.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m): [string, string] => [m[1], unescapeHtml(m[2])]),
    );
    const res = await postForm(app, fields);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Acknowledged');
    expect(producer.records).toEqual([
      {
        v: 1,
        kind: 'ack',
        event_id: eventId('ack', 'link', PAGE.incidentId, 'alice'),
        incident_id: PAGE.incidentId,
        alarm_arn: PAGE.alarmArn,
        event_time: new Date(NOW).toISOString(),
        channel: 'email',
        via: 'email_link',
        person: 'alice',
      },
    ]);
  });

  it('a second POST of the same link yields the same event_id', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    await postForm(app, link().searchParams);
    await postForm(app, link().searchParams);
    expect(producer.records).toHaveLength(2);
    expect((producer.records[0] as { event_id: string }).event_id).toBe(
      (producer.records[1] as { event_id: string }).event_id,
    );
  });

  it('invalid or expired → 401 page, nothing written', async () => {
    const { app, producer, errorSink } = testApp({ now: () => EXP + 1 });
    const expiredGet = await get(app, link());
    expect(expiredGet.status).toBe(401);
    expect(await expiredGet.text()).toContain('invalid or has expired');
    expect((await postForm(app, link().searchParams)).status).toBe(401);
    const forged = testApp({ now: () => NOW });
    const p = link().searchParams;
    p.set('person', 'mallory');
    expect((await postForm(forged.app, p)).status).toBe(401);
    expect((await get(forged.app, new URL(`https://x/ack?${p}`))).status).toBe(401);
    expect(producer.calls).toHaveLength(0);
    expect(forged.producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(0);
  });

  it('escapes what it renders', async () => {
    const { app } = testApp({ now: () => NOW });
    const url = new URL(
      ackLinkUrl(TEST_ENV.PUBLIC_BASE_URL, { ...ref, person: '<script>alert(1)</script>' }, SECRET, EXP),
    );
    const html = await (await get(app, url)).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('503 when the ack cannot be written', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    producer.failWith = new Error('kinesis down');
    expect((await postForm(app, link().searchParams)).status).toBe(503);
  });
});
