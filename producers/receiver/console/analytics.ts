import { funnelSection, latencySection, mttaSection } from '../../../analysis/report/overview-sections.js';
import { totals } from '../../../analysis/report/stats.js';
import type { ReceiverLogger } from '../http.js';
import { readLake } from '../api/history.js';
import type { ApiDeps } from '../api/routes.js';
import { esc } from './layout.js';

/**
 * The console's analytics page: the lake's delivery funnel, latency percentiles and MTTA per team for a range of
 * UTC days, drawn by the report's own code (analysis/report/overview-sections.ts: the same charts and tables as `make
 * report`'s index.html), with the lake data's age. A form of two dates (GET: works without JavaScript). A lake that
 * cannot be read says so, and the command that makes the report where it can.
 */
const DAY_MS = 86_400_000;
/** The longest range the page reads at once (the lake's views read every day of it). */
export const MAX_RANGE_DAYS = 92;

export interface AnalyticsRange {
  /** Epoch ms: from the start of `fromDay` (UTC) to the start of `toDay` (excluded). */
  from: number;
  to: number;
  fromDay: string;
  toDay: string;
  /** Why the asked range was not taken (the default shown instead). */
  problem?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const msOf = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** The range `from` and `to` (YYYY-MM-DD) ask for; default the last 7 days up to the end of today (UTC). */
export function analyticsRange(fromQ: string | undefined, toQ: string | undefined, now: number): AnalyticsRange {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const fallback = { from: today - 6 * DAY_MS, to: today + DAY_MS };
  const asked = (fromQ ?? '') !== '' || (toQ ?? '') !== '';
  const from = fromQ && DAY.test(fromQ) ? msOf(fromQ) : Number.NaN;
  const to = toQ && DAY.test(toQ) ? msOf(toQ) : Number.NaN;
  let problem: string | undefined;
  if (asked && (Number.isNaN(from) || Number.isNaN(to))) problem = 'Give both days as dates (YYYY-MM-DD).';
  else if (asked && to <= from) problem = 'The “to” day must be after the “from” day.';
  else if (asked && to - from > MAX_RANGE_DAYS * DAY_MS) problem = `At most ${MAX_RANGE_DAYS} days at once.`;
  const r = asked && !problem ? { from, to } : fallback;
  return { ...r, fromDay: dayOf(r.from), toDay: dayOf(r.to), ...(problem ? { problem } : {}) };
}

/** The page's body: the form, then the lake's analytics for the range (or why not). */
export async function analyticsBody(
  range: AnalyticsRange,
  api: Pick<ApiDeps, 'lake' | 'lakeTimeoutMs'>,
  logger: ReceiverLogger,
): Promise<string> {
  const command = `make report FROM=${range.fromDay}T00:00:00Z TO=${range.toDay}T00:00:00Z`;
  const form =
    '<form method="get" action="/console/analytics" class="card"><h2>Range</h2>' +
    (range.problem ? `<p class="alert" role="alert">${esc(range.problem)} Showing the last 7 days.</p>` : '') +
    `<label for="from">From (UTC day)</label><input id="from" name="from" type="date" value="${range.fromDay}">` +
    `<label for="to">To (UTC day, excluded)</label><input id="to" name="to" type="date" value="${range.toDay}">` +
    '<button class="act" type="submit">Show</button></form>';
  const fallback = `<p>The whole report (failures, each incident's page): <code>${esc(command)}</code></p>`;
  if (!api.lake)
    return `${form}<p class="alert" role="alert">This receiver reads no lake: no analytics here.</p>${fallback}`;
  const lake = await readLake(api.lake, (r) => r.analytics(range.from, range.to), {
    logger,
    route: 'GET /console/analytics',
    timeoutMs: api.lakeTimeoutMs,
  });
  if (!lake.value || !lake.freshness.available) {
    const why = lake.freshness.available ? 'the lake could not be read' : lake.freshness.error;
    return `${form}<p class="alert" role="alert">No analytics: ${esc(why)}. Try again in a moment.</p>${fallback}`;
  }
  const data = lake.value;
  const n = totals(data);
  const head =
    `<p class="meta"><strong>${n.incidents}</strong> incident${n.incidents === 1 ? '' : 's'}, <strong>${n.pages}` +
    `</strong> page${n.pages === 1 ? '' : 's'}${n.notices ? ` (+ ${n.notices} notices, not pages)` : ''}, ` +
    `${n.failures} failed · ${esc(range.fromDay)} to ${esc(range.toDay)} (UTC, the last day excluded)</p>` +
    `<p class="muted" id="data-age">${esc(lake.freshness.text)} (${esc(lake.freshness.engine)})</p>`;
  const sections = [
    await funnelSection(data, { scroll: true }),
    await latencySection(data, { scroll: true }),
    await mttaSection(data, { scroll: true }),
  ];
  return `${form}${head}<div class="report">${sections.map((s) => s.markup).join('')}</div>${fallback}`;
}
