import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../platform/config.js';
import { s3Client } from '../../platform/aws.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { buildTimeline, incidentRows, type People, type QueryFn } from './timeline.js';
import { clock, formatTimelineText, timelineJson } from './timeline-format.js';
import { IncidentNotFoundError } from './errors.js';
import { queryDuckDb } from '../query/duckdb-engine.js';
import { queryAthena } from '../query/athena-engine.js';

/**
 * `make incident ID=<incident id or alarm name> [FORMAT=json] [TZ=Europe/Paris]`: the incident's
 * timeline in words (or JSON), then its verdicts. An alarm name picks the alarm's latest incident.
 * Names come from the on-call file (ONCALL_FILE); ENGINE=athena reads the lake through Athena.
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
}

/** The command's output; IncidentNotFoundError when the lake has no such incident or alarm. */
export async function incidentCommand(opts: IncidentCommandOptions): Promise<string> {
  const rows = await incidentRows(opts.query, opts.id);
  if (!rows) throw new IncidentNotFoundError(opts.id);
  const timeline = buildTimeline(rows, opts.people);
  const fmt = { timeZone: opts.timeZone ?? 'UTC' };
  return opts.format === 'json'
    ? JSON.stringify(timelineJson(timeline, fmt), null, 2)
    : formatTimelineText(timeline, fmt);
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
  let query: QueryFn;
  if (config.ENGINE === 'athena') {
    const workgroup = config.ATHENA_WORKGROUP;
    if (!workgroup) throw new Error('ENGINE=athena needs ATHENA_WORKGROUP (and ATHENA_DATABASE)');
    query = (sql) =>
      queryAthena(sql, {
        region: config.AWS_REGION,
        workgroup,
        database: config.ATHENA_DATABASE,
        outputLocation: config.ATHENA_OUTPUT,
      });
  } else {
    const s3 = s3Client(config);
    query = (sql) => queryDuckDb(sql, { s3, bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR });
  }
  console.log(await incidentCommand({ ...args, query, people: people() }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`incident failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof IncidentNotFoundError ? 3 : 1);
  });
}
