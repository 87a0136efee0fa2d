import path from 'node:path';
import { loadConfig } from '../../platform/config.js';
import { s3Client } from '../../platform/aws.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { loadIcalFeeds } from '../../shared/schedules/ical-feed.js';
import { buildReport } from './build.js';
import { dataAgeLine } from './data-age.js';
import { defaultReportDir } from './out-dir.js';
import { ReportOptionError } from './errors.js';
import { lakeSession } from './lake-session.js';

/**
 * `make report [FROM=… TO=… OUT=…]`: the static HTML report of the incidents that opened in [FROM, TO)
 * (ISO 8601; default: the 7 days up to now) under OUT (default reports/<timestamp>/, which `make clean`
 * keeps: out-dir.ts); prints the folder. Times in TZ (default UTC). Names and teams from ONCALL_FILE.
 */
const DAY = 86_400_000;

function parseTime(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const ms = Date.parse(value.trim());
  if (Number.isNaN(ms))
    throw new ReportOptionError(option, value, 'not a date-time: use ISO 8601, e.g. 2026-11-28T00:00:00Z');
  return ms;
}

async function main() {
  const config = loadConfig();
  const now = Date.now();
  const to = parseTime('TO', process.env.REPORT_TO, now + 1000);
  const from = parseTime('FROM', process.env.REPORT_FROM, to - 7 * DAY);
  if (from >= to)
    throw new ReportOptionError(
      'FROM',
      process.env.REPORT_FROM ?? '',
      `must be before TO (${new Date(to).toISOString()})`,
    );
  const timeZone = process.env.TZ || 'UTC';
  const outDir = path.resolve(process.env.REPORT_OUT || defaultReportDir(now));
  const oncallFile = process.env.ONCALL_FILE;
  const oncall = oncallFile ? loadOnCallConfig(oncallFile) : undefined;
  // the iCalendar layers, for the coming shifts of the reachability section (as `make oncall` reads them)
  const icalMissing: string[] = [];
  const calendars =
    oncall && oncallFile
      ? await loadIcalFeeds(oncall, {
          baseDir: path.dirname(oncallFile),
          onWarning: (w) => {
            console.error(`warning: ${oncallFile}: iCalendar ${w.source}: cannot be read (${w.error})`);
            if (!w.usedCache) icalMissing.push(w.source);
          },
        })
      : undefined;

  // One lake cache for every query and for the data's age: with S3 down, the queries read the cache and
  // the age line says so (the cache's offline state, as `make query` reports it).
  const s3 = s3Client(config);
  const lake = lakeSession(config, s3);
  let asOf = '';
  const dataAsOf = async () => {
    asOf = await dataAgeLine(lake.dataAge, { now: Date.now, timeZone });
    return asOf;
  };
  const result = await buildReport({
    query: lake.query,
    oncall,
    calendars,
    icalMissing,
    from,
    to,
    outDir,
    timeZone,
    dataAsOf,
  }).finally(() => s3.destroy());
  if (asOf) console.error(asOf);
  console.error(
    `${result.incidents.length} incident page(s) for ${new Date(from).toISOString()} ` +
      `to ${new Date(to).toISOString()}; open ${result.index}`,
  );
  console.log(result.dir);
}

main().catch((err) => {
  console.error(`report failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
