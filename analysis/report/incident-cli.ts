import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../platform/config.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { dynamoClient, s3Client } from '../../platform/aws.js';
import { IncidentViewReader, type IncidentStateView } from '../../shared/incident-view.js';
import { LakeUnreachableError } from '../query/errors.js';
import { formatDataAge, type DataAge } from './data-age.js';
import { lakeSession } from './lake-session.js';
import { pagingNowJson, pagingNowText } from './paging-now.js';
import { buildTimeline, incidentRows, toEpochMs, type IncidentRows, type People, type QueryFn } from './timeline.js';
import { clock, formatTimelineText, timelineJson } from './timeline-format.js';
import { IncidentNotFoundError } from './errors.js';

/**
 * `make incident ID=<incident id or alarm name> [FORMAT=json] [TZ=Europe/Paris]`: the incident's
 * timeline in words (or JSON), then its verdicts. An alarm name picks the alarm's latest incident.
 * Names come from the on-call file (ONCALL_FILE); ENGINE=athena reads the lake through Athena.
 *
 * The lake is seconds behind the paging processor (it flushes every FLUSH_INTERVAL_S), so the command
 * also reads the paging state (DynamoDB, read-only) and shows what it knows now: an incident the lake
 * has nothing of yet is shown from it alone. It says how old the lake part is ("lake data as of …").
 */
export interface IncidentCommandOptions {
  /** Incident id or alarm name. */
  id: string;
  /** `text` (default) or `json`. */
  format?: 'text' | 'json';
  /** IANA zone of the times shown. Default `UTC`. */
  timeZone?: string;
  query: QueryFn;
  /** The on-call file's people ({} shows person ids). */
  people: People;
  /** The paging state, read-only (shared/incident-view.ts); absent: the lake alone. */
  paging?: Pick<IncidentViewReader, 'incident' | 'latestByAlarmName'>;
  /** The lake data's age (data-age.ts); absent: not said. */
  dataAge?: () => Promise<DataAge>;
}

/** The paging state of the incident `id` names, when it is newer than (or the same as) what the lake shows. */
async function pagingStateOf(
  paging: NonNullable<IncidentCommandOptions['paging']>,
  id: string,
  lake: IncidentRows | undefined,
): Promise<IncidentStateView | undefined> {
  const lakeId = lake ? String(lake.incident.incident_id) : undefined;
  if (lakeId === id) return paging.incident(id);
  const byId = await paging.incident(id);
  if (byId) return byId;
  // An alarm name: its newest incident, which may be one the lake has nothing of yet.
  const pointer = await paging.latestByAlarmName(id);
  const lakeOpened = lake ? toEpochMs(lake.incident.opened_at) : null;
  const newer = pointer && (!lake || pointer.incidentId === lakeId || pointer.openedAt > (lakeOpened ?? 0));
  if (newer) return paging.incident(pointer.incidentId);
  return lakeId === undefined ? undefined : paging.incident(lakeId);
}

/** The command's output; IncidentNotFoundError when neither the lake nor the paging state has the incident. */
export async function incidentCommand(opts: IncidentCommandOptions): Promise<string> {
  const fmt = { timeZone: opts.timeZone ?? 'UTC' };
  let rows: IncidentRows | undefined;
  let lakeError: string | undefined;
  let lakeFailure: LakeUnreachableError | undefined;
  try {
    rows = await incidentRows(opts.query, opts.id);
  } catch (err) {
    // S3 down and no cache to answer from: what the paging state knows is still worth showing.
    if (!(err instanceof LakeUnreachableError) || !opts.paging) throw err;
    lakeFailure = err;
    lakeError = `lake not readable: ${err.message}`;
  }
  let live: IncidentStateView | undefined;
  let liveError: string | undefined;
  if (opts.paging) {
    try {
      live = await pagingStateOf(opts.paging, opts.id, rows);
    } catch (err) {
      liveError = `paging state not readable (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  let age: DataAge | undefined;
  let ageError: string | undefined;
  try {
    if (!lakeError) age = await opts.dataAge?.();
  } catch (err) {
    ageError = `lake data age unknown: ${err instanceof Error ? err.message : String(err)}`;
  }
  const ageLine = lakeError ?? (age ? formatDataAge(age, fmt.timeZone) : ageError);
  // The lake's latest incident of the alarm is older than the one paging has open now: show the newer one.
  const olderInLake = rows && live && String(rows.incident.incident_id) !== live.incidentId ? rows : undefined;
  if (olderInLake) rows = undefined;
  if (!rows && !live && lakeFailure) throw lakeFailure;
  if (!rows && !live)
    throw new IncidentNotFoundError(
      opts.id,
      [opts.paging ? `nor in the paging state${liveError ? `: ${liveError}` : ''}` : '', ageLine]
        .filter(Boolean)
        .join('; '),
    );
  const nowOpts = { people: opts.people, timeZone: fmt.timeZone };
  const olderNote = olderInLake
    ? `the lake's latest incident of this alarm is an older one: ${String(olderInLake.incident.incident_id)}`
    : undefined;

  if (opts.format === 'json') {
    const lakePart = rows
      ? (timelineJson(buildTimeline(rows, opts.people), fmt) as Record<string, unknown>)
      : { incidentId: live!.incidentId, alarmName: live!.alarmName, inLake: false };
    return JSON.stringify(
      {
        ...lakePart,
        ...(opts.paging ? { pagingNow: live ? pagingNowJson(live, nowOpts) : (liveError ?? null) } : {}),
        ...(olderNote ? { note: olderNote } : {}),
        ...(age ? { lakeData: dataAgeJson(age, fmt.timeZone) } : ageLine ? { lakeData: ageLine } : {}),
      },
      null,
      2,
    );
  }

  const lines: string[] = [];
  if (rows) lines.push(formatTimelineText(buildTimeline(rows, opts.people), fmt));
  else {
    const c = clock(fmt.timeZone);
    lines.push(
      `Incident ${live!.incidentId} · alarm ${live!.alarmName} · ${live!.severity} · opened ` +
        `${c.day(live!.openedAt)} ${c.time(live!.openedAt)} ${fmt.timeZone} · not in the lake yet`,
    );
    if (olderNote) lines.push(olderNote);
  }
  if (live) lines.push('', ...pagingNowText(live, nowOpts));
  else if (liveError) lines.push('', liveError);
  if (ageLine) lines.push('', ageLine);
  return lines.join('\n');
}

/** The age as JSON: the newest flush (ISO in the zone), seconds behind, and the cache's note with S3 down. */
function dataAgeJson(age: DataAge, timeZone: string): unknown {
  const c = clock(timeZone);
  return {
    asOf: age.asOf === undefined ? null : c.iso(age.asOf),
    ageSeconds: age.asOf === undefined ? null : Math.round((age.now - age.asOf) / 1000),
    text: formatDataAge(age, timeZone),
    ...(age.offline ? { fromCache: true } : {}),
  };
}

const USAGE = 'usage: make incident ID=<incident id or alarm name> [FORMAT=text|json] [TZ=<IANA zone, default UTC>]';

/** argv after the script: `<id> [--format text|json] [--tz zone]`; FORMAT and TZ from the environment otherwise. */
export function parseIncidentArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): { id: string; format: 'text' | 'json'; timeZone: string } {
  let id = '';
  let format = env.FORMAT || 'text';
  let timeZone = env.TZ || 'UTC';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--format') format = argv[++i] ?? '';
    else if (a === '--tz') timeZone = argv[++i] || 'UTC';
    else if (!id) id = a.trim();
    else throw new Error(`unexpected argument "${a}"\n${USAGE}`);
  }
  if (!id) throw new Error(USAGE);
  if (format === 'table') format = 'text';
  if (format !== 'text' && format !== 'json') throw new Error(`FORMAT must be text or json, not "${format}"`);
  try {
    clock(timeZone);
  } catch {
    throw new Error(`TZ "${timeZone}" is not a time zone (an IANA name like UTC or Europe/Paris)`);
  }
  return { id, format, timeZone };
}

function people(): People {
  const file = process.env.ONCALL_FILE || 'infra/local/oncall/demo.json';
  try {
    return loadOnCallConfig(file).people;
  } catch (err) {
    console.error(
      `warning: on-call file not readable, showing person ids: ${err instanceof Error ? err.message : String(err)}`,
    );
    return {};
  }
}

async function main() {
  const args = parseIncidentArgs(process.argv.slice(2), process.env);
  const config = loadConfig();
  const s3 = s3Client(config);
  const dynamodb = dynamoClient(config);
  // One cache for the query and the age: with S3 down, both read the cache and the age line says so.
  const lake = lakeSession(config, s3);
  try {
    const out = await incidentCommand({
      ...args,
      query: lake.query,
      people: people(),
      paging: new IncidentViewReader({ dynamodb, table: config.INCIDENTS_TABLE }),
      dataAge: lake.dataAge,
    });
    console.log(out);
  } finally {
    s3.destroy();
    dynamodb.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`incident failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof IncidentNotFoundError ? 3 : 1);
  });
}
