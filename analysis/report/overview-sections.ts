import { barSpec, funnelSpec, percentileSpec, renderSvg } from './charts.js';
import type { LakeData } from './data.js';
import { type Html, html, table } from './html.js';
import { funnel, latencies, mttaPerTeam, percentileRows } from './stats.js';
import { formatDuration } from './values.js';

/**
 * The overview's analytics sections (the delivery funnel, the latency percentiles, MTTA per team): the report's
 * index.html (render-overview.ts) and the console's analytics page (producers/receiver/console) draw them with the
 * same code. `scroll`: wrap each chart and table in a focusable box that scrolls sideways (a phone's screen: the
 * charts are drawn at their own size, never scaled down), as the console does; the report's page scrolls the chart.
 */
export interface SectionOptions {
  scroll?: boolean;
}

/** A chart or table, in a keyboard-scrollable box when `scroll`. */
export const scrollBox = (inner: Html | string, label: string, opts: SectionOptions): Html | string =>
  opts.scroll && inner !== ''
    ? html`<div class="scroll" tabindex="0" role="group" aria-label="${label}">${inner}</div>`
    : inner;

/** Pages per channel sent, delivered, opened/read and acknowledged (stats.ts `funnel`). */
export async function funnelSection(data: LakeData, opts: SectionOptions = {}): Promise<Html> {
  const f = funnel(data.pages);
  return html`<section id="funnel"><h2>Delivery funnel per channel</h2>
<p class="note">Pages sent on each channel, and how many the provider reported delivered, opened/read \
(email open, WhatsApp read; SMS reports no reads) and were acknowledged. Notices (an ack or resolve told to \
people) are not pages: not counted here.</p>
${
  f.length
    ? scrollBox(await renderSvg(funnelSpec(f), { label: 'delivery funnel per channel' }), 'delivery funnel chart', opts)
    : html`<p class="empty">No page sent in this range.</p>`
}</section>`;
}

/** p50/p90/p99 of the time to deliver, open and acknowledge per channel and severity (stats.ts `latencies`). */
export async function latencySection(data: LakeData, opts: SectionOptions = {}): Promise<Html> {
  const lat = latencies(data.pages);
  const pr = percentileRows(lat);
  return html`<section id="latency"><h2>Time to deliver, open and acknowledge</h2>
<p class="note">Seconds from the page's send, per channel and severity: p50 / p90 / p99 (n = pages with that step; \
a group of one page is one dot, its single value).</p>
${
  pr.length
    ? scrollBox(
        await renderSvg(percentileSpec(pr), { label: 'latency percentiles per channel and severity' }),
        'latency percentiles chart',
        opts,
      )
    : ''
}
${scrollBox(
  table(
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
  ),
  'latency percentiles table',
  opts,
)}</section>`;
}

/** Mean time to acknowledge and to resolve per team (stats.ts `mttaPerTeam`). */
export async function mttaSection(data: LakeData, opts: SectionOptions = {}): Promise<Html> {
  const mtta = mttaPerTeam(data.incidents);
  // the bars' labels are the table's words (one formatting function for both)
  const mttaRows = mtta
    .filter((m) => m.mtta !== undefined)
    .map((m) => ({ label: `${m.team} · n = ${m.acked}`, value: m.mtta!, text: formatDuration(m.mtta) }));
  return html`<section id="mtta"><h2>Mean time to acknowledge and to resolve per team</h2>
<p class="note">From the alarm to the first acknowledgement (MTTA), and to the alarm's OK (MTTR), over the team's \
acknowledged (resolved) incidents (team: the alarm's <code>team</code> tag, else the on-call file's routes).</p>
${
  mttaRows.length
    ? scrollBox(
        await renderSvg(barSpec(mttaRows, { title: 'MTTA (seconds)' }), { label: 'mean time to acknowledge per team' }),
        'MTTA chart',
        opts,
      )
    : ''
}
${scrollBox(
  table(
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
  ),
  'MTTA table',
  opts,
)}</section>`;
}
