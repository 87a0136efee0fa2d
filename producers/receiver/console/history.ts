import { timelineSection, verdictsSection } from '../../../analysis/report/render-incident.js';
import type { ReceiverLogger } from '../http.js';
import { readLake } from '../api/history.js';
import type { ApiDeps } from '../api/routes.js';
import { esc } from './layout.js';

/**
 * An incident's timeline chart and verdicts on the console, from the lake, drawn by the report's own code
 * (analysis/report/render-incident.ts: the same chart and cards as `make report`'s incident page). The incident page
 * links `/console/incidents/:id/history` (works without JavaScript) and its script puts the same markup in place
 * (`?part=1`): the lake is read after the page is shown, so a slow lake never holds up Acknowledge. Times in UTC.
 */
export async function historyFragment(
  incidentId: string,
  api: Pick<ApiDeps, 'lake' | 'lakeTimeoutMs'>,
  logger: ReceiverLogger,
): Promise<string> {
  if (!api.lake) return '<p class="alert" role="alert">This receiver reads no lake: no timeline chart here.</p>';
  const lake = await readLake(api.lake, (r) => r.incident(incidentId), {
    logger,
    route: 'GET /console/incidents/:id/history',
    timeoutMs: api.lakeTimeoutMs,
  });
  if (!lake.freshness.available) {
    const why = esc(lake.freshness.error);
    return `<p class="alert" role="alert">The lake could not be read: ${why}. Reload to try again.</p>`;
  }
  const age = `<p class="muted" id="history-age">${esc(lake.freshness.text)} (${esc(lake.freshness.engine)})</p>`;
  if (!lake.value)
    return (
      `${age}<p>The lake has nothing of this incident yet: its records are committed within a flush or two ` +
      '(seconds). Reload to see its timeline chart and verdicts.</p>'
    );
  const { timeline } = lake.value;
  const chart = await timelineSection(timeline, 'UTC', { scroll: true });
  return `${age}<div class="report">${verdictsSection(timeline).markup}${chart.markup}</div>`;
}
