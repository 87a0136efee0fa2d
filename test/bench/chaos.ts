/**
 * `make chaos` — the outage test the project keeps (issue 17 row 8; a benchmark, not a vitest test).
 *
 * It runs the local stack as `make up` does (infra/local/stack.ts, one process per row of services.ts,
 * through supervisor.ts) under its own DATA_DIR (a temp dir) and free ports, so it never collides with
 * `make up` or another run; posts alarms at CHAOS_RATE to the receiver's alarm endpoint throughout (an
 * alarm the receiver refuses is posted again with backoff, as EventBridge retries); and, one after the
 * other, each outage of chaos-plan.ts for CHAOS_OUTAGE_S with CHAOS_GAP_S of recovery after it:
 * kinesalite, dynalite, s3rver and the Scheduler emulator stopped (SIGTERM, as `make down` does) and
 * started again on their data; the provider simulator hung, then refusing (`PUT /__sim/outage`); a second
 * lake process (`lake-2`, its own health port) on the same stream and checkpoints.
 *
 * Every incident owes 3 pages (paging-traffic.ts). After the traffic it waits (CHAOS_SETTLE_S at most)
 * for the pages, their dispatch records and both consumers' checkpoints, stops the processors, reads
 * the lake, and prints a breakdown per outage (on stderr), then one line:
 *
 *   RESULT pages_expected=… pages_sent=… lost=… duplicated=… lake_rows_lost=… lake_rows_duplicated=…
 *          first_page_p99_ms_during_outage=… jammed_shards=… alarms=… alarms_retried=… pages_unrecorded=…
 *          first_page_p99_ms_<outage>=… (one per outage)
 *
 * - lost: pages owed and not accepted by the provider, per incident (an incident is known by the
 *   dispatch records on the stream; `pages_unrecorded` counts pages the provider accepted with no
 *   dispatch record, which therefore count as lost); duplicated: a dispatch sent twice plus pages beyond
 *   3 for an incident;
 * - first page: from the alarm's first post to its first level-1 page accepted by the provider;
 *   `first_page_p99_ms_during_outage` over the alarms first posted during any outage, per outage in
 *   `first_page_p99_ms_<outage>`;
 * - jammed_shards: shards whose lake or paging checkpoint never reached the shard's last record.
 *
 * Targets (issue 17): lost 0, duplicated 0, lake rows lost and duplicated 0, jammed 0, first page p99
 * during the Scheduler outage ≤ CHAOS_FIRST_PAGE_TARGET_MS (2 s). Exit 1 when one is missed (the data
 * dir, with every process's log, is kept and named), 2 when the run itself failed.
 * Settings: chaos-plan.ts (CHAOS_OUTAGES, CHAOS_OUTAGE_S, CHAOS_GAP_S, CHAOS_WARMUP_S, CHAOS_RATE,
 * CHAOS_ARNS, CHAOS_SETTLE_S, CHAOS_HANG_MS, CHAOS_FIRST_PAGE_TARGET_MS, CHAOS_KEEP).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../platform/config.js';
import { awsClients } from '../../platform/aws.js';
import { freePort } from '../../infra/local/engines.js';
import { SERVICES, managedProcesses } from '../../infra/local/services.js';
import { down, up } from '../../infra/local/stack.js';
import {
  httpAnswers,
  sleep,
  stackContext,
  startProcess,
  stopProcess,
  type ManagedProcess,
} from '../../infra/local/supervisor.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { readStream, type StreamEntry } from '../helpers/read-stream.js';
import { OUTAGES, chaosSettings, jammedShards, outageAt, phaseAt, type Outage, type Window } from './chaos-plan.js';
import {
  PAGES_PER_INCIDENT,
  alarmEvent,
  benchLog,
  countPages,
  explainLakeLost,
  lakeDiff,
  lakeEventCounts,
  pageShortfall,
  pct,
  postAlarm,
  writeOncallFile,
  type PageCount,
  type SentRequest,
} from './paging-traffic.js';

const S = chaosSettings(process.env);
const log = benchLog('chaos');
const API_KEY = 'chaos-api-key-0123456789';

/** The engine each engine outage stops (a row of services.ts). */
const ENGINE_OF: Partial<Record<Outage, string>> = {
  stream: 'kinesis',
  tables: 'dynamodb',
  bucket: 's3',
  scheduler: 'scheduler',
};

interface Alarm {
  incident: string;
  firstPostAt: number;
  acceptedAt?: number;
  attempts: number;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-chaos-'));
  const ports: Record<string, string> = {};
  for (const s of SERVICES) ports[s.port.variable] = String(await freePort());
  const lake2Port = await freePort();
  const url = (variable: string) => `http://127.0.0.1:${ports[variable]}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...ports,
    DATA_DIR: path.join(dir, 'data'),
    QUERY_CACHE_DIR: path.join(dir, 'cache'),
    KINESIS_ENGINE: 'kinesalite',
    KINESIS_ENDPOINT: url('KINESIS_PORT'),
    S3_ENDPOINT: url('S3_PORT'),
    DYNAMODB_ENDPOINT: url('DYNAMODB_PORT'),
    SCHEDULER_ENDPOINT: url('SCHEDULER_PORT'),
    TWILIO_API_BASE_URL: url('SIMULATOR_PORT'),
    RESEND_BASE_URL: url('SIMULATOR_PORT'),
    PUBLIC_BASE_URL: url('PORT'),
    RECEIVER_URL: url('PORT'),
    API_KEY,
    ONCALL_FILE: writeOncallFile(dir),
    STREAM_SHARDS: '2',
    FLUSH_INTERVAL_S: '2',
    SIMULATOR_BEHAVIOURS: '',
    SIMULATOR_HANG_FRACTION: '0',
    PAGING_SEND_BUDGET_MS: process.env.PAGING_SEND_BUDGET_MS || '300',
    PAGING_MAX_SEND_MS: '12000',
    PAGING_POLL_MS: '25',
  };
  const ctx = stackContext(env);
  const procs = managedProcesses(ctx);
  const proc = (name: string) => procs.find((p) => p.name === name)!;
  const lake = proc('lake');
  const lake2: ManagedProcess = {
    ...lake,
    name: 'lake-2',
    env: { ...lake.env, LAKE_HEALTH_PORT: String(lake2Port) },
    endpoint: `health http://127.0.0.1:${lake2Port}/healthz`,
    port: { number: lake2Port, variable: 'LAKE_HEALTH_PORT' },
    health: () => httpAnswers(`http://127.0.0.1:${lake2Port}/healthz`),
  };
  const simUrl = url('SIMULATOR_PORT');
  const receiverUrl = url('PORT');
  log(`data ${ctx.dataDir}; outages ${S.CHAOS_OUTAGES.join(', ')}`);

  let ok = false;
  try {
    await withStdoutTo(process.stderr, () => up(ctx, procs));
    const config = loadConfig(env);
    const clients = awsClients(config);

    // ---- the plan: warm-up, then each outage and the recovery after it; traffic throughout. An
    // outage starts CHAOS_GAP_S after the previous one is over (its engine serving again).
    const t0 = Date.now() + 1000;
    let trafficEnd = Infinity;
    const settleBy = () => trafficEnd + S.CHAOS_SETTLE_S * 1000;
    const windows: Window[] = [];
    const alarms: Alarm[] = [];

    const post = async (arn: number, at: number) => {
      const { event, incident } = alarmEvent(arn, at);
      const a: Alarm = { incident, firstPostAt: Date.now(), attempts: 0 };
      alarms.push(a);
      for (let backoff = 250; Date.now() < settleBy(); backoff = Math.min(2000, backoff * 2)) {
        a.attempts++;
        const status = await postAlarm(receiverUrl, API_KEY, event, 10_000);
        if (status && status < 300) {
          a.acceptedAt = Date.now();
          return;
        }
        await sleep(backoff);
      }
    };
    const traffic = (async () => {
      const posts: Promise<void>[] = [];
      for (let k = 0; ; k++) {
        const at = t0 + Math.floor((k * 1000) / S.CHAOS_RATE);
        await sleep(at - Date.now());
        if (at >= trafficEnd) break;
        posts.push(post(k % S.CHAOS_ARNS, at));
      }
      await Promise.all(posts);
    })();

    const simOutage = (fault?: object) =>
      fetch(`${simUrl}/__sim/outage`, {
        method: fault ? 'PUT' : 'DELETE',
        body: fault ? JSON.stringify(fault) : undefined,
      }).then((r) => {
        if (r.status !== 204) throw new Error(`simulator outage control answered ${r.status}`);
      });
    const begin: Record<Outage, () => Promise<unknown>> = {
      stream: () => stopProcess(ctx, proc('kinesis')),
      tables: () => stopProcess(ctx, proc('dynamodb')),
      bucket: () => stopProcess(ctx, proc('s3')),
      scheduler: () => stopProcess(ctx, proc('scheduler')),
      provider_hung: () => simOutage({ type: 'hang', ms: S.CHAOS_HANG_MS }),
      provider_refusing: () => simOutage({ type: 'error', status: 503 }),
      second_lake_writer: () => startProcess(ctx, lake2),
    };
    const finish: Record<Outage, () => Promise<unknown>> = {
      stream: () => startProcess(ctx, proc('kinesis')),
      tables: () => startProcess(ctx, proc('dynamodb')),
      bucket: () => startProcess(ctx, proc('s3')),
      scheduler: () => startProcess(ctx, proc('scheduler')),
      provider_hung: () => simOutage(),
      provider_refusing: () => simOutage(),
      second_lake_writer: () => stopProcess(ctx, lake2),
    };
    let next = t0 + S.CHAOS_WARMUP_S * 1000;
    for (const outage of S.CHAOS_OUTAGES) {
      await sleep(next - Date.now());
      const start = Date.now();
      await begin[outage]();
      // an engine is out from the moment it is told to stop; the second writer once it serves
      const inEffect = outage === 'second_lake_writer' ? Date.now() : start;
      log(`${outage}: out${ENGINE_OF[outage] ? ` (${ENGINE_OF[outage]} stopped)` : ''}`);
      await sleep(inEffect + S.CHAOS_OUTAGE_S * 1000 - Date.now());
      await finish[outage]();
      windows.push({ outage, start, end: Date.now() });
      log(`${outage}: over after ${((Date.now() - start) / 1000).toFixed(1)} s`);
      next = Date.now() + S.CHAOS_GAP_S * 1000;
    }
    trafficEnd = next;
    await traffic;
    const accepted = alarms.filter((a) => a.acceptedAt !== undefined).length;
    log(
      `posted ${alarms.length} alarms, ${accepted} accepted, ` +
        `${alarms.filter((a) => a.attempts > 1).length} needed more than one post`,
    );

    // ---- settle: pages owed, then their dispatch records, then both consumers' checkpoints
    const expected = alarms.length * PAGES_PER_INCIDENT;
    const simRequests = async () => (await (await fetch(`${simUrl}/__sim/requests`)).json()) as SentRequest[];
    let pages: PageCount = countPages(await simRequests());
    while (pages.pagesSent < expected && Date.now() < settleBy()) {
      await sleep(2000);
      pages = countPages(await simRequests());
    }
    await sleep(3000); // late duplicates would show now
    pages = countPages(await simRequests());

    let stream: StreamEntry[] = [];
    const dispatchOf = new Map<string, { incident: string; level: number }>();
    for (;;) {
      stream = await readStream(clients.kinesis, config.STREAM_NAME);
      for (const r of stream)
        if (r.record?.kind === 'dispatch')
          dispatchOf.set(r.record.event_id, { incident: r.record.incident_id, level: r.record.level });
      if ([...pages.byDispatch.keys()].every((d) => dispatchOf.has(d)) || Date.now() > settleBy()) break;
      await sleep(2000);
    }

    const groups = [config.CONSUMER_GROUP, String(env.PAGING_GROUP || 'paging')];
    const checkpoints = new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE });
    const jamBy = Math.max(settleBy(), Date.now() + 30_000);
    let jammed: string[];
    for (;;) {
      stream = await readStream(clients.kinesis, config.STREAM_NAME);
      const tips = new Map<string, string>();
      for (const r of stream) tips.set(r.shardId, r.sequenceNumber); // in order: the last one stays
      const cps = new Map<string, Awaited<ReturnType<CheckpointStore['get']>>>();
      for (const g of groups)
        for (const shard of tips.keys()) cps.set(`${g}:${shard}`, await checkpoints.get(g, shard));
      jammed = jammedShards(tips, cps, groups);
      if (jammed.length === 0 || Date.now() > jamBy) break;
      await sleep(2000);
    }
    if (jammed.length) log(`jammed (checkpoint short of the shard's last record): ${jammed.join(', ')}`);

    // ---- the lake, once the processors have drained
    for (const name of ['paging', 'lake']) log(await stopProcess(ctx, proc(name)));
    const q = (sql: string) =>
      queryDuckDb(sql, { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: path.join(dir, 'cache') });
    const inLake = await lakeEventCounts(q);
    const streamIds = stream.flatMap((r) => (r.eventId ? [r.eventId] : []));
    const lakeRows = lakeDiff(streamIds, inLake);
    explainLakeLost(stream, inLake, log);
    clients.kinesis.destroy();
    clients.s3.destroy();
    clients.dynamodb.destroy();

    // ---- pages per incident, first pages per outage
    const got = new Map<string, number>();
    const firstPage = new Map<string, number>();
    let unrecorded = 0;
    for (const [id, d] of pages.byDispatch) {
      const rec = dispatchOf.get(id);
      if (!rec) {
        unrecorded++;
        continue;
      }
      got.set(rec.incident, (got.get(rec.incident) ?? 0) + 1);
      if (rec.level === 1) firstPage.set(rec.incident, Math.min(firstPage.get(rec.incident) ?? Infinity, d.first));
    }
    const shortfall = pageShortfall(
      alarms.map((a) => a.incident),
      got,
    );
    const latency = (a: Alarm) => {
      const at = firstPage.get(a.incident);
      return at === undefined ? [] : [at - a.firstPostAt];
    };
    const during = alarms.filter((a) => outageAt(windows, a.firstPostAt) !== undefined).flatMap(latency);
    const p99 = (xs: number[]) => (xs.length ? Math.round(pct(xs, 99)) : 'none');
    const perOutage = new Map<Outage, number[]>();
    for (const a of alarms) {
      const o = outageAt(windows, a.firstPostAt);
      if (o) perOutage.set(o, [...(perOutage.get(o) ?? []), ...latency(a)]);
    }

    log(
      'phase (outage + recovery)  alarms  retried  lost  extra  first page ms p50 / p99 / max (posted during outage)',
    );
    for (const phase of ['warmup', ...OUTAGES] as const) {
      const inPhase = alarms.filter((a) => phaseAt(windows, a.firstPostAt) === phase);
      if (inPhase.length === 0) continue;
      const s = pageShortfall(
        inPhase.map((a) => a.incident),
        got,
      );
      const lat = phase === 'warmup' ? inPhase.flatMap(latency) : (perOutage.get(phase) ?? []);
      log(
        `  ${phase.padEnd(24)} ${String(inPhase.length).padStart(6)} ` +
          `${String(inPhase.filter((a) => a.attempts > 1).length).padStart(8)} ${String(s.lost).padStart(5)} ` +
          `${String(s.extra).padStart(6)}  ${Math.round(pct(lat, 50))} / ${Math.round(pct(lat, 99))} / ` +
          `${Math.round(pct(lat, 100))}`,
      );
    }

    const lost = shortfall.lost;
    const duplicated = pages.duplicated + shortfall.extra;
    const schedulerP99 = perOutage.has('scheduler') ? pct(perOutage.get('scheduler')!, 99) : undefined;
    const missed = [
      lost > 0 && `lost=${lost}`,
      duplicated > 0 && `duplicated=${duplicated}`,
      lakeRows.lost > 0 && `lake_rows_lost=${lakeRows.lost}`,
      lakeRows.duplicated > 0 && `lake_rows_duplicated=${lakeRows.duplicated}`,
      jammed.length > 0 && `jammed_shards=${jammed.length}`,
      schedulerP99 !== undefined &&
        !(schedulerP99 <= S.CHAOS_FIRST_PAGE_TARGET_MS) &&
        `first_page_p99_ms_scheduler=${Math.round(schedulerP99)} > ${S.CHAOS_FIRST_PAGE_TARGET_MS}`,
    ].filter(Boolean);
    ok = missed.length === 0;

    await withStdoutTo(process.stderr, () => down(ctx, [...procs, lake2]));
    if (ok && S.CHAOS_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir} (logs under data/logs)`);
    if (!ok) log(`missed: ${missed.join(', ')}`);
    console.log(
      [
        `RESULT pages_expected=${expected}`,
        `pages_sent=${pages.pagesSent}`,
        `lost=${lost}`,
        `duplicated=${duplicated}`,
        `lake_rows_lost=${lakeRows.lost}`,
        `lake_rows_duplicated=${lakeRows.duplicated}`,
        `first_page_p99_ms_during_outage=${p99(during)}`,
        `jammed_shards=${jammed.length}`,
        `alarms=${alarms.length}`,
        `alarms_retried=${alarms.filter((a) => a.attempts > 1).length}`,
        `pages_unrecorded=${unrecorded}`,
        ...S.CHAOS_OUTAGES.map((o) => `first_page_p99_ms_${o}=${p99(perOutage.get(o) ?? [])}`),
      ].join(' '),
    );
  } catch (err) {
    await withStdoutTo(process.stderr, () => down(ctx, [...procs, lake2])).catch(() => undefined);
    log(`kept ${dir} (logs under data/logs)`);
    throw err;
  }
  process.exit(ok ? 0 : 1);
}

/** Runs `fn` with console.log going to `stream` (the stack's progress lines stay off stdout: RESULT is its line). */
async function withStdoutTo<T>(stream: NodeJS.WritableStream, fn: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]) => void stream.write(`${args.map(String).join(' ')}\n`);
  try {
    return await fn();
  } finally {
    console.log = original;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
