import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../platform/logger.js';
import { ackLinkUrl } from '../../shared/ack-links.js';
import { createApp } from './app.js';
import type { AckIncidentView, IncidentLookup } from './ack-page.js';
import { FakeAckCodes, FakeErrorSink, FakeProducer, PAGE, testConfig } from './testing.js';

const NOW = Date.parse('2026-11-28T12:06:00Z');
const T = (hhmmss: string) => Date.parse(`2026-11-28T${hhmmss}Z`);

function setup(opts: { view?: AckIncidentView; incidents?: IncidentLookup; timeoutMs?: number } = {}) {
  const producer = new FakeProducer();
  const warnings: string[] = [];
  const logger = {
    ...silentLogger,
    info() {},
    error() {},
    warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''),
  };
  const config = testConfig();
  const incidents: IncidentLookup | undefined =
    opts.incidents ??
    (opts.view ? { get: async (id) => (id === PAGE.incidentId ? { state: opts.view! } : undefined) } : undefined);
  const app = createApp({
    config,
    producer,
    errorSink: new FakeErrorSink(),
    ackCodes: new FakeAckCodes(),
    logger,
    now: () => NOW,
    incidents,
    incidentLookupTimeoutMs: opts.timeoutMs,
  });
  const link = (person = 'bob') => {
    const url = new URL(
      ackLinkUrl(
        config.PUBLIC_BASE_URL,
        { incidentId: PAGE.incidentId, alarmArn: PAGE.alarmArn, person },
        config.ACK_LINK_SECRET,
        NOW + 3_600_000,
      ),
    );
    return `${url.pathname}${url.search}`;
  };
  const post = (person = 'bob') =>
    app.request('/ack', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URL(link(person), 'http://x').searchParams.toString(),
    });
  return { app, producer, link, post, warnings };
}

const view = (over: Partial<AckIncidentView> = {}): AckIncidentView => ({
  severity: 'P1',
  level: 1,
  round: 0,
  pages: { a: { person: 'bob', level: 1, round: 0 }, b: { person: 'bob', level: 1, round: 0 } },
  ...over,
});

describe('GET /ack', () => {
  it('is branded like the email: severity colour, card, footer, CloudWatch link, the form', async () => {
    const { app, link, producer } = setup({ view: view() });
    const res = await app.request(link());
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('P1 · Acknowledge the alert?');
    expect(html).toContain('background:#b42318'); // the email's P1 colour
    expect(html).toContain('pagetrail · closed-loop alerting');
    expect(html).toContain(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/api-cpu-high',
    );
    expect(html).toContain('<form method="post" action="/ack">');
    expect(html).not.toContain('class="note');
    expect(producer.records).toHaveLength(0);
  });

  it('says the incident was already acknowledged, by whom and when, and offers no form', async () => {
    const { app, link } = setup({
      view: view({
        ackedAt: T('12:05:03'),
        ackedBy: 'carol',
        level: 2,
        pages: { a: { person: 'bob', level: 1, round: 0 }, c: { person: 'carol', level: 2, round: 0 } },
      }),
    });
    const html = await (await app.request(link())).text();
    expect(html).toContain('Already acknowledged by carol at 2026-11-28 12:05:03 UTC.');
    expect(html).toContain('This incident already escalated to level 2.');
    expect(html).not.toContain('<form');
  });

  it('says the incident escalated past the person, and keeps the form', async () => {
    const { app, link } = setup({ view: view({ level: 2 }) });
    const html = await (await app.request(link())).text();
    expect(html).toContain('This incident already escalated to level 2.');
    expect(html).toContain('<form');
    // carol is on level 2: nothing escalated past her
    const carol = setup({ view: view({ level: 2, pages: { c: { person: 'carol', level: 2, round: 0 } } }) });
    expect(await (await carol.app.request(carol.link('carol'))).text()).not.toContain('already escalated');
  });

  it('shows the form alone when the lookup fails or is too slow (logged)', async () => {
    const failing = setup({ incidents: { get: async () => Promise.reject(new Error('dynamodb down')) } });
    const r1 = await failing.app.request(failing.link());
    expect(r1.status).toBe(200);
    expect(await r1.text()).toContain('<form');
    expect(failing.warnings).toEqual(['incident lookup failed: ack page without its status']);
    const slow = setup({ incidents: { get: () => new Promise(() => {}) }, timeoutMs: 20 });
    expect(await (await slow.app.request(slow.link())).text()).toContain('<form');
    expect(slow.warnings).toEqual(['incident lookup timed out: ack page without its status']);
  });

  it('an invalid link offers the SMS fallback and writes nothing', async () => {
    const { app, link, producer } = setup({ view: view() });
    const res = await app.request(link().replace(/sig=[^&]+/, 'sig=AAAA'));
    const html = await res.text();
    expect(res.status).toBe(401);
    expect(html).toContain('Link not valid');
    expect(html).toContain('reply <b>ACK &lt;code&gt;</b> to the SMS');
    expect(producer.records).toHaveLength(0);
  });
});

describe('POST /ack', () => {
  it('records the ack and says who had acknowledged before', async () => {
    const { post, producer } = setup({ view: view({ ackedAt: T('12:05:03'), ackedBy: 'carol' }) });
    const res = await post();
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain(
      'Already acknowledged by carol at 2026-11-28 12:05:03 UTC. Your acknowledgement is recorded too.',
    );
    expect(producer.records).toMatchObject([
      { kind: 'ack', person: 'bob', incident_id: PAGE.incidentId, via: 'email_link' },
    ]);
  });

  it('works without an incident lookup', async () => {
    const { post, producer } = setup();
    const html = await (await post()).text();
    expect(html).toContain('Thank you, bob.');
    expect(html).not.toContain('Already');
    expect(producer.records).toHaveLength(1);
  });
});
