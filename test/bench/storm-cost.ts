/**
 * The storm's cost figures (issue 19), from what test/bench/sdk-tally-preload.mjs recorded in the paging and lake
 * processes (method: docs/performance.md, "The storm's cost figures"):
 *
 * - round trips before the first page, calls per alarm record: the probes (alarms posted one at a time on the idle
 *   paging process, before the storm), median over the probes;
 * - calls, write/read units, stream records, Scheduler calls, S3 PUTs and bytes, handler invocations per alarm:
 *   whole incident lifecycles, everything the handlers did in the storm's window divided by the alarms posted in it;
 * - paging CPU per alarm: the paging processes' CPU in the window, less the same run's idle rate (measured before
 *   the probes) over their time alive, less one start-up per restart, divided by the alarms;
 * - receipt → queryable: per receipt row of the lake, the end of the S3 PUT of the first object holding it less
 *   its Kinesis arrival time (rows written by the storm's final in-process catch-up are not measured).
 *
 * Writes them to .cache/storm/last.json (what `make cost` reads), with the date and commit.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { EVENTS_TABLE } from '../../schemas/lake.js';
import type { StreamEntry } from '../helpers/read-stream.js';
import { pct } from './paging-traffic.js';
import { cpuMs, isDynamoWrite, isMapping, probeFigures, type TallyProcess, type TallyRequest } from './sdk-tally.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const LAST_STORM_FILE = path.join(REPO_ROOT, '.cache', 'storm', 'last.json');

export interface CostInput {
  tallies: TallyProcess[];
  checkpointTable: string;
  probes: number[];
  baseline: { from: number; to: number };
  window: { from: number; to: number };
  alarms: number;
  /** Every record on the stream after the storm (decoded), and the pages the provider accepted. */
  stream: StreamEntry[];
  pagesSent: number;
  settings: Record<string, unknown>;
  s3: S3Client;
  bucket: string;
  dir: string;
  log: (msg: string) => void;
}

const round = (x: number, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : Number.NaN);

export async function costFigures(o: CostInput) {
  const paging = o.tallies.filter((t) => t.role === 'paging').sort((a, b) => a.samples[0].at - b.samples[0].at);
  const lake = o.tallies.filter((t) => t.role === 'lake');
  const all = paging.flatMap((p) => p.requests);

  const probes = o.probes.map((at) => probeFigures(all, at, o.checkpointTable)).filter((p) => p !== undefined);
  for (const p of probes) o.log(`probe: ${p.roundTrips} round trips, ${p.calls} calls ${JSON.stringify(p.byOp)}`);
  const roundTrips = pct(
    probes.map((p) => p.roundTrips),
    50,
  );
  const callsPerAlarmRecord = pct(
    probes.map((p) => p.calls),
    50,
  );

  // the window's handler calls, per alarm
  const inWindow = (r: TallyRequest) => r.s >= o.window.from && r.s < o.window.to;
  const handler = all.filter((r) => inWindow(r) && !isMapping(r, o.checkpointTable));
  const per = (n: number) => round(n / o.alarms, 2);
  const byOp: Record<string, number> = {};
  for (const r of handler) byOp[`${r.svc}:${r.op}`] = (byOp[`${r.svc}:${r.op}`] ?? 0) + 1;
  const writes = handler.filter(isDynamoWrite);
  const reads = handler.filter((r) => r.svc === 'dynamodb' && !isDynamoWrite(r));
  const sum = (xs: TallyRequest[], f: (r: TallyRequest) => number) => xs.reduce((a, r) => a + f(r), 0);
  const invocations = (procs: TallyProcess[]) =>
    procs.flatMap((p) => p.requests).filter((r) => inWindow(r) && r.table === o.checkpointTable && isDynamoWrite(r))
      .length;

  // paging CPU against the same run's idle rate
  let pagingCpuMsPerAlarm = Number.NaN;
  const first = paging[0];
  if (first) {
    const idleRate = cpuMs(first.samples, o.baseline.from, o.baseline.to) / (o.baseline.to - o.baseline.from);
    const boot = first.samples[0].at;
    const startup = cpuMs(first.samples, boot, o.baseline.from) - idleRate * (o.baseline.from - boot);
    let cpu = 0;
    for (const p of paging) {
      const born = p.samples[0].at;
      const died = p.samples[p.samples.length - 1].at;
      const from = Math.max(o.window.from, born);
      const to = Math.min(o.window.to, died);
      if (to <= from) continue;
      cpu +=
        cpuMs(p.samples, o.window.from, o.window.to) - idleRate * (to - from) - (born > o.window.from ? startup : 0);
    }
    o.log(
      `paging CPU: idle ${round(idleRate * 1000)} ms/s, start-up ${round(startup)} ms, ` +
        `${paging.length - 1} restarts, ${round(cpu)} ms over ${o.alarms} alarms`,
    );
    pagingCpuMsPerAlarm = round(cpu / o.alarms);
  }

  const receiptToQueryable = await receiptLatencies(o, lake);
  const lakePuts = lake
    .flatMap((p) => p.requests)
    .filter((r) => inWindow(r) && r.svc === 's3' && (r.op === 'PUT' || r.op === 'POST'));

  const figures = {
    round_trips_before_first_page: roundTrips,
    sdk_calls_per_alarm: callsPerAlarmRecord,
    paging_cpu_ms_per_alarm: pagingCpuMsPerAlarm,
    dynamodb_wcu_per_alarm: per(sum(writes, (r) => r.cu ?? 0)),
    receipt_to_queryable_p50_s: round(pct(receiptToQueryable, 50) / 1000),
  };
  const perAlarm = {
    handler_calls: per(handler.length),
    dynamodb_requests: per(writes.length + reads.length),
    dynamodb_write_requests: per(writes.length),
    dynamodb_wcu: per(sum(writes, (r) => r.cu ?? 0)),
    dynamodb_rcu: per(sum(reads, (r) => r.cu ?? 0)),
    dynamodb_writes_without_capacity: per(writes.filter((r) => r.cu === undefined || r.cu === 0).length),
    kinesis_put_requests: per(handler.filter((r) => r.svc === 'kinesis').length),
    pages: per(o.pagesSent),
    receipts_per_page: round(o.stream.filter((r) => r.kind === 'receipt').length / o.pagesSent, 2),
    stream_records: per(o.stream.length),
    // the decoded record as JSON: what the producers put, near enough (the stream holds JSON)
    stream_record_bytes: Math.round(
      o.stream.reduce((a, r) => a + (r.record ? Buffer.byteLength(JSON.stringify(r.record)) : 0), 0) /
        Math.max(1, o.stream.length),
    ),
    scheduler_calls: per(handler.filter((r) => r.svc === 'scheduler').length),
    provider_calls: per(handler.filter((r) => r.svc === 'provider').length),
    paging_invocations: per(invocations(paging)),
    lake_invocations: per(invocations(lake)),
    lake_s3_puts: per(lakePuts.length),
    lake_s3_put_bytes: per(sum(lakePuts, (r) => r.reqB)),
    paging_cpu_ms: pagingCpuMsPerAlarm,
  };
  const out = {
    measured_at: new Date().toISOString(),
    commit: gitCommit(),
    settings: o.settings,
    probes: probes.length,
    receipts_measured: receiptToQueryable.length,
    figures,
    per_alarm: perAlarm,
    calls_by_op_per_alarm: Object.fromEntries(Object.entries(byOp).map(([k, n]) => [k, per(n)])),
  };
  fs.mkdirSync(path.dirname(LAST_STORM_FILE), { recursive: true });
  fs.writeFileSync(LAST_STORM_FILE, `${JSON.stringify(out, null, 2)}\n`);
  o.log(`cost figures per alarm (also in ${path.relative(REPO_ROOT, LAST_STORM_FILE)}): ${JSON.stringify(perAlarm)}`);
  return {
    roundTrips,
    callsPerAlarmRecord,
    pagingCpuMsPerAlarm,
    wcuPerAlarm: figures.dynamodb_wcu_per_alarm,
    receiptToQueryableP50S: figures.receipt_to_queryable_p50_s,
  };
}

/** STORM_TALLY=0: the services ran without the preload, nothing was measured. */
export async function noCostFigures(_: CostInput) {
  return {
    roundTrips: Number.NaN,
    callsPerAlarmRecord: Number.NaN,
    pagingCpuMsPerAlarm: Number.NaN,
    wcuPerAlarm: Number.NaN,
    receiptToQueryableP50S: Number.NaN,
  };
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT }).toString().trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

/** Per receipt row: ms from its Kinesis arrival to the end of the lake's first PUT of an object holding it. */
async function receiptLatencies(o: CostInput, lake: TallyProcess[]): Promise<number[]> {
  const putAt = new Map<string, number>();
  for (const r of lake.flatMap((p) => p.requests)) {
    if (r.svc !== 's3' || r.op !== 'PUT' || !r.path || (r.status ?? 500) >= 300) continue;
    const [p, query = ''] = r.path.split('?');
    if (query.includes('partNumber')) continue;
    const key = decodeURIComponent(p.replace(/^\/[^/]+\//, ''));
    putAt.set(key, Math.min(putAt.get(key) ?? Number.POSITIVE_INFINITY, r.e));
  }
  const files: string[] = [];
  const local = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await o.s3.send(
      new ListObjectsV2Command({ Bucket: o.bucket, Prefix: EVENTS_TABLE.prefix, ContinuationToken: token }),
    );
    for (const obj of page.Contents ?? []) {
      if (!obj.Key || !putAt.has(obj.Key) || !obj.Key.endsWith('.parquet')) continue;
      const body = await (await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: obj.Key }))).Body!;
      const file = path.join(o.dir, 'queryable', `${files.length}.parquet`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, await body.transformToByteArray());
      files.push(file);
      local.set(file, obj.Key);
    }
    token = page.NextContinuationToken;
  } while (token);
  if (files.length === 0) return [];
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
  const rows = (
    await db.runAndReadAll(
      `SELECT event_id, filename, epoch_ms(arrival_time) FROM read_parquet([${list}], filename = true) ` +
        "WHERE kind = 'receipt'",
    )
  ).getRows();
  db.closeSync();
  const first = new Map<string, number>();
  for (const [id, file, arrival] of rows) {
    const ms = putAt.get(local.get(String(file))!)! - Number(arrival);
    first.set(String(id), Math.min(first.get(String(id)) ?? Number.POSITIVE_INFINITY, ms));
  }
  return [...first.values()];
}
