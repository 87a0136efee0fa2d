import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OnCallConfig } from '../../schemas/oncall/config.js';
import type { IcalCalendar } from '../../shared/schedules/ical.js';
import { loadLakeData, type QueryFn } from './data.js';
import { IncidentPageError } from './errors.js';
import type { Html } from './html.js';
import { renderIncident } from './render-incident.js';
import { renderOverview } from './render-overview.js';
import { loadDrillResults, reachabilityRows, renderReachability } from './reachability.js';
import { buildTimeline, incidentRows } from './timeline.js';

export interface ReportOptions {
  /** SQL over the lake (queryDuckDb or queryAthena bound to their options). */
  query: QueryFn;
  /** The on-call file: people's names and the teams' routes. Without it: person ids, team from the alarm's tag. */
  oncall?: OnCallConfig;
  /**
   * The on-call file's iCalendar layers, read (shared/schedules/ical-feed.ts), for the reachability section's shifts;
   * `icalMissing`: the feeds that could not be read (their layers have nobody there).
   */
  calendars?: ReadonlyMap<string, IcalCalendar>;
  icalMissing?: string[];
  /** Incidents that opened in [from, to), epoch ms; the reachability section: the shifts of the 7 days from `to`. */
  from: number;
  to: number;
  /** Folder to write (created). */
  outDir: string;
  /** IANA time zone of the times shown. Default 'UTC'. */
  timeZone?: string;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
  /**
   * The lake data's age line (data-age.ts `dataAgeLine`), taken after the first query (so it tells whether
   * the lake was read from S3 or, S3 down, from the local cache): shown in the header of every page.
   */
  dataAsOf?: () => Promise<string>;
}

export interface ReportResult {
  dir: string;
  index: string;
  incidents: { incidentId: string; alarmName?: string; file: string }[];
}

/** The file name of an incident's page. */
export const incidentFile = (incidentId: string) => `${incidentId.replace(/[^A-Za-z0-9_-]/g, '_')}.html`;

/**
 * Writes the static report: `index.html` (the overview of the range) and one page per incident, each a
 * self-contained HTML file with inline SVG charts (no script, no server).
 */
export async function buildReport(opts: ReportOptions): Promise<ReportResult> {
  const timeZone = opts.timeZone ?? 'UTC';
  const now = (opts.now ?? Date.now)();
  await mkdir(opts.outDir, { recursive: true });
  const data = await loadLakeData(opts.query, { from: opts.from, to: opts.to, oncall: opts.oncall });
  const dataAsOf = await opts.dataAsOf?.();
  const incidents: ReportResult['incidents'] = [];
  for (const summary of data.incidents) {
    const file = path.join(opts.outDir, incidentFile(summary.incident_id));
    try {
      const rows = await incidentRows(opts.query, summary.incident_id);
      if (!rows) continue; // gone between the two reads (a lake rewritten meanwhile): the overview still lists it
      const timeline = buildTimeline(rows, opts.oncall?.people ?? {});
      await writeFile(file, await renderIncident(timeline, { summary, timeZone, indexHref: 'index.html', dataAsOf }));
    } catch (cause) {
      throw new IncidentPageError(summary.incident_id, { cause });
    }
    incidents.push({ incidentId: summary.incident_id, alarmName: summary.alarm_name, file });
  }
  // the coming shifts and their drills (never pages: read from `events`, not from the views the counts use)
  let reachability: Html | undefined;
  if (opts.oncall) {
    const { results, unreadable } = await loadDrillResults(opts.query);
    const rows = reachabilityRows(opts.oncall, results, { at: opts.to, calendars: opts.calendars });
    reachability = renderReachability(opts.oncall, rows, { unreadable, icalMissing: opts.icalMissing });
  }
  const index = path.join(opts.outDir, 'index.html');
  await writeFile(
    index,
    await renderOverview(data, {
      from: opts.from,
      to: opts.to,
      timeZone,
      hrefOf: incidentFile,
      generatedAt: now,
      people: opts.oncall?.people,
      dataAsOf,
      reachability,
    }),
  );
  return { dir: opts.outDir, index, incidents };
}
