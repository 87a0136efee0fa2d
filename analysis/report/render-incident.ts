import { renderSvg, timelineSpec, type LanePoint, type LaneStep, type Marker } from './charts.js';
import type { IncidentSummary } from './data.js';
import { type Html, html, neutralBadge, page, statusBadge, table, verdictBadge } from './html.js';
import { incidentStatus, timeToAck, timeToResolve, timesOf } from './incident-status.js';
import { shownVerdict } from './page-verdict.js';
import { explainFailure } from './provider-codes.js';
import type { PagedChannel, PersonRef, Timeline } from './timeline.js';
import { clock, describeStep } from './timeline-format.js';
import { formatDuration, formatTime } from './values.js';
import { scrollBox, type SectionOptions } from './overview-sections.js';
import { whyPaged } from './why-paged.js';

const CHANNEL_NAME: Record<string, string> = {
  sms: 'SMS',
  whatsapp: 'WhatsApp',
  email: 'email',
  voice: 'voice call',
  webhook: 'webhook',
};
const channelName = (c: string | null) => (c === null ? 'an unknown channel' : (CHANNEL_NAME[c] ?? c));
/** How an ack came: its channel's name, else its `via` (an API ack), else "another channel". */
const ackedBy = (channel: string | null, via: string | null) =>
  channel === null ? (via ?? 'another channel') : channelName(channel);

interface Lane {
  key: string;
  label: string;
  person: PersonRef;
  channel: string;
  paged: PagedChannel[];
}

/** One lane per person, level and channel, in the order first paged. */
function lanesOf(timeline: Timeline): Lane[] {
  const lanes = new Map<string, Lane>();
  for (const s of timeline.steps) {
    if (s.kind !== 'paged') continue;
    for (const ch of s.channels) {
      const key = `${s.person.id ?? s.person.name}|${s.level ?? ''}|${ch.channel}`;
      const lane = lanes.get(key) ?? {
        key,
        label: `${s.person.name} · ${channelName(ch.channel)}${s.level === null ? '' : ` · L${s.level}`}`,
        person: s.person,
        channel: ch.channel,
        paged: [],
      };
      lane.paged.push(ch);
      lanes.set(key, lane);
    }
  }
  return [...lanes.values()];
}

const stepOf = (status: string): LaneStep | undefined =>
  status === 'delivered'
    ? 'delivered'
    : status === 'opened' || status === 'clicked'
      ? 'opened/read'
      : ['undelivered', 'failed', 'bounced', 'complained', 'suppressed', 'canceled'].includes(status)
        ? 'failed'
        : undefined;

/** The chart's points and markers from the timeline (seconds after `t0`). */
export function chartData(
  timeline: Timeline,
  t0: number,
  timeZone: string,
): { points: LanePoint[]; markers: Marker[] } {
  const sec = (at: number) => Math.round((at - t0) / 100) / 10;
  const clock = (at: number) => formatTime(at, timeZone).slice(11);
  const lanes = lanesOf(timeline);
  const points: LanePoint[] = [];
  for (const lane of lanes) {
    for (const ch of lane.paged) {
      points.push({
        lane: lane.label,
        step: ch.outcome === 'failed' ? 'failed' : 'sent',
        t: sec(ch.at),
        text: `${ch.outcome} ${clock(ch.at)}`,
      });
      for (const e of ch.events) {
        const step = stepOf(e.status);
        if (step) points.push({ lane: lane.label, step, t: sec(e.at), text: `${e.word} ${clock(e.at)}` });
      }
    }
  }
  const markers: Marker[] = [];
  for (const s of timeline.steps) {
    if (s.kind === 'escalated')
      markers.push({
        t: sec(s.at),
        text: s.toLevel === null ? `${s.reason}` : `escalated to L${s.toLevel} (${s.reason})`,
      });
    if (s.kind === 'acknowledged') {
      // On the lane of the message acknowledged: the person's lane on the ack's channel, else their last lane paged
      // before it.
      const mine = lanes.filter(
        (l) => s.person !== null && l.person.id === s.person.id && l.paged.some((p) => p.at <= s.at),
      );
      const lane = mine.find((l) => l.channel === s.channel) ?? mine.at(-1);
      if (lane) points.push({ lane: lane.label, step: 'acked', t: sec(s.at), text: `acknowledged ${clock(s.at)}` });
      else markers.push({ t: sec(s.at), text: `acknowledged${s.person ? ` by ${s.person.name}` : ''}` });
    }
  }
  return { points, markers };
}

export interface FailureRow {
  at: number;
  person: string;
  channel: string;
  provider: string | null;
  status: string;
  code: string | null;
  message: string | null;
}

/** Every failure the timeline shows: sends that failed and provider reports of failure. */
export function failuresOf(timeline: Timeline): FailureRow[] {
  const out: FailureRow[] = [];
  for (const s of timeline.steps) {
    if (s.kind === 'paged')
      for (const c of s.channels) {
        if (c.outcome === 'failed')
          out.push({
            at: c.at,
            person: s.person.name,
            channel: c.channel,
            provider: c.provider,
            status: 'failed',
            code: c.errorCode,
            message: c.errorMessage,
          });
        for (const e of c.events)
          if (e.failed)
            out.push({
              at: e.at,
              person: s.person.name,
              channel: c.channel,
              provider: c.provider,
              status: e.status,
              code: e.errorCode,
              message: e.errorMessage,
            });
      }
    if (s.kind === 'receipt' && s.event.failed)
      out.push({
        at: s.at,
        person: '—',
        channel: s.channel ?? '—',
        provider: null,
        status: s.event.status,
        code: s.event.errorCode,
        message: s.event.errorMessage,
      });
  }
  return out.sort((a, b) => a.at - b.at);
}

const VERDICT_HELP = {
  first: 'Did a level-1 target open (or acknowledge) their page before the incident first escalated?',
  any: "Did anyone paged open their page before that page's own level escalated?",
};

/** The two verdicts as cards: was the page opened before it escalated (the report's and the console's). */
export function verdictsSection(timeline: Timeline): Html {
  const v = timeline.verdicts;
  return html`<section id="verdicts"><h2>Was the page opened before it escalated?</h2><div class="cards">
<div class="card" data-verdict-name="first_responder_opened_before_escalation"><h3>First responder</h3>\
${verdictBadge(v.firstResponderOpenedBeforeEscalation)}<p>${VERDICT_HELP.first}</p></div>
<div class="card" data-verdict-name="any_responder_opened_before_escalation"><h3>Any responder</h3>\
${verdictBadge(v.anyResponderOpenedBeforeEscalation)}<p>${VERDICT_HELP.any}</p></div>
</div></section>`;
}

/** The timeline chart: one lane per person, channel and level (the report's and the console's; `scroll` as there). */
export async function timelineSection(timeline: Timeline, timeZone: string, opts: SectionOptions = {}): Promise<Html> {
  const t0 = timeline.openedAt ?? timeline.steps[0]?.at ?? 0;
  const { points, markers } = chartData(timeline, t0, timeZone);
  const label = `timeline of ${timeline.alarmName ?? timeline.incidentId}`;
  return html`<section id="timeline-chart"><h2>Timeline</h2>\
<p class="note">One lane per person, channel and level; seconds after the alarm opened. \
Dashed lines: escalations.</p>
${
  points.length
    ? scrollBox(await renderSvg(timelineSpec(points, markers), { label }), 'timeline chart', opts)
    : html`<p class="empty">No page was sent.</p>`
}</section>`;
}

/** One incident's page. */
export async function renderIncident(
  timeline: Timeline,
  /** `dataAsOf`: the lake data's age (data-age.ts), a second line of the header. */
  opts: { summary?: IncidentSummary; timeZone: string; indexHref: string; dataAsOf?: string },
): Promise<string> {
  const t = (ms: number | null | undefined) => formatTime(ms ?? undefined, opts.timeZone);
  const time = clock(opts.timeZone).time;
  const t0 = timeline.openedAt ?? timeline.steps[0]?.at ?? 0;
  const v = timeline.verdicts;
  const times = timesOf({ ...timeline, firstPagedAt: opts.summary?.first_paged_at });
  const after = (ms: number | null) => (ms === null ? '' : ` (after ${formatDuration((ms - t0) / 1000)})`);

  const pagesRows = timeline.steps.flatMap((s) =>
    s.kind !== 'paged'
      ? []
      : s.channels.map((c) => {
          const first = (pred: (st: string) => boolean) => c.events.find((e) => pred(e.status));
          const delivered = first((st) => st === 'delivered' || st === 'opened' || st === 'clicked');
          const opened = first((st) => st === 'opened' || st === 'clicked');
          const failed =
            c.outcome === 'failed' ? { word: 'not sent', errorCode: c.errorCode } : c.events.find((e) => e.failed);
          const shown = shownVerdict(timeline, s, c);
          return [
            s.person.name,
            whyPaged(c.resolvedBy),
            s.level ?? '—',
            channelName(c.channel),
            t(c.at).slice(11),
            delivered ? t(delivered.at).slice(11) : '—',
            opened ? html`${t(opened.at).slice(11)} <small>(${opened.word})</small>` : '—',
            failed
              ? html`<span class="fail">${failed.word}${failed.errorCode ? ` ${failed.errorCode}` : ''}</span>`
              : '—',
            shown.kind === 'not-needed'
              ? neutralBadge(`not needed: acked by ${ackedBy(shown.ackChannel, shown.ackVia)}`, 'not needed')
              : verdictBadge(shown.verdict),
          ];
        }),
  );

  const failures = failuresOf(timeline);
  const body: Html[] = [
    html`<p><a href="${opts.indexHref}">← all incidents</a></p>`,
    html`<section id="summary"><h2>Summary</h2><dl class="meta">
<dt>incident</dt><dd><code>${timeline.incidentId}</code></dd>
<dt>alarm</dt><dd>${timeline.alarmName ?? '—'}${
      timeline.alarmArn ? html` <small><code>${timeline.alarmArn}</code></small>` : ''
    }</dd>
<dt>source</dt><dd>${timeline.source ?? '—'}</dd>
<dt>status</dt><dd>${statusBadge(incidentStatus(times))}</dd>
<dt>severity · team</dt><dd>${timeline.severity ?? '—'} · ${opts.summary?.team ?? '—'}</dd>
<dt>opened</dt><dd>${t(timeline.openedAt)} (${opts.timeZone})</dd>
<dt>escalated</dt><dd>${
      timeline.escalatedAt === null ? 'no' : `${t(timeline.escalatedAt)}${after(timeline.escalatedAt)}`
    }</dd>
<dt>acknowledged</dt><dd>${
      timeline.acknowledgedAt === null
        ? 'not acknowledged'
        : `${t(timeline.acknowledgedAt)}${after(timeline.acknowledgedAt)} by ${v.acknowledgedBy?.name ?? 'someone'}`
    }</dd>
<dt>resolved</dt><dd>${
      timeline.resolvedAt === null ? 'still in alarm' : `${t(timeline.resolvedAt)}${after(timeline.resolvedAt)}`
    }</dd>
<dt>time to acknowledge</dt><dd data-duration="time-to-acknowledge">${formatDuration(timeToAck(times))}</dd>
<dt>time to resolve</dt><dd data-duration="time-to-resolve">${formatDuration(timeToResolve(times))}</dd>
</dl></section>`,
    verdictsSection(timeline),
    await timelineSection(timeline, opts.timeZone),
    html`<section id="pages"><h2>Pages</h2>\
<p class="note">Why this person: the on-call schedule and the layer or override that had them on call (as the page \
recorded it), else a target the policy names. Last column: opened before <em>this page's</em> level escalated \
(<code>opened_before_this_page_escalated</code>); <em>not needed</em>: the person acknowledged on another channel \
before this page's level escalated.</p>
${table(
  [
    'person',
    'why this person',
    'level',
    'channel',
    'sent',
    'delivered',
    'opened / read',
    'failed',
    'opened before this page escalated',
  ],
  pagesRows,
  { id: 'pages-table', empty: 'No page was sent.' },
)}</section>`,
    html`<section id="failures"><h2>Failures</h2>
${table(
  ['time', 'person', 'channel', 'provider', 'status', 'code', 'what it means'],
  failures.map((f) => {
    const e = explainFailure({ provider: f.provider, status: f.status, error_code: f.code });
    return [
      t(f.at).slice(11),
      f.person,
      channelName(f.channel),
      f.provider ?? '—',
      f.status,
      f.code ? html`<span class="code">${f.code}</span>` : '—',
      e
        ? html`<span class="explain"><strong>${e.label}</strong>: ${e.detail}</span>`
        : (f.message ?? 'no explanation known for this code'),
    ];
  }),
  { id: 'failures-table', empty: 'Every page went through.' },
)}</section>`,
    html`<section id="steps"><h2>Step by step</h2><ol class="steps">${timeline.steps.map(
      (s) => html`<li><time>${t(s.at).slice(11)}</time> ${describeStep(s, time)}</li>`,
    )}</ol><p class="note">Times in ${opts.timeZone}.</p></section>`,
  ];
  return page({
    title: `${timeline.alarmName ?? timeline.incidentId} · pagetrail`,
    heading: html`${timeline.alarmName ?? timeline.incidentId}${timeline.severity ? ` · ${timeline.severity}` : ''}`,
    sub: html`incident ${timeline.incidentId} · opened ${t(timeline.openedAt)} (${opts.timeZone})${
      opts.dataAsOf ? html`<br><span class="as-of">${opts.dataAsOf}</span>` : ''
    }`,
    body,
  });
}
