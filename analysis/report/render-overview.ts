import { barSpec, renderSvg } from './charts.js';
import type { LakeData } from './data.js';
import { type Html, html, page, statusBadge, table, verdictBadge } from './html.js';
import { incidentStatus, summaryTimes, timeToAck, timeToResolve } from './incident-status.js';
import { funnelSection, latencySection, mttaSection } from './overview-sections.js';
import { failureReasons, notOpenedBeforeEscalation, totals } from './stats.js';
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

  sections.push(await funnelSection(data), await latencySection(data), await mttaSection(data));

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
