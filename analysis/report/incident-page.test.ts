import { describe, expect, it } from 'vitest';
import { PAGE_COLUMN_PX, barSpec, percentileSpec, renderSvg, timelineSpec } from './charts.js';
import type { LakeData, PageFact } from './data.js';
import { incident } from './summary.fixtures.js';
import { incidentStatus, timeToAck, timeToResolve } from './incident-status.js';
import { shownVerdict } from './page-verdict.js';
import { renderIncident } from './render-incident.js';
import { renderOverview } from './render-overview.js';
import { latencies, mttaPerTeam, percentileRows } from './stats.js';
import { buildTimeline, type IncidentRows, type Timeline } from './timeline.js';
import { BILLING, EXHAUSTED, PEOPLE, T } from './timeline.fixtures.js';
import { formatDuration } from './values.js';
import { whyPaged } from './why-paged.js';

/**
 * The report's incident page and incident list as a new user reads them (issue 20 row 14): where each incident
 * stands, how long it took to acknowledge and to resolve, why each person was paged, chart text that can be read,
 * a group of one page drawn once, the same MTTA words in the chart as in the table, and no red pill for a page whose
 * person acknowledged on another channel.
 */
const s = (sec: number) => T + sec * 1000;

/** The text of each row of a table (`id`), cells joined by ` | `, tags dropped. */
function rowsOf(page: string, id: string): string[] {
  const table = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(page)?.[1] ?? '';
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) =>
    [...r[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, '').trim()).join(' | '),
  );
}
const headOf = (page: string, id: string) =>
  [
    ...(new RegExp(`<table id="${id}"><thead>([\\s\\S]*?)</thead>`).exec(page)?.[1] ?? '').matchAll(/<th>(.*?)<\/th>/g),
  ].map((m) => m[1]);
/** Every font size an SVG's text is drawn at (Vega writes `font-size="12px"` or a style). */
const fontSizes = (svg: string) => [...svg.matchAll(/font-size(?:="|:\s*)([\d.]+)/g)].map((m) => Number(m[1]));

const render = (t: Timeline) => renderIncident(t, { timeZone: 'UTC', indexHref: 'index.html' });

/** BILLING with `resolved_by` on the dispatches, as the lake processor writes it into `detail`. */
function billingWithWhy(): IncidentRows {
  const rows = structuredClone(BILLING);
  const why: Record<string, unknown> = {
    bob: { schedule: 'billing-primary', layer: 0, source: 'rotation' },
    carol: { schedule: 'billing-secondary', layer: 1, source: 'override', override: true },
  };
  for (const r of rows.events)
    if (r.kind === 'dispatch') r.detail = JSON.stringify({ resolved_by: why[String(r.person)] });
  return rows;
}

const overview = (data: Partial<LakeData>) =>
  renderOverview(
    { incidents: [], pages: [], failures: [], ...data },
    { from: s(-60), to: s(3600), timeZone: 'UTC', hrefOf: (id) => `${id}.html`, generatedAt: s(3600) },
  );

describe('status and time to resolve', () => {
  const triggered = incident({ incident_id: 'a', opened_at: s(0) });
  const acked = incident({ incident_id: 'b', opened_at: s(0), acknowledged_at: s(75), acknowledged_by: 'bob' });
  const resolved = incident({ incident_id: 'c', opened_at: s(0), acknowledged_at: s(30), resolved_at: s(900) });

  it('each incident is triggered, acknowledged or resolved; times run from the alarm (else the first page)', () => {
    expect([
      incidentStatus({ openedAt: s(0) }),
      incidentStatus({ openedAt: s(0), acknowledgedAt: s(5) }),
      incidentStatus({ openedAt: s(0), resolvedAt: s(9) }), // resolved without an ack
    ]).toEqual(['triggered', 'acknowledged', 'resolved']);
    expect(timeToAck({ firstPagedAt: s(2), acknowledgedAt: s(12) })).toBe(10);
    expect(timeToResolve({ openedAt: s(0), resolvedAt: s(900) })).toBe(900);
    expect(timeToResolve({ openedAt: s(0) })).toBeUndefined();
  });

  it('the incident list has a status column and a time to resolve beside the time to acknowledge', async () => {
    const page = await overview({ incidents: [triggered, acked, resolved] });
    const head = headOf(page, 'incident-list');
    expect(head.slice(head.indexOf('status'), head.indexOf('status') + 3)).toEqual([
      'status',
      'acknowledged',
      'resolved',
    ]);
    expect(rowsOf(page, 'incident-list').map((r) => r.split(' | ').slice(5, 8))).toEqual([
      ['triggered', 'not acknowledged', 'still in alarm'],
      ['acknowledged', 'bob after 1 min 15 s', 'still in alarm'],
      ['resolved', 'someone after 30 s', 'after 15 min 00 s'],
    ]);
    expect(page).toContain('data-status="triggered"');
  });

  it('the team table has MTTR next to MTTA', async () => {
    expect(mttaPerTeam([triggered, acked, resolved])).toEqual([
      { team: 'app', incidents: 3, acked: 2, mtta: 52.5, p50: 52.5, resolved: 1, mttr: 900 },
    ]);
    const page = await overview({ incidents: [triggered, acked, resolved] });
    expect(headOf(page, 'mtta-table')).toEqual([
      'team',
      'incidents',
      'acknowledged',
      'MTTA',
      'median',
      'resolved',
      'MTTR',
    ]);
    expect(rowsOf(page, 'mtta-table')).toEqual(['app | 3 | 2 | 53 s | 53 s | 1 | 15 min 00 s']); // 52.5 s
  });

  it('the incident page says its status, time to acknowledge and time to resolve', async () => {
    const billing = await render(buildTimeline(BILLING, PEOPLE));
    expect(billing).toMatch(/<dt>status<\/dt><dd><span class="status status-resolved" data-status="resolved">/);
    expect(billing).toContain('<dd data-duration="time-to-acknowledge">6 min 10 s</dd>');
    expect(billing).toContain('<dd data-duration="time-to-resolve">15 min 00 s</dd>');
    const open = await render(buildTimeline(EXHAUSTED, PEOPLE));
    expect(open).toContain('data-status="triggered"');
    expect(open).toContain('<dd data-duration="time-to-resolve">—</dd>');
  });
});

describe('why this person', () => {
  it('names the schedule and the layer or override as the on-call file does', () => {
    const rotation = whyPaged({ schedule: 'db', layer: 0, source: 'rotation' });
    expect(rotation).toBe('schedule db · layer layers[0] (rotation)');
    expect(whyPaged({ schedule: 'db', layer: 'nights', source: 'ical' })).toBe(
      'schedule db · layer "nights" (iCalendar)',
    );
    expect(whyPaged({ schedule: 'db', layer: 2, source: 'override', override: true })).toBe(
      'schedule db · override overrides[2]',
    );
    expect(whyPaged(null)).toBe('policy target (no schedule)');
  });

  it("each page's row says it, from the dispatch's resolved_by", async () => {
    const t = buildTimeline(billingWithWhy(), PEOPLE);
    const pages = t.steps.flatMap((x) => (x.kind === 'paged' ? x.channels.map((c) => c.resolvedBy) : []));
    expect(pages[0]).toEqual({ schedule: 'billing-primary', layer: 0, source: 'rotation' });
    const rows = rowsOf(await render(t), 'pages-table').map((r) => r.split(' | ').slice(0, 2).join(' | '));
    expect(rows).toEqual([
      'Bob Diaz | schedule billing-primary · layer layers[0] (rotation)',
      'Bob Diaz | schedule billing-primary · layer layers[0] (rotation)',
      'Carol Otieno | schedule billing-secondary · override overrides[1]',
      'Carol Otieno | schedule billing-secondary · override overrides[1]',
    ]);
    // rows without it (a person the policy names) say so; a malformed value is never shown as a reason
    const bare = structuredClone(BILLING);
    for (const r of bare.events) if (r.kind === 'dispatch') r.detail = '{"resolved_by":{"schedule":""}}';
    expect(rowsOf(await render(buildTimeline(bare, PEOPLE)), 'pages-table')[0]).toContain(
      'policy target (no schedule)',
    );
  });
});

describe('charts a person can read', () => {
  it('the timeline draws no text under 12 px and fits the page without being scaled down', async () => {
    const page = await render(buildTimeline(BILLING, PEOPLE));
    const svg = /<section id="timeline-chart">[\s\S]*?(<svg[\s\S]*?<\/svg>)/.exec(page)![1];
    expect(fontSizes(svg).length).toBeGreaterThan(0);
    expect(Math.min(...fontSizes(svg))).toBeGreaterThanOrEqual(12);
    // main is 1,180 px minus its padding (64) and the section's (40 + 2): 1,074 px for a chart at its own size
    expect(Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1])).toBeLessThanOrEqual(PAGE_COLUMN_PX);
    expect(svg).toContain('>Carol Otieno · WhatsApp · L2</text>'); // lane labels whole
    // the page never shrinks a chart (which would shrink its text with it)
    expect(page).not.toMatch(/\.chart svg\{[^}]*max-width/);
  });

  it('every chart of the overview draws its text at 12 px or more', async () => {
    const marker = await renderSvg(
      timelineSpec([{ lane: 'a', step: 'sent', t: 0, text: 'x' }], [{ t: 1, text: 'm' }]),
      {
        label: 'x',
      },
    );
    const bars = await renderSvg(barSpec([{ label: 'a', value: 1 }], { title: 't' }), { label: 'x' });
    for (const svg of [marker.markup, bars.markup]) expect(Math.min(...fontSizes(svg))).toBeGreaterThanOrEqual(12);
  });
});

describe('a group of one page', () => {
  const one: PageFact = {
    incident_id: 'i',
    message_id: 'm',
    channel: 'sms',
    severity: 'P1',
    sent_at: 0,
    delivered_at: 4200,
  };
  const two = [0, 1].map((i) => ({ ...one, message_id: `e${i}`, channel: 'email', delivered_at: 1000 + i * 1000 }));

  it('is one value, labelled n = 1, not three identical percentiles', () => {
    const rows = percentileRows(latencies([one, ...two]));
    expect(rows.filter((r) => r.group.startsWith('sms'))).toEqual([
      { metric: 'time to deliver', group: 'sms · P1', p: 'one sample', seconds: 4.2, n: 1 },
    ]);
    expect(rows.filter((r) => r.group.startsWith('email')).map((r) => [r.group, r.p])).toEqual([
      ['email · P1', 'p50'],
      ['email · P1', 'p90'],
      ['email · P1', 'p99'],
    ]);
  });

  it('the chart draws one dot and no bar for it; the table gives its value once', async () => {
    const svg = (await renderSvg(percentileSpec(percentileRows(latencies([one]))), { label: 'x' })).markup;
    expect(svg).toContain('>n = 1</text>');
    expect(svg).not.toMatch(/class="mark-rect[^"]*"[^>]*>\s*<path/); // no bar drawn
    expect(svg).toMatch(/class="mark-symbol[^"]*"[^>]*>\s*<path/); // one dot
    const page = await overview({ incidents: [incident({ opened_at: s(0) })], pages: [one] });
    expect(rowsOf(page, 'latency-table')).toEqual(['sms | P1 | time to deliver | 1 | 4.2 s | n = 1 | n = 1']);
  });
});

describe('MTTA: one formatting for the chart and the table', () => {
  it("the bar's label says what the table says", async () => {
    const incs = [
      incident({ team: 'db', opened_at: s(0), acknowledged_at: s(90.4) }),
      incident({ team: 'db', opened_at: s(0), acknowledged_at: s(90.8) }),
    ];
    const page = await overview({ incidents: incs });
    const mtta = formatDuration(mttaPerTeam(incs)[0].mtta); // 90.6 s
    expect(mtta).toBe('1 min 31 s');
    expect(rowsOf(page, 'mtta-table')[0]).toContain(`| ${mtta} |`);
    const chart = /<section id="mtta">[\s\S]*?(<svg[\s\S]*?<\/svg>)/.exec(page)![1];
    expect(chart).toContain(`>${mtta}</text>`);
    expect(chart).toContain('db · n = 2');
  });
});

describe('a page whose person acknowledged on another channel', () => {
  it('is shown neutrally, naming the ack channel, not as a red "no"', async () => {
    const t = buildTimeline(BILLING, PEOPLE);
    const rows = rowsOf(await render(t), 'pages-table');
    // Carol's SMS did not get through, and she acked by WhatsApp reply: the SMS was not needed
    expect(rows[3]).toMatch(/^Carol Otieno \|.*\| SMS \|.*undelivered 30003 \| not needed: acked by WhatsApp$/);
    const page = await render(t);
    expect(page).toContain('<span class="verdict verdict-neutral" data-verdict="not needed">');
    // Bob never acked: his pages stay "no"
    expect(rows.slice(0, 2).map((r) => r.split(' | ').at(-1))).toEqual(['no', 'no']);
  });

  it("stays a no when the page's level escalated before that ack", () => {
    const rows = structuredClone(BILLING);
    // Bob acks by voice at 400 s, after level 1 escalated at 303 s: his level-1 pages were missed
    rows.events.push({
      event_id: 'ab',
      kind: 'ack',
      status: 'acked',
      timestamp: s(400),
      channel: 'voice',
      person: 'bob',
    });
    const t = buildTimeline(rows, PEOPLE);
    const bob = t.steps.find((x) => x.kind === 'paged' && x.person.id === 'bob');
    if (bob?.kind !== 'paged') throw new Error('no page of bob');
    expect(shownVerdict(t, bob, bob.channels[0])).toEqual({ kind: 'verdict', verdict: 'no' });
    // the same ack before the escalation: not needed
    rows.events.at(-1)!.timestamp = s(200);
    const early = buildTimeline(rows, PEOPLE);
    const bob2 = early.steps.find((x) => x.kind === 'paged' && x.person.id === 'bob');
    if (bob2?.kind !== 'paged') throw new Error('no page of bob');
    expect(shownVerdict(early, bob2, bob2.channels[0])).toEqual({
      kind: 'not-needed',
      ackChannel: 'voice',
      ackVia: null,
    });
  });
});
