import { describe, expect, it } from 'vitest';
import { barSpec, renderSvg } from './charts.js';
import type { PageFact } from './data.js';
import { incident } from './summary.fixtures.js';
import { esc, html, table, verdictBadge } from './html.js';
import { explainFailure } from './provider-codes.js';
import { failureReasons, funnel, latencies, mttaPerTeam, notOpenedBeforeEscalation } from './stats.js';
import { formatDuration, percentile } from './values.js';

describe('provider codes', () => {
  it('explains Twilio error codes and Resend bounce types', () => {
    expect(explainFailure({ provider: 'twilio', status: 'undelivered', error_code: '30003' })?.label).toBe(
      'unreachable handset',
    );
    for (const code of ['30005', '30006', '30007', '30008', '21211', '21610', '63016'])
      expect(explainFailure({ provider: 'twilio', error_code: code }), code).toBeDefined();
    expect(explainFailure({ provider: 'resend', status: 'bounced', error_code: 'Permanent/General' })?.label).toBe(
      'hard bounce: rejected by the receiving server',
    );
    expect(explainFailure({ provider: 'resend', status: 'bounced', error_code: 'Transient' })?.label).toBe(
      'soft bounce',
    );
    expect(explainFailure({ provider: 'resend', status: 'suppressed', error_code: null })?.label).toBe('suppressed');
    expect(explainFailure({ provider: 'resend', status: 'complained' })?.label).toBe('marked as spam');
    expect(explainFailure({ provider: 'twilio', error_code: '99999' })).toBeUndefined();
  });
});

describe('html', () => {
  it('escapes every interpolated value, keeps trusted markup', () => {
    const evil = `<img src=x onerror="alert('x')">&`;
    expect(esc(evil)).toBe('&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;');
    expect(html`<p title="${evil}">${evil}${html`<b>ok</b>`}</p>`.markup).toBe(
      `<p title="${esc(evil)}">${esc(evil)}<b>ok</b></p>`,
    );
    expect(table(['a<'], [[evil]]).markup).not.toContain('<img');
    expect(verdictBadge('no (delivered, no read receipt)').markup).toContain('verdict-no');
    expect(verdictBadge(null).markup).toContain('unknown');
  });

  it('renders a chart to inline SVG with its text escaped', async () => {
    const svg = (
      await renderSvg(barSpec([{ label: '<script>x</script>', value: 3 }], { title: 'n' }), { label: 'a "chart"' })
    ).markup;
    expect(svg).toMatch(/^<figure class="chart" role="img" aria-label="a &#34;chart&#34;"><svg aria-hidden="true" /);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
  });
});

const page = (p: Partial<PageFact>): PageFact => ({
  incident_id: 'i1',
  message_id: Math.random().toString(36),
  channel: 'sms',
  severity: 'P1',
  sent_at: 0,
  ...p,
});

describe('stats', () => {
  it('funnel per channel: sent → delivered → opened/read → acked', () => {
    const rows = funnel([
      page({ delivered_at: 1 }),
      page({ delivered_at: 1, acked_at: 5 }),
      page({}),
      page({ channel: 'email', delivered_at: 2, opened_at: 3 }),
    ]);
    expect(rows).toEqual([
      { channel: 'sms', stage: 'sent', pages: 3 },
      { channel: 'sms', stage: 'delivered', pages: 2 },
      { channel: 'sms', stage: 'opened/read', pages: 0 },
      { channel: 'sms', stage: 'acked', pages: 1 },
      { channel: 'email', stage: 'sent', pages: 1 },
      { channel: 'email', stage: 'delivered', pages: 1 },
      { channel: 'email', stage: 'opened/read', pages: 1 },
      { channel: 'email', stage: 'acked', pages: 0 },
    ]);
  });

  it('percentiles per channel and severity, in seconds from the send', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    const pages = Array.from({ length: 11 }, (_, i) => page({ sent_at: 1000, delivered_at: 1000 + i * 1000 }));
    const deliver = latencies(pages).find((r) => r.metric === 'time to deliver')!;
    expect(deliver).toMatchObject({ channel: 'sms', severity: 'P1', n: 11, p50: 5, p90: 9 });
    expect(deliver.p99).toBeCloseTo(9.9);
    expect(latencies(pages).find((r) => r.metric === 'time to ack')).toMatchObject({ n: 0, p50: undefined });
  });

  it('MTTA per team, failures by code, incidents whose first responder had not opened', () => {
    const incs = [
      incident({
        team: 'db',
        opened_at: 0,
        acknowledged_at: 60_000,
        escalated_at: 30_000,
        first_responder_opened_before_escalation: 'no',
      }),
      incident({ team: 'db', opened_at: 0, acknowledged_at: 120_000, first_responder_opened_before_escalation: 'yes' }),
      incident({ team: 'app', opened_at: 0, first_responder_opened_before_escalation: 'pending' }),
    ];
    expect(mttaPerTeam(incs)).toEqual([
      { team: 'app', incidents: 1, acked: 0, mtta: undefined, p50: undefined, resolved: 0, mttr: undefined },
      { team: 'db', incidents: 2, acked: 2, mtta: 90, p50: 90, resolved: 0, mttr: undefined },
    ]);
    expect(notOpenedBeforeEscalation(incs)).toEqual([incs[0]]);
    const reasons = failureReasons([
      { incident_id: 'i', provider: 'twilio', status: 'undelivered', error_code: '30003' },
      { incident_id: 'i', provider: 'twilio', status: 'undelivered', error_code: '30003' },
      { incident_id: 'i', provider: 'resend', status: 'bounced', error_code: 'Permanent/NoEmail' },
    ]);
    expect(reasons.map((r) => [r.provider, r.code, r.count, r.label])).toEqual([
      ['twilio', '30003', 2, 'unreachable handset'],
      ['resend', 'Permanent/NoEmail', 1, 'hard bounce: the address does not exist'],
    ]);
  });

  it('durations read as a person says them', () => {
    expect([
      formatDuration(0.42),
      formatDuration(9.96),
      formatDuration(45),
      formatDuration(312),
      formatDuration(7380),
      formatDuration(undefined),
    ]).toEqual(['0.4 s', '10.0 s', '45 s', '5 min 12 s', '2 h 03 min', '—']);
  });
});
