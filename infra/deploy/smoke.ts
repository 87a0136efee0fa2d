/**
 * `make smoke`: an end-to-end check of the stage the environment points at (the local stack, or a
 * deployed stage with the *_ENDPOINT variables empty). It sends one synthetic CloudWatch alarm for the
 * `smoke` team, waits for each step of the closed loop, prints each with its latency from the alarm,
 * then resolves the alarm (an OK event) so the incident closes:
 *
 *   alarm accepted    POST <SMOKE_URL>/events/cloudwatch answered 200 (--direct: written to the stream)
 *   page sent         the incident's item (INCIDENTS_TABLE) has its page dispatched, with its recipient
 *                     (printed masked)
 *   receipt           the page's delivery receipt came back (the item's page status: delivered or better)
 *   lake row          the alarm's row is in the lake's `events` table (the objects written since the
 *                     alarm in its `dt` partition, read back with DuckDB by analysis/query)
 *   resolved          the OK event closed the incident (the item's `resolvedAt`)
 *
 *   node --import tsx infra/deploy/smoke.ts [--direct]     (make smoke [DIRECT=1]; built: dist/bin/smoke.mjs)
 *
 * The alarm is unique per run (`pagetrail-smoke-<run id>`, a composite alarm: no metric namespace, so
 * ALARM_NAMESPACES cannot filter it out) and carries the tags `team=smoke`, `severity=P4`. The on-call
 * file's `smoke` team must page P4 with one level, one channel (SMS to a number the operator owns), no
 * fallback and no repeat, so a smoke run never reaches a person on call; the run warns when ONCALL_FILE
 * (if readable here) says otherwise.
 *
 * Settings (environment; the Makefile loads .env or .env.example): the names and endpoints of
 * platform/config.ts, API_KEY, and
 *   SMOKE_URL              the receiver's public origin (default PUBLIC_BASE_URL, else http://127.0.0.1:$PORT)
 *   SMOKE_TIMEOUT_S        the longest any step may take, from the alarm (default 180)
 *   SMOKE_PAGE_TIMEOUT_S   the page step's own limit (default 60, at most SMOKE_TIMEOUT_S)
 *   SMOKE_RECEIPT_TIMEOUT_S, SMOKE_LAKE_TIMEOUT_S   (default SMOKE_TIMEOUT_S)
 *   SMOKE_RESOLVE_TIMEOUT_S  how long the OK may take to close the incident (default 30)
 *   SMOKE_TEAM, SMOKE_SEVERITY   the alarm's tags (default smoke, P4)
 * The lake flushes every FLUSH_INTERVAL_S (its batching window): keep it below SMOKE_TIMEOUT_S.
 *
 * Exit 0 when every step was seen; 1 naming the missing steps; 2 on a usage or configuration error;
 * 130 when interrupted (the alarm is resolved all the same). Phone numbers and email addresses are
 * masked in everything printed (platform/logger.ts maskPii); the API key is never printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { loadConfig, type Config } from '../../platform/config.js';
import { dynamoClient, kinesisClient, s3Client } from '../../platform/aws.js';
import { maskPii } from '../../platform/logger.js';
import type { CloudWatchAlarmEvent } from '../../schemas/cloudwatch-alarm.js';
import type { AlarmRecordIn } from '../../schemas/alarm-record.js';
import { alarmEventId, incidentIdOf } from '../../schemas/ids.js';
import { utcDate } from '../../schemas/time.js';
import { CONFIRMED_STATUSES, FAILED_STATUSES, Severity, type DeliveryStatus } from '../../schemas/status.js';
import { EVENTS_TABLE } from '../../schemas/lake.js';
import { IncidentReader } from '../../shared/incident-item.js';
import type { IncidentState, PageState } from '../../processors/paging/incident-state.js';
import { loadOnCallConfig, policyRouteFor, type OnCallConfig } from '../../schemas/oncall/config.js';
import { LakeCache, type Listing } from '../../analysis/query/lake-cache.js';

export const STEPS = ['alarm', 'page', 'receipt', 'lake', 'resolve'] as const;
export type StepName = (typeof STEPS)[number];

export interface SmokeSettings {
  url: string;
  apiKey?: string;
  direct: boolean;
  team: string;
  severity: Severity;
  /** ms from the alarm, per step; `resolve` counts from the OK. */
  timeoutMs: Record<Exclude<StepName, 'alarm'>, number>;
}

export class SmokeUsageError extends Error {
  override name = 'SmokeUsageError';
}

function seconds(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const raw = env[name]?.trim();
  if (!raw) return def;
  const n = Number(raw);
  if (!(n > 0 && n <= 86_400)) throw new SmokeUsageError(`${name}=${raw}: expected seconds, > 0`);
  return n;
}

export function smokeSettings(env: NodeJS.ProcessEnv, directFlag = false): SmokeSettings {
  const direct = directFlag || env.SMOKE_DIRECT === '1';
  const overall = seconds(env, 'SMOKE_TIMEOUT_S', 180);
  const step = (name: string, def: number) => Math.min(seconds(env, name, def), overall) * 1000;
  const severity = Severity.safeParse((env.SMOKE_SEVERITY || 'P4').toUpperCase());
  if (!severity.success) throw new SmokeUsageError(`SMOKE_SEVERITY=${env.SMOKE_SEVERITY}: expected P1..P4`);
  const url = env.SMOKE_URL || env.PUBLIC_BASE_URL || `http://127.0.0.1:${env.PORT || 8080}`;
  if (!URL.canParse(url)) throw new SmokeUsageError(`SMOKE_URL / PUBLIC_BASE_URL: not a URL: ${url}`);
  const apiKey = env.API_KEY || undefined;
  if (!direct && !apiKey) throw new SmokeUsageError('API_KEY is not set (the x-api-key of POST /events/cloudwatch)');
  return {
    url,
    apiKey,
    direct,
    team: env.SMOKE_TEAM || 'smoke',
    severity: severity.data,
    timeoutMs: {
      page: step('SMOKE_PAGE_TIMEOUT_S', 60),
      receipt: step('SMOKE_RECEIPT_TIMEOUT_S', overall),
      lake: step('SMOKE_LAKE_TIMEOUT_S', overall),
      resolve: seconds(env, 'SMOKE_RESOLVE_TIMEOUT_S', 30) * 1000,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the alarm

export interface SmokeAlarm {
  runId: string;
  alarmName: string;
  alarmArn: string;
  incidentId: string;
  /** The ALARM event's id (its lake row's event_id). */
  alarmEventId: string;
  alarmAt: number;
  event: CloudWatchAlarmEvent;
}

export const newRunId = () => `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** The synthetic ALARM event of a run (a composite alarm, tagged for the smoke team). */
export function smokeAlarm(
  config: Pick<Config, 'AWS_REGION' | 'AWS_ACCOUNT_ID'>,
  s: Pick<SmokeSettings, 'team' | 'severity'>,
  runId: string,
  at: number,
): SmokeAlarm {
  const alarmName = `pagetrail-smoke-${runId}`;
  const alarmArn = `arn:aws:cloudwatch:${config.AWS_REGION}:${config.AWS_ACCOUNT_ID}:alarm:${alarmName}`;
  const iso = new Date(at).toISOString();
  const event: CloudWatchAlarmEvent = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: config.AWS_ACCOUNT_ID,
    time: iso,
    region: config.AWS_REGION,
    resources: [alarmArn],
    detail: {
      alarmName,
      alarmTags: { team: s.team, severity: s.severity, purpose: 'smoke-test' },
      configuration: {
        description: `pagetrail smoke test, run ${runId} (make smoke); resolves itself`,
        metrics: [],
        alarmRule: `ALARM("${alarmName}")`,
      },
      state: { value: 'ALARM', reason: `pagetrail smoke test run ${runId}`, timestamp: iso },
      previousState: { value: 'OK', reason: '', timestamp: new Date(at - 60_000).toISOString() },
    },
  };
  const ids = { incidentId: incidentIdOf(event), alarmEventId: alarmEventId(event) };
  return { runId, alarmName, alarmArn, ...ids, alarmAt: at, event };
}

/** The OK event that resolves the run's incident (same alarm, leaving ALARM: the same incident id). */
export function resolveEvent(alarm: SmokeAlarm, at: number): CloudWatchAlarmEvent {
  const iso = new Date(Math.max(at, alarm.alarmAt + 1)).toISOString();
  return {
    ...alarm.event,
    id: randomUUID(),
    time: iso,
    detail: {
      ...alarm.event.detail,
      state: { value: 'OK', reason: `pagetrail smoke test run ${alarm.runId} done`, timestamp: iso },
      previousState: alarm.event.detail.state,
    },
  };
}

type Send = (event: CloudWatchAlarmEvent) => Promise<void>;

/** The receiver refused the event (nothing was written). */
class Refused extends Error {}

/** POST /events/cloudwatch as EventBridge's API destination would (retried on no answer or a 5xx). */
function viaReceiver(s: SmokeSettings): Send {
  const where = new URL('/events/cloudwatch', s.url).href;
  return async (event) => {
    let last = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const res = await fetch(new URL('/events/cloudwatch', s.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': s.apiKey ?? '' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status === 200) return;
        // 202 = ignored, 401, 400…: nothing was written, and retrying changes nothing
        if (res.status < 500) throw new Refused(`${where} answered ${res.status} ${text.slice(0, 300)}`);
        last = `answered ${res.status} ${text.slice(0, 300)}`;
      } catch (err) {
        if (err instanceof Refused) throw err;
        last = `failed: ${errText(err)}`;
      }
    }
    throw new Error(`${where} ${last}`);
  };
}

/** Straight to the stream (no receiver): what the EventBridge rule would write. */
function viaStream(config: Config, severity: Severity): Send & { close(): void } {
  let kinesis: ReturnType<typeof kinesisClient> | undefined;
  const send = async (event: CloudWatchAlarmEvent) => {
    kinesis ??= kinesisClient(config);
    const { KinesisProducer } = await import('../../platform/stream/kinesis-producer.js');
    const record: AlarmRecordIn = { v: 1, kind: 'alarm', severity, event };
    await new KinesisProducer({ kinesis, streamName: config.STREAM_NAME }).putStreamRecords([record]);
  };
  return Object.assign(send, { close: () => kinesis?.destroy() });
}

// ---------------------------------------------------------------------------------------------
// waiting

const errText = (err: unknown) => {
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  const msg = maskPii(e?.message ?? String(err));
  return e?.cause?.code ? `${msg} (${e.cause.code})` : e?.name && e.name !== 'Error' ? `${e.name}: ${msg}` : msg;
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

type Probe<T> = () => Promise<{ done: T } | { fail: string } | { wait: string }>;

class StepFailed extends Error {}

/** Polls `probe` every `everyMs` until it is done or fails, or `deadline` (epoch ms) passes. */
async function poll<T>(probe: Probe<T>, deadline: number, everyMs: number, signal?: AbortSignal): Promise<T> {
  let why = 'not seen';
  for (;;) {
    try {
      const r = await probe();
      if ('done' in r) return r.done;
      if ('fail' in r) throw new StepFailed(r.fail);
      why = r.wait;
    } catch (err) {
      if (err instanceof StepFailed) throw err;
      why = `last read failed: ${errText(err)}`;
    }
    if (signal?.aborted) throw new StepFailed(`interrupted (${why})`);
    if (Date.now() >= deadline) throw new StepFailed(why);
    await sleep(Math.min(everyMs, Math.max(0, deadline - Date.now())), signal);
  }
}

interface PageSeen {
  page: PageState;
  channel: string;
  recipient?: string;
}

/** The incident's first page (not a notice) once it is dispatched, with its recipient. */
function pageProbe(
  reader: IncidentReader<IncidentState>,
  dynamodb: DynamoDBClient,
  ledgerTable: string,
  alarm: SmokeAlarm,
  team: string,
): Probe<PageSeen> {
  return async () => {
    const item = await reader.get(alarm.incidentId);
    if (!item) {
      const hint = `is the paging processor running, and does its on-call file page team ${team}?`;
      return { wait: `no incident ${alarm.incidentId} in the incidents table (${hint})` };
    }
    const { state } = item;
    if (state.suppressedBy) return { fail: `suppressed by maintenance window "${state.suppressedBy}"` };
    const page = Object.values(state.pages).find((p) => !p.notice);
    if (!page) return { wait: `incident ${alarm.incidentId} is open but has no page yet` };
    if (page.status === 'pending' && !page.dispatched) {
      return { wait: `page to ${page.person} by ${page.channel} not sent yet` };
    }
    // the page's address is in the state; a page claimed in the ledger (a failover) also has its record there
    const key = { pk: { S: `step#${page.stepKey}` } };
    const out = await dynamodb.send(new GetItemCommand({ TableName: ledgerTable, Key: key, ConsistentRead: true }));
    const record = out.Item?.record?.S ? (JSON.parse(out.Item.record.S) as Record<string, unknown>) : undefined;
    if (page.status === 'failed') {
      const why = [record?.error_code, record?.error_message].filter(Boolean).join(' ');
      return { fail: `the ${page.channel} send to ${page.person} failed${why ? `: ${maskPii(String(why))}` : ''}` };
    }
    const recipient = page.address ?? (typeof record?.recipient === 'string' ? record.recipient : undefined);
    return { done: { page, channel: page.channel, recipient } };
  };
}

/** The page's status once a receipt confirmed it (delivered, opened, clicked); a failed one fails the step. */
function receiptProbe(
  reader: IncidentReader<IncidentState>,
  alarm: SmokeAlarm,
  stepKey: string,
): Probe<DeliveryStatus> {
  return async () => {
    const page = (await reader.get(alarm.incidentId))?.state.pages[stepKey];
    const status = page?.status as DeliveryStatus | undefined;
    if (status && CONFIRMED_STATUSES.has(status)) return { done: status };
    if (status && FAILED_STATUSES.has(status)) return { fail: `the provider reported the page ${status}` };
    return { wait: `page status still ${status ?? 'unknown'} (no delivery receipt yet)` };
  };
}

/**
 * A lake cache that lists only one `dt` partition and only the objects written since `since` (a flush
 * before the alarm cannot hold its row): a stage's whole `tables/events/` prefix is never listed.
 */
class RecentPartitionCache extends LakeCache {
  constructor(
    s3: S3Client,
    bucket: string,
    dir: string,
    private readonly dt: string,
    private readonly since: number,
  ) {
    super(s3, bucket, dir);
  }

  override async list(prefix: string, delimiter?: string): Promise<Listing> {
    const listing = await super.list(`${prefix}dt=${this.dt}/`, delimiter);
    const recent = (o: { lastModified?: string }) => !o.lastModified || Date.parse(o.lastModified) >= this.since;
    return { ...listing, objects: listing.objects.filter(recent) };
  }
}

/** The alarm's row in the lake's `events` table (DuckDB over the partition's new objects). */
function lakeProbe(s3: S3Client, bucket: string, cacheDir: string, alarm: SmokeAlarm): Probe<string[]> {
  const dt = utcDate(alarm.alarmAt);
  // S3's clock and ours may differ: objects up to 5 minutes "older" than the alarm are read too.
  const since = alarm.alarmAt - 300_000;
  const sql =
    `SELECT kind, event_id FROM ${EVENTS_TABLE.name} ` + `WHERE dt = '${dt}' AND incident_id = '${alarm.incidentId}'`;
  return async () => {
    const { queryDuckDb } = await import('../../analysis/query/duckdb-engine.js');
    // a new cache per read: one that found S3 unreachable answers from its saved listing for good
    const cache = new RecentPartitionCache(s3, bucket, cacheDir, dt, since);
    const r = await queryDuckDb(sql, { bucket, cacheDir, cache, threads: 1 });
    if (r.offline) return { wait: `S3 unreachable (${r.offline.reason})` };
    const kinds = r.rows.map((row) => String(row[0]));
    if (r.rows.some((row) => row[1] === alarm.alarmEventId)) return { done: kinds };
    const read = r.fetched + r.cached;
    return { wait: `no row of ${alarm.incidentId} in events dt=${dt} yet (${read} new object(s) read)` };
  };
}

// ---------------------------------------------------------------------------------------------
// the run

export interface SmokeOptions {
  env: NodeJS.ProcessEnv;
  /** --direct: write the alarm to the stream instead of posting it to the receiver. */
  direct?: boolean;
  /** A line of the report (stdout). */
  out?: (line: string) => void;
  /** Stops the waits (Ctrl-C); the alarm is resolved all the same. */
  signal?: AbortSignal;
  /** Run id (default: a new one). */
  runId?: string;
}

export interface SmokeResult {
  ok: boolean;
  runId: string;
  incidentId: string;
  /** ms from the alarm of every step seen. */
  seen: Partial<Record<StepName, number>>;
  /** Steps not seen, with why. */
  missing: { step: StepName; why: string }[];
  interrupted: boolean;
}

/** `alarm, dispatch, receipt ×2`: the kinds in first-seen order, with their counts. */
export function countKinds(kinds: string[]): string {
  const n = new Map<string, number>();
  for (const k of kinds) n.set(k, (n.get(k) ?? 0) + 1);
  return [...n].map(([k, c]) => (c > 1 ? `${k} ×${c}` : k)).join(', ');
}

export const formatMs = (ms: number) =>
  ms < 1000 ? `${Math.round(ms)} ms` : ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;

/** What ONCALL_FILE (when readable here) says about the smoke team: warnings, one line each. */
export function oncallWarnings(file: string | undefined, s: Pick<SmokeSettings, 'team' | 'severity'>): string[] {
  if (!file) return [];
  let cfg: OnCallConfig;
  try {
    cfg = loadOnCallConfig(file);
  } catch {
    return []; // the stage's file is not here (or not this one): nothing to check
  }
  const team = cfg.teams[s.team];
  if (!team) return [`${file} has no team "${s.team}": the smoke alarm pages its default team, ${cfg.default_team}`];
  const route = policyRouteFor(cfg, s.team, s.severity);
  if (route.fallback === 'none')
    return [`${file}: team ${s.team} has no ${s.severity} policy and no fallback: the smoke alarm pages nobody`];
  if (route.fallback === 'global')
    return [`${file}: team ${s.team} has no ${s.severity} policy: the smoke alarm pages the file's unrouted_fallback`];
  const policy = route.policy;
  const out: string[] = [];
  if (route.fallback === 'team_default')
    out.push(`${file}: team ${s.team} has no ${s.severity} policy: the smoke alarm runs the team's default_policy`);
  const level = policy.levels[0];
  if (policy.levels.length > 1 || policy.repeat > 0 || policy.fallback) {
    const how = `levels ${policy.levels.length}, repeat ${policy.repeat}${policy.fallback ? ', a fallback' : ''}`;
    out.push(
      `${file}: team ${s.team} ${s.severity} escalates (${how}): a smoke run could page people on call; ` +
        'use one level, no repeat, no fallback',
    );
  }
  if (level.channels.length > 1) {
    out.push(`${file}: team ${s.team} ${s.severity} pages on ${level.channels.join(', ')}: use one channel`);
  }
  return out;
}

export async function runSmoke(opts: SmokeOptions): Promise<SmokeResult> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const s = smokeSettings(opts.env, opts.direct);
  const config = loadConfig(opts.env);
  for (const w of oncallWarnings(opts.env.ONCALL_FILE, s)) out(`warning: ${maskPii(w)}`);
  const interval = Math.min(30_000, config.FLUSH_INTERVAL_S * 1000);
  if (interval >= s.timeoutMs.lake) {
    out(
      `warning: FLUSH_INTERVAL_S=${config.FLUSH_INTERVAL_S} here: a lake that flushes as seldom misses the ` +
        `${formatMs(s.timeoutMs.lake)} lake step`,
    );
  }

  const t0 = Date.now();
  const alarm = smokeAlarm(config, s, opts.runId ?? newRunId(), t0);
  const direct = s.direct ? viaStream(config, s.severity) : undefined;
  const send: Send = direct ?? viaReceiver(s);
  const dynamodb = dynamoClient(config);
  const s3 = s3Client(config);
  const reader = new IncidentReader<IncidentState>({ dynamodb, table: config.INCIDENTS_TABLE });
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-smoke-'));
  const result: SmokeResult = {
    ok: false,
    runId: alarm.runId,
    incidentId: alarm.incidentId,
    seen: {},
    missing: [],
    interrupted: false,
  };
  const since = (t = Date.now()) => formatMs(t - t0);
  const line = (step: string, latency: string, detail = '') =>
    out(`  ${step.padEnd(18)} ${latency.padStart(7)}${detail ? `  ${detail}` : ''}`);
  const missing = (step: StepName, why: string) => {
    result.missing.push({ step, why });
    line(`${step} MISSING`, since(), maskPii(why));
  };

  out(
    `smoke run ${alarm.runId}: alarm ${alarm.alarmName} (team ${s.team}, ${s.severity}) → ` +
      `${s.direct ? `stream ${config.STREAM_NAME}` : s.url}; incident ${alarm.incidentId}`,
  );
  // Whether the ALARM may have been written (resolve it then): not after a definite refusal.
  let written = true;
  try {
    try {
      await send(alarm.event);
    } catch (err) {
      written = !(err instanceof Refused);
      missing('alarm', `not accepted: ${errText(err)}`);
      return await summary();
    }
    result.seen.alarm = Date.now() - t0;
    line(s.direct ? 'alarm on stream' : 'alarm accepted', since());

    const deadline = (step: 'page' | 'receipt' | 'lake') => t0 + s.timeoutMs[step];
    const paging = (async () => {
      let seen: PageSeen;
      try {
        const probe = pageProbe(reader, dynamodb, config.LEDGER_TABLE, alarm, s.team);
        seen = await poll(probe, deadline('page'), 200, opts.signal);
      } catch (err) {
        missing('page', (err as Error).message);
        missing('receipt', 'no page to receive a receipt for');
        return;
      }
      result.seen.page = Date.now() - t0;
      line('page sent', since(), `${seen.channel} → ${seen.recipient ? maskPii(seen.recipient) : seen.page.person}`);
      try {
        const probe = receiptProbe(reader, alarm, seen.page.stepKey);
        const status = await poll(probe, deadline('receipt'), 200, opts.signal);
        result.seen.receipt = Date.now() - t0;
        line(`receipt ${status}`, since());
      } catch (err) {
        missing('receipt', (err as Error).message);
      }
    })();
    const lake = (async () => {
      const every = Math.min(5000, Math.max(500, config.FLUSH_INTERVAL_S * 250));
      try {
        const probe = lakeProbe(s3, config.LAKE_BUCKET, cacheDir, alarm);
        const kinds = await poll(probe, deadline('lake'), every, opts.signal);
        result.seen.lake = Date.now() - t0;
        line('lake row', since(), `events of the incident: ${countKinds(kinds)}`);
      } catch (err) {
        missing('lake', (err as Error).message);
      }
    })();
    await Promise.all([paging, lake]);
    return await summary();
  } finally {
    direct?.close();
    dynamodb.destroy();
    s3.destroy();
    rmSync(cacheDir, { recursive: true, force: true });
  }

  async function summary(): Promise<SmokeResult> {
    if (written) await resolve();
    result.ok = result.missing.length === 0;
    result.interrupted = !result.ok && (opts.signal?.aborted ?? false);
    const names = result.missing.map((m) => m.step).join(', ');
    const failed = `smoke FAILED: missing ${names || '-'}${result.interrupted ? ' (interrupted)' : ''}`;
    out(result.ok ? `smoke OK in ${since()}` : failed);
    return result;
  }

  /** Sends the OK; confirms the incident closed when it was opened (a page was seen). */
  async function resolve(): Promise<void> {
    const at = Date.now();
    try {
      await send(resolveEvent(alarm, at));
    } catch (err) {
      missing('resolve', `the OK was not accepted: ${errText(err)}; the incident stays open until its policy runs out`);
      return;
    }
    if (result.seen.page === undefined) {
      line('resolve sent', since(), '(not confirmed: no incident was seen)');
      return;
    }
    try {
      await poll(
        async () => {
          const item = await reader.get(alarm.incidentId);
          return item?.state.resolvedAt !== undefined ? { done: true } : { wait: 'the incident is still open' };
        },
        Date.now() + s.timeoutMs.resolve,
        200,
      );
      result.seen.resolve = Date.now() - t0;
      line('resolved', since());
    } catch (err) {
      missing('resolve', `${(err as Error).message} ${formatMs(Date.now() - at)} after the OK`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// command line

const USAGE = 'usage: smoke.ts [--direct]   (make smoke [DIRECT=1]; settings: see infra/deploy/smoke.ts)';

async function main(argv: string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';
  let direct = false;
  try {
    direct = parseArgs({ args: argv, options: { direct: { type: 'boolean' } } }).values.direct ?? false;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const ac = new AbortController();
  const stop = () => {
    if (ac.signal.aborted) process.exit(130);
    console.error('interrupted: resolving the smoke alarm (again to quit at once)');
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const r = await runSmoke({ env: process.env, direct, signal: ac.signal });
    return r.interrupted ? 130 : r.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof SmokeUsageError || (err as Error).name === 'ConfigError') {
      console.error(`smoke: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`smoke failed: ${errText(err)}`);
      process.exit(1);
    },
  );
}
