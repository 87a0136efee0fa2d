import { barSpec, funnelSpec, percentileSpec, renderSvg } from './charts.js';
import type { LakeData } from './data.js';
import { type Html, html, page, statusBadge, table, verdictBadge } from './html.js';
import { incidentStatus, summaryTimes, timeToAck, timeToResolve } from './incident-status.js';
import {
  failureReasons,
  funnel,
  latencies,
  mttaPerTeam,
  notOpenedBeforeEscalation,
  percentileRows,
  totals,
} from './stats.js';
import { formatDuration, formatTime } from './values.js';

export interface OverviewOptions {
  from: number;
  to: number;
  timeZone: string;
  /** The file name of an incident's page (relative to index.html). */
  hrefOf: (incidentId: string) => string;
  /** When the report was made. */
  generatedAt: number;
  /** The lake data's age (data-age.ts): a second line of the header. */
  dataAsOf?: string;
  /** People of the on-call file (names); ids are shown for anyone not in it. */
  people?: Record<string, { name: string }>;
  /** The "On call: reachability" section (reachability.ts), last; none without an on-call file. */
  reachability?: Html;
}

/** index.html: the time range at a glance. */
export async function renderOverview(data: LakeData, opts: OverviewOptions): Promise<string> {
  const t = (ms: number | undefined) => formatTime(ms, opts.timeZone);
  const name = (id: string | undefined) => (id === undefined ? undefined : (opts.people?.[id]?.name ?? id));
  const link = (id: string, text: string) => html`<a href="${opts.hrefOf(id)}">${text}</a>`;
  const sections: Html[] = [];

  sections.push(html`<section id="incidents"><h2>Incidents (${data.incidents.length})</h2>
<p class="note">First responder: did a level-1 target open their page before the incident escalated? \
Any responder: did anyone paged open their page before that page's level escalated? \
<code>pending</code>: the incident is still open and nothing escalated yet.</p>
${table(
  [
    'opened',
    'alarm',
    'sev',
    'team',
    'pages',
    'status',
    'acknowledged',
    'resolved',
    'first responder opened before escalation',
    'any responder opened before escalation',
  ],
  data.incidents.map((i) => [
    t(i.opened_at ?? i.first_paged_at),
    // an alert source's alarm (Alertmanager, Events API v2) says where it came from
    i.source && i.source !== 'cloudwatch'
      ? html`${link(i.incident_id, i.alarm_name ?? i.incident_id)} <small>${i.source}</small>`
      : link(i.incident_id, i.alarm_name ?? i.incident_id),
    i.severity ?? '—',
    i.team,
    i.pages,
    statusBadge(incidentStatus(summaryTimes(i))),
    i.acknowledged_at !== undefined
      ? `${name(i.acknowledged_by) ?? 'someone'} after ${formatDuration(timeToAck(summaryTimes(i)))}`
      : 'not acknowledged',
    i.resolved_at !== undefined ? `after ${formatDuration(timeToResolve(summaryTimes(i)))}` : 'still in alarm',
    verdictBadge(i.first_responder_opened_before_escalation),
    verdictBadge(i.any_responder_opened_before_escalation),
  ]),
  {
    id: 'incident-list',
    cls: [undefined, undefined, undefined, undefined, 'num'],
    empty: 'No incident opened in this range.',
  },
)}</section>`);

  const f = funnel(data.pages);
  sections.push(html`<section id="funnel"><h2>Delivery funnel per channel</h2>
<p class="note">Pages sent on each channel, and how many the provider reported delivered, opened/read \
(email open, WhatsApp read; SMS reports no reads) and were acknowledged. Notices (an ack or resolve told to \
people) are not pages: not counted here.</p>
${
  f.length
    ? await renderSvg(funnelSpec(f), { label: 'delivery funnel per channel' })
    : html`<p class="empty">No page sent in this range.</p>`
}</section>`);

  const lat = latencies(data.pages);
  const pr = percentileRows(lat);
  sections.push(html`<section id="latency"><h2>Time to deliver, open and acknowledge</h2>
<p class="note">Seconds from the page's send, per channel and severity: p50 / p90 / p99 (n = pages with that step; \
a group of one page is one dot, its single value).</p>
${pr.length ? await renderSvg(percentileSpec(pr), { label: 'latency percentiles per channel and severity' }) : ''}
${table(
  ['channel', 'severity', 'step', 'n', 'p50', 'p90', 'p99'],
  lat
    .filter((r) => r.n > 0)
    .map((r) => [
      r.channel,
      r.severity,
      r.metric,
      r.n,
      formatDuration(r.p50),
      // one sample has no spread: its value once, not three times
      r.n === 1 ? 'n = 1' : formatDuration(r.p90),
      r.n === 1 ? 'n = 1' : formatDuration(r.p99),
    ]),
  {
    id: 'latency-table',
    cls: [undefined, undefined, undefined, 'num', 'num', 'num', 'num'],
    empty: 'No delivery, open or ack reported in this range.',
  },
)}</section>`);

  const mtta = mttaPerTeam(data.incidents);
  // the bars' labels are the table's words (one formatting function for both)
  const mttaRows = mtta
    .filter((m) => m.mtta !== undefined)
    .map((m) => ({ label: `${m.team} · n = ${m.acked}`, value: m.mtta!, text: formatDuration(m.mtta) }));
  sections.push(html`<section id="mtta"><h2>Mean time to acknowledge and to resolve per team</h2>
<p class="note">From the alarm to the first acknowledgement (MTTA), and to the alarm's OK (MTTR), over the team's \
acknowledged (resolved) incidents (team: the alarm's <code>team</code> tag, else the on-call file's routes).</p>
${
  mttaRows.length
    ? await renderSvg(barSpec(mttaRows, { title: 'MTTA (seconds)' }), { label: 'mean time to acknowledge per team' })
    : ''
}
${table(
  ['team', 'incidents', 'acknowledged', 'MTTA', 'median', 'resolved', 'MTTR'],
  mtta.map((m) => [
    m.team,
    m.incidents,
    m.acked,
    formatDuration(m.mtta),
    formatDuration(m.p50),
    m.resolved,
    formatDuration(m.mttr),
  ]),
  {
    id: 'mtta-table',
    cls: [undefined, 'num', 'num', 'num', 'num', 'num', 'num'],
    empty: 'No incident in this range.',
  },
)}</section>`);

  const reasons = failureReasons(data.failures);
  sections.push(html`<section id="failures"><h2>Failure reasons by provider code</h2>
${
  reasons.length
    ? await renderSvg(
        barSpec(
          reasons.map((r) => ({
            label: `${r.provider} ${r.code}${r.label ? ` · ${r.label}` : ''}`,
            value: r.count,
            color: r.provider,
          })),
          { title: 'failed pages', colorTitle: 'provider' },
        ),
        { label: 'failures by provider code' },
      )
    : ''
}
${table(
  ['provider', 'code', 'status', 'pages', 'what it means'],
  reasons.map((r) => [
    r.provider,
    html`<span class="code">${r.code}</span>`,
    r.status,
    r.count,
    r.label ? html`<strong>${r.label}</strong>: ${r.detail}` : (r.example ?? 'unknown code'),
  ]),
  {
    id: 'failure-table',
    cls: [undefined, undefined, undefined, 'num', 'explain'],
    empty: 'No page failed in this range.',
  },
)}</section>`);

  const missed = notOpenedBeforeEscalation(data.incidents);
  sections.push(html`<section id="not-opened">\
<h2>Escalated before the first responder opened the page (${missed.length})</h2>
${table(
  ['opened', 'alarm', 'sev', 'team', 'escalated', 'any responder opened before escalation', 'acknowledged by'],
  missed.map((i) => [
    t(i.opened_at),
    link(i.incident_id, i.alarm_name ?? i.incident_id),
    i.severity ?? '—',
    i.team,
    t(i.escalated_at),
    verdictBadge(i.any_responder_opened_before_escalation),
    name(i.acknowledged_by) ?? '—',
  ]),
  { id: 'not-opened-table', empty: 'Every first responder opened the page before escalation (or nothing escalated).' },
)}</section>`);

  if (opts.reachability) sections.push(opts.reachability);

  const n = totals(data);
  const silent = n.silent ? `, ${n.silent} failed over on silence` : '';
  return page({
    title: 'pagetrail report',
    heading: 'pagetrail · delivery report',
    sub: html`${n.incidents} incidents, ${n.pages} pages${n.notices ? ` (+ ${n.notices} notices, not pages)` : ''}, \
${n.failures} failures${silent} · ${t(opts.from)} to ${t(opts.to)} (${opts.timeZone}) · made ${t(opts.generatedAt)}${
      opts.dataAsOf ? html`<br><span class="as-of">${opts.dataAsOf}</span>` : ''
    }`,
    body: sections,
  });
}
