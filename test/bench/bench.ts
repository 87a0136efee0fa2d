/**
 * `make bench`: the lake processor's throughput on one core, against DuckDB doing the same work in
 * batch and against @dsnp/parquetjs writing the same rows.
 *
 *   (a) processor  processInMemory: stream records (as read from Kinesis) → decode, validate, join →
 *                  Parquet objects in memory (events + raw archive), through the lake handler's flush
 *                  code (`flushRecords`), in batches of 10,000 records per shard as the event source
 *                  mapping delivers them (one batch = one flush).
 *       (a1, a2)   the Parquet encoder alone on the same rows (EVENTS_TABLE, RAW_TABLE).
 *   (b) duckdb     the same records → NDJSON file → read_json, dedupe by event_id, join receipts, acks
 *                  and escalations to their message's dispatch on (incident_id, message_id), COPY
 *                  events and raw to Hive-partitioned Parquet (same compression), SET threads = 1.
 *                  Timed end to end, load included. What SQL cannot do: the processor's watermark
 *                  (a receipt the watermark passed before its dispatch came is `unmatched` or `late`
 *                  there, `matched` here; a dispatch past its window no longer joins there).
 *   (s) stages     the processor's work on the same records and batches, stage by stage, each timed apart
 *                  with the lake's own functions: decode + validate (decodeRecord, eventTimeError), join
 *                  (EventJoin push + drain), events encode and raw encode (encodeParquet of each batch's rows).
 *                  Not timed there: the dt grouping and row sort of objects.ts, the raw rows' build.
 *   (j) JSON.parse the floor: UTF-8 decode + JSON.parse of the same record bytes, nothing else.
 *   (c) parquetjs  @dsnp/parquetjs ParquetWriter writing the EVENTS_TABLE rows of (a1) to a buffer.
 *
 * Every stage is warmed up once (on the first min(N, 50,000) inputs), then timed BENCH_RUNS times
 * (default 3); the median is reported. Run with --expose-gc to collect before each timed run.
 * Then (not timed) the outputs of (a) and (b) are checked to hold the same rows: the same event ids,
 * each once, with the same key columns (CHECK_COLUMNS) and the same dt partition. A difference, or a
 * stage that fails, prints what went wrong and exits 1 (after the RESULT line, whose figures for a
 * failed stage are 0).
 * Settings: BENCH_EVENTS (default 200,000), BENCH_RUNS, BENCH_SEED.
 * The last line is machine-readable:
 *   RESULT processor_events_per_s=<n> duckdb_events_per_s=<n> parquetjs_rows_per_s=<n> ratio_vs_duckdb=<r>
 *          peak_rss_mb=<n> json_parse_events_per_s=<n> fraction_of_json_floor=<r>
 *          stage_decode_us=<µs/event> stage_join_us=<…> stage_events_encode_us=<…> stage_raw_encode_us=<…>
 * (one line; fraction_of_json_floor = processor / json_parse events per second; stage_* from (s)).
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import parquetjs, { type ParquetCompression, type SchemaDefinition } from '@dsnp/parquetjs';
import { processInMemory } from '../../processors/lake/in-memory.js';
import { EventJoin, eventTimeError } from '../../processors/lake/join.js';
import { decodeRecord, type StreamRecord } from '../../schemas/envelope.js';
import { DEFAULT_COMPRESSION, DEFAULT_ROW_GROUP_ROWS, encodeParquet } from '../../processors/lake/parquet.js';
import { EVENTS_TABLE, RAW_TABLE, type EventRow, type RawRow } from '../../schemas/lake.js';
import { generateEvents, toEventRows, type GeneratedRecord } from './generate.js';

const N = Number(process.env.BENCH_EVENTS ?? 200_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const SEED = Number(process.env.BENCH_SEED ?? 1);
const WARMUP = Math.min(N, 50_000);
const CODEC = DEFAULT_COMPRESSION; // one compression for every writer
const gc = (globalThis as { gc?: () => void }).gc;

interface Figure {
  stage: string;
  inputs: number;
  unit: 'events' | 'rows';
  ms: number;
  bytes: number;
  note: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Warm up once, then time RUNS runs; returns the median ms and the last run's result. */
async function timed<T>(
  warmup: () => unknown,
  run: () => T | Promise<T>,
): Promise<{ ms: number; result: T; all: number[] }> {
  await warmup();
  const all: number[] = [];
  let result!: T;
  for (let i = 0; i < RUNS; i++) {
    gc?.();
    const t0 = performance.now();
    result = await run();
    all.push(performance.now() - t0);
  }
  return { ms: median(all), result, all };
}

function dirBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.parquet')) {
      bytes += statSync(path.join(entry.parentPath, entry.name)).size;
      files++;
    }
  }
  return { bytes, files };
}

// ---- (a) the processor -------------------------------------------------------------------------

function runProcessor(records: readonly GeneratedRecord[]) {
  const out = processInMemory(records);
  let bytes = 0;
  for (const body of out.objects.values()) bytes += body.byteLength;
  return { ...out, bytes };
}

// ---- (s) the processor's stages apart ------------------------------------------------------------

type Stages = { decode: number; join: number; events: number; raw: number };

/** The records through the lake's stages in processInMemory's batches (10,000 per shard); ms per stage. */
function runStages(records: readonly GeneratedRecord[]): Stages {
  const t: Stages = { decode: 0, join: 0, events: 0, raw: 0 };
  const shards = new Map<string, { join: EventJoin; batch: GeneratedRecord[] }>();
  const flush = (s: { join: EventJoin; batch: GeneratedRecord[] }) => {
    let t0 = performance.now();
    const decoded: (StreamRecord | undefined)[] = s.batch.map((r) => {
      const record = decodeRecord(r.data);
      return eventTimeError(record.event_time, r.arrivalTime, s.join.options) ? undefined : record;
    });
    t.decode += performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < s.batch.length; i++) if (decoded[i]) s.join.push(decoded[i]!, s.batch[i]);
    const rows = s.join.drain();
    t.join += performance.now() - t0;
    t0 = performance.now();
    if (rows.length > 0) encodeParquet(EVENTS_TABLE, rows);
    t.events += performance.now() - t0;
    const raw: RawRow[] = s.batch.map((r) => ({
      shard_id: r.shardId,
      sequence_number: r.sequenceNumber,
      partition_key: r.partitionKey,
      arrival_time: r.arrivalTime,
      data: r.data,
    }));
    t0 = performance.now();
    encodeParquet(RAW_TABLE, raw);
    t.raw += performance.now() - t0;
    s.batch = [];
  };
  for (const r of records) {
    let s = shards.get(r.shardId);
    if (!s) {
      s = { join: new EventJoin(), batch: [] };
      shards.set(r.shardId, s);
    }
    s.batch.push(r);
    if (s.batch.length >= 10_000) flush(s);
  }
  for (const s of shards.values()) if (s.batch.length > 0) flush(s);
  return t;
}

// ---- (b) DuckDB ---------------------------------------------------------------------------------

/**
 * The records as an NDJSON file: the Kinesis fields plus the record itself as `data` (it is JSON),
 * written through one reusable 4 MB buffer (no per-record allocation, no 190 MB intermediate).
 */
function writeNdjson(records: readonly GeneratedRecord[], file: string): void {
  const fd = openSync(file, 'w');
  const buf = Buffer.allocUnsafe(4 << 20);
  let at = 0;
  const flush = () => {
    let off = 0;
    while (off < at) off += writeSync(fd, buf, off, at - off);
    at = 0;
  };
  try {
    for (const r of records) {
      const head =
        `{"shard_id":${JSON.stringify(r.shardId)},"sequence_number":${JSON.stringify(r.sequenceNumber)},` +
        `"partition_key":${JSON.stringify(r.partitionKey)},"arrival_time":${r.arrivalTime},"data":`;
      if (at + head.length * 3 + r.data.byteLength + 2 > buf.length) {
        flush();
        if (head.length * 3 + r.data.byteLength + 2 > buf.length)
          throw new RangeError('record larger than the NDJSON buffer');
      }
      at += buf.write(head, at, 'utf8');
      buf.set(r.data, at);
      at += r.data.byteLength;
      buf[at++] = 0x7d; // }
      buf[at++] = 0x0a; // \n
    }
    flush();
  } finally {
    closeSync(fd);
  }
}

const ISO_MS = `'%Y-%m-%dT%H:%M:%S.%gZ'`;
const CW_TS = `'%Y-%m-%dT%H:%M:%S.%g%z'`;
const RECORD_FIELDS = {
  kind: 'VARCHAR',
  event_id: 'VARCHAR',
  incident_id: 'VARCHAR',
  alarm_arn: 'VARCHAR',
  event_time: 'VARCHAR',
  message_id: 'VARCHAR',
  channel: 'VARCHAR',
  provider: 'VARCHAR',
  recipient: 'VARCHAR',
  person: 'VARCHAR',
  level: 'INTEGER',
  alarm_name: 'VARCHAR',
  severity: 'VARCHAR',
  outcome: 'VARCHAR',
  error_code: 'VARCHAR',
  error_message: 'VARCHAR',
  escalate_at: 'VARCHAR',
  status: 'VARCHAR',
  provider_status: 'VARCHAR',
  raw: 'VARCHAR',
  via: 'VARCHAR',
  reason: 'VARCHAR',
  from_level: 'INTEGER',
  to_level: 'INTEGER',
  from_channel: 'VARCHAR',
  event: 'JSON',
};

/**
 * The processor's work in SQL: alarm ids derived as schemas/ids.ts does (sha256), first occurrence
 * of each event_id kept, receipts enriched from their dispatch, EVENTS_TABLE columns, then events by
 * event day and the raw archive by arrival day, as Hive-partitioned Parquet.
 */
function duckdbSql(input: string, out: string): string[] {
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return [
    `SET threads = 1`,
    `CREATE TEMP TABLE rec AS SELECT * FROM read_json(${q(input)}, format = 'newline_delimited',
       columns = {shard_id: 'VARCHAR', sequence_number: 'VARCHAR', partition_key: 'VARCHAR',
                  arrival_time: 'BIGINT', data: 'JSON'})`,
    `COPY (
       SELECT shard_id, sequence_number, partition_key, make_timestamptz(arrival_time * 1000) AS arrival_time,
              encode(data::VARCHAR) AS data,
              strftime(make_timestamptz(arrival_time * 1000) AT TIME ZONE 'UTC', '%Y-%m-%d') AS dt
       FROM rec ORDER BY dt, shard_id, sequence_number
     ) TO ${q(path.join(out, 'raw'))} (FORMAT parquet, COMPRESSION ${CODEC}, PARTITION_BY (dt), OVERWRITE_OR_IGNORE)`,
    `COPY (
       WITH d AS (
         SELECT shard_id, sequence_number, arrival_time,
                unnest(json_transform(data, ${q(JSON.stringify(RECORD_FIELDS))}))
         FROM rec
       ), a AS (
         SELECT *, CASE WHEN kind = 'alarm' THEN json_extract_string(event, ['$.resources[0]', '$.detail.alarmName',
           '$.detail.state.value', '$.detail.state.timestamp', '$.detail.previousState.value',
           '$.detail.previousState.timestamp', '$.detail.state.reason', '$.detail.alarmTags.severity']) END AS al
         FROM d
       ), b AS (
         SELECT *,
           CASE WHEN kind = 'alarm' THEN strptime(al[4], ${CW_TS}) ELSE event_time::TIMESTAMPTZ END AS ts,
           CASE WHEN kind = 'alarm' THEN
             CASE WHEN al[3] <> 'ALARM' AND al[5] = 'ALARM' THEN strptime(al[6], ${CW_TS})
               ELSE strptime(al[4], ${CW_TS}) END
           END AS episode
         FROM a
       ), c AS (
         SELECT *,
           CASE WHEN kind = 'alarm' THEN 'evt_' || sha256('alarm' || chr(31) || al[1] || chr(31) || al[3] || chr(31)
             || strftime(ts AT TIME ZONE 'UTC', ${ISO_MS}) || chr(31))[1:32] ELSE event_id END AS eid,
           CASE WHEN kind = 'alarm' THEN 'inc_' || sha256(al[1] || chr(31)
             || strftime(episode AT TIME ZONE 'UTC', ${ISO_MS}) || chr(31))[1:20] ELSE incident_id END AS inc
         FROM b
       ), e AS MATERIALIZED (
         -- read twice (the rows and the dispatches they join): computed once
         SELECT * FROM c QUALIFY row_number() OVER (PARTITION BY eid ORDER BY shard_id, sequence_number) = 1
       ), ev AS (
         SELECT
           e.eid AS event_id, e.kind, e.inc AS incident_id, coalesce(e.al[1], e.alarm_arn) AS alarm_arn,
           coalesce(e.al[2], e.alarm_name, dp.alarm_name) AS alarm_name,
           coalesce(e.severity, e.al[8], dp.severity) AS severity,
           coalesce(e.channel, e.from_channel, dp.channel) AS channel, coalesce(e.provider, dp.provider) AS provider,
           e.message_id,
           coalesce(e.recipient, dp.recipient) AS recipient,
           coalesce(e.person, dp.person) AS person, coalesce(e.level, e.from_level, dp.level) AS level,
           CASE e.kind WHEN 'alarm' THEN lower(e.al[3]) WHEN 'dispatch' THEN e.outcome WHEN 'ack' THEN 'acked'
             WHEN 'escalation' THEN 'escalated' ELSE e.status END AS status,
           e.provider_status, e.error_code, e.error_message,
           CASE e.kind WHEN 'alarm' THEN e.al[7] WHEN 'ack' THEN e.via ELSE e.reason END AS reason,
           e.ts AS "timestamp",
           CASE e.kind WHEN 'dispatch' THEN e.ts ELSE dp.ts END AS dispatched_at,
           CASE e.kind WHEN 'dispatch' THEN e.escalate_at::TIMESTAMPTZ ELSE dp.escalate_at::TIMESTAMPTZ END
             AS escalate_at,
           CASE WHEN e.kind = 'escalation' THEN e.to_level END AS to_level,
           CASE WHEN dp.eid IS NOT NULL THEN 'matched' WHEN e.kind = 'receipt' THEN 'unmatched' ELSE 'none' END
             AS join_status,
           CASE e.kind WHEN 'alarm' THEN e.event::VARCHAR WHEN 'receipt' THEN e.raw END AS detail,
           e.shard_id, e.sequence_number, make_timestamptz(e.arrival_time * 1000) AS arrival_time
         FROM e LEFT JOIN (
           SELECT inc || chr(31) || message_id AS k, eid, alarm_name, severity, channel, provider, recipient, person,
                  level, ts, escalate_at
           FROM e WHERE kind = 'dispatch'
         ) dp ON dp.k = CASE WHEN e.kind IN ('receipt', 'ack', 'escalation') THEN e.inc || chr(31) || e.message_id END
         -- (above) one equi-key: a hash join
       )
       SELECT *, strftime("timestamp" AT TIME ZONE 'UTC', '%Y-%m-%d') AS dt FROM ev ORDER BY dt, "timestamp", event_id
     ) TO ${q(path.join(out, 'events'))}
       (FORMAT parquet, COMPRESSION ${CODEC}, PARTITION_BY (dt), OVERWRITE_OR_IGNORE)`,
  ];
}

async function runDuckdb(records: readonly GeneratedRecord[], work: string) {
  rmSync(work, { recursive: true, force: true });
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await db.connect();
  try {
    const t0 = performance.now();
    const input = path.join(work, 'in.ndjson');
    mkdirSync(work, { recursive: true });
    writeNdjson(records, input);
    const loadMs = performance.now() - t0;
    for (const sql of duckdbSql(input, work)) await conn.run(sql);
    const rows = Number(
      (
        await conn.runAndReadAll(
          `SELECT count(*) FROM read_parquet(${`'${path.join(work, 'events', '**', '*.parquet')}'`})`,
        )
      ).getRows()[0][0],
    );
    return { loadMs, rows, ...dirBytes(work) };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

// ---- (j) the JSON.parse floor ---------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 decode + JSON.parse of every record, as the processor's decode starts: the floor of any JS decoder. */
function runJsonParse(records: readonly GeneratedRecord[]): number {
  let keys = 0;
  for (const r of records) if (JSON.parse(utf8.decode(r.data)).kind !== undefined) keys++;
  return keys;
}

// ---- (a) = (b): the same rows ------------------------------------------------------------------

/**
 * The columns both outputs must agree on, per event id (plus the dt partition). Not `join_status`:
 * the SQL is a batch join without the processor's watermark or window (a receipt the watermark
 * released before its dispatch came is `matched` in SQL), so that column is counted
 * (`joinStatusDiffers`), not required to agree.
 */
export const CHECK_COLUMNS = [
  'event_id',
  'kind',
  'incident_id',
  'alarm_arn',
  'message_id',
  'status',
  'timestamp',
  'shard_id',
  'sequence_number',
] as const;

export interface SameRows {
  processorRows: number;
  duckdbRows: number;
  /** Event ids written more than once, per side. */
  processorDuplicateIds: number;
  duckdbDuplicateIds: number;
  /** Rows (key columns + dt) only in one side's output. */
  onlyInProcessor: number;
  onlyInDuckdb: number;
  /** Event ids whose join_status differs (informational). */
  joinStatusDiffers: number;
  samples: string[];
}

export const sameRowsOk = (r: SameRows) =>
  r.processorRows > 0 &&
  r.processorRows === r.duckdbRows &&
  r.processorDuplicateIds === 0 &&
  r.duckdbDuplicateIds === 0 &&
  r.onlyInProcessor === 0 &&
  r.onlyInDuckdb === 0;

/** Compares the processor's event objects (key → Parquet bytes) with DuckDB's events/ output directory. */
export async function compareOutputs(
  processorObjects: ReadonlyMap<string, Uint8Array>,
  duckdbEventsDir: string,
  work: string,
): Promise<SameRows> {
  const procDir = path.join(work, 'processor');
  for (const [key, body] of processorObjects) {
    if (!key.startsWith(EVENTS_TABLE.prefix)) continue;
    const file = path.join(procDir, key.slice(EVENTS_TABLE.prefix.length));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body);
  }
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const cols = [...CHECK_COLUMNS.map((c) => `"${c}"`), 'dt', 'join_status'].join(', ');
  const keyCols = [...CHECK_COLUMNS.map((c) => `"${c}"`), 'dt'].join(', ');
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await db.connect();
  try {
    const read = (dir: string) =>
      `SELECT ${cols} FROM read_parquet(${q(path.join(dir, '**', '*.parquet'))}, ` +
      `hive_partitioning = true, hive_types = {'dt': VARCHAR})`;
    await conn.run(`CREATE TEMP TABLE p AS ${read(procDir)}`);
    await conn.run(`CREATE TEMP TABLE d AS ${read(duckdbEventsDir)}`);
    const one = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0][0]);
    const dupes = (t: string) =>
      one(`SELECT count(*) FROM (SELECT event_id FROM ${t} GROUP BY event_id HAVING count(*) > 1)`);
    const sample = async (a: string, b: string, label: string) =>
      (
        await conn.runAndReadAll(
          `SELECT * FROM (SELECT ${keyCols} FROM ${a} EXCEPT ALL SELECT ${keyCols} FROM ${b}) ` +
            `ORDER BY event_id LIMIT 3`,
        )
      )
        .getRowsJson()
        .map((r) => `${label}: ${JSON.stringify(r)}`);
    return {
      processorRows: await one('SELECT count(*) FROM p'),
      duckdbRows: await one('SELECT count(*) FROM d'),
      processorDuplicateIds: await dupes('p'),
      duckdbDuplicateIds: await dupes('d'),
      onlyInProcessor: await one(`SELECT count(*) FROM (SELECT ${keyCols} FROM p EXCEPT ALL SELECT ${keyCols} FROM d)`),
      onlyInDuckdb: await one(`SELECT count(*) FROM (SELECT ${keyCols} FROM d EXCEPT ALL SELECT ${keyCols} FROM p)`),
      joinStatusDiffers: await one(
        'SELECT count(*) FROM p JOIN d USING (event_id) WHERE p.join_status IS DISTINCT FROM d.join_status',
      ),
      samples: [...(await sample('p', 'd', 'only in processor')), ...(await sample('d', 'p', 'only in duckdb'))],
    };
  } finally {
    conn.closeSync();
    db.closeSync();
    rmSync(procDir, { recursive: true, force: true });
  }
}

// ---- (c) parquetjs -----------------------------------------------------------------------------

const PARQUETJS_TYPE = {
  string: 'UTF8',
  int: 'INT32',
  bigint: 'INT64',
  timestamp: 'TIMESTAMP_MILLIS',
  binary: 'BYTE_ARRAY',
} as const;

async function runParquetjs(rows: readonly EventRow[]): Promise<number> {
  const definition: SchemaDefinition = Object.fromEntries(
    EVENTS_TABLE.columns.map((c) => [
      c.name,
      { type: PARQUETJS_TYPE[c.type], optional: c.nullable, compression: CODEC.toUpperCase() as ParquetCompression },
    ]),
  );
  const schema = new parquetjs.ParquetSchema(definition);
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb();
    },
  });
  type Sink = Parameters<typeof parquetjs.ParquetWriter.openStream>[1];
  const writer = await parquetjs.ParquetWriter.openStream(schema, sink as unknown as Sink, {
    rowGroupSize: DEFAULT_ROW_GROUP_ROWS,
  });
  for (const row of rows) await writer.appendRow(row);
  await writer.close();
  return bytes;
}

// ---- main ----------------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(
    `pagetrail bench: ${fmt(N)} events, seed ${SEED}, ${RUNS} timed runs per stage (median), ` +
      `compression ${CODEC}, Node ${process.version}${gc ? '' : ' (run with --expose-gc for steadier figures)'}`,
  );
  console.log(
    'DuckDB is pinned to one thread (SET threads = 1): a per-core comparison. ' +
      'The processor is single-threaded JS + WebAssembly.',
  );

  let t0 = performance.now();
  const records = generateEvents({ events: N, seed: SEED });
  const inputBytes = records.reduce((s, r) => s + r.data.byteLength, 0);
  console.log(
    `generated ${fmt(records.length)} records (${(inputBytes / 1e6).toFixed(1)} MB of JSON) ` +
      `in ${fmt(performance.now() - t0)} ms`,
  );
  const warmRecords = records.slice(0, WARMUP);
  const figures: Figure[] = [];
  const failures: string[] = [];

  // (j), then (a)
  const j = await timed(
    () => runJsonParse(warmRecords),
    () => runJsonParse(records),
  );
  figures.push({
    stage: '(j) JSON.parse floor: UTF-8 decode + JSON.parse per record',
    inputs: N,
    unit: 'events',
    ms: j.ms,
    bytes: inputBytes,
    note: 'bytes = input JSON',
  });
  const a = await timed(
    () => runProcessor(warmRecords),
    () => runProcessor(records),
  );
  figures.push({
    stage: '(a) processor: records → joined rows → Parquet objects',
    inputs: N,
    unit: 'events',
    ms: a.ms,
    bytes: a.result.bytes,
    note: `${fmt(a.result.rows)} rows, ${a.result.errors} errors, ${a.result.objects.size} objects`,
  });
  // Peak RSS of the process through stage (a): the generated records and the processor runs. The
  // later stages hold more (reference rows, DuckDB in-process, parquetjs buffers): printed apart.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  runStages(warmRecords);
  const stageRuns: Stages[] = [];
  for (let i = 0; i < RUNS; i++) {
    gc?.();
    stageRuns.push(runStages(records));
  }
  const stageUs = (k: keyof Stages) => (median(stageRuns.map((r) => r[k])) * 1000) / N;
  const stages = { decode: stageUs('decode'), join: stageUs('join'), events: stageUs('events'), raw: stageUs('raw') };
  console.log(
    `(s) stages, µs per event (median of ${RUNS}): decode + validate ${stages.decode.toFixed(2)}, ` +
      `join ${stages.join.toFixed(2)}, events encode ${stages.events.toFixed(2)}, ` +
      `raw encode ${stages.raw.toFixed(2)}; ` +
      `sum ${(stages.decode + stages.join + stages.events + stages.raw).toFixed(2)} against (a) ` +
      `${((a.ms * 1000) / N).toFixed(2)}`,
  );

  t0 = performance.now();
  const rows = toEventRows(records);
  const rawRows: RawRow[] = records.map((r) => ({
    shard_id: r.shardId,
    sequence_number: r.sequenceNumber,
    partition_key: r.partitionKey,
    arrival_time: r.arrivalTime,
    data: r.data,
  }));
  console.log(
    `reference rows for the writers: ${fmt(rows.length)} event rows, ${fmt(rawRows.length)} raw rows ` +
      `(${fmt(performance.now() - t0)} ms, not timed)`,
  );
  const warmRows = rows.slice(0, WARMUP);
  const a1 = await timed(
    () => encodeParquet(EVENTS_TABLE, warmRows),
    () => encodeParquet(EVENTS_TABLE, rows).byteLength,
  );
  figures.push({
    stage: '(a1) encoder: EVENTS_TABLE rows → Parquet',
    inputs: rows.length,
    unit: 'rows',
    ms: a1.ms,
    bytes: a1.result,
    note: `one file, ${(a1.result / rows.length).toFixed(0)} B/row`,
  });
  const a2 = await timed(
    () => encodeParquet(RAW_TABLE, rawRows.slice(0, WARMUP)),
    () => encodeParquet(RAW_TABLE, rawRows).byteLength,
  );
  figures.push({
    stage: '(a2) encoder: RAW_TABLE rows → Parquet',
    inputs: rawRows.length,
    unit: 'rows',
    ms: a2.ms,
    bytes: a2.result,
    note: 'one file',
  });

  // what compression costs: the same encoders with compression off (ADR 0005's correction)
  const a1n = await timed(
    () => encodeParquet(EVENTS_TABLE, warmRows, { compression: 'none' }),
    () => encodeParquet(EVENTS_TABLE, rows, { compression: 'none' }).byteLength,
  );
  const a2n = await timed(
    () => encodeParquet(RAW_TABLE, rawRows.slice(0, WARMUP), { compression: 'none' }),
    () => encodeParquet(RAW_TABLE, rawRows, { compression: 'none' }).byteLength,
  );
  const us = (ms: number, n: number) => ((ms * 1000) / n).toFixed(2);
  console.log(
    `compression (${CODEC} against none), µs per row: events ${us(a1.ms, rows.length)} against ` +
      `${us(a1n.ms, rows.length)}, raw ${us(a2.ms, rawRows.length)} against ${us(a2n.ms, rawRows.length)}`,
  );

  // (b), then (a) = (b)
  const work = mkdtempSync(path.join(tmpdir(), 'pagetrail-bench-'));
  let b: Awaited<ReturnType<typeof timed<Awaited<ReturnType<typeof runDuckdb>>>>> | undefined;
  try {
    b = await timed(
      () => runDuckdb(warmRecords, path.join(work, 'warm')),
      () => runDuckdb(records, path.join(work, 'run')),
    );
    figures.push({
      stage: '(b) duckdb: NDJSON → dedupe + join → COPY Parquet',
      inputs: N,
      unit: 'events',
      ms: b.ms,
      bytes: b.result.bytes,
      note:
        `${fmt(b.result.rows)} rows, ${b.result.files} files; ` +
        `NDJSON build + write ${fmt(b.result.loadMs)} ms of it`,
    });
  } catch (err) {
    console.error('duckdb stage failed:', err);
    failures.push(`(b) duckdb failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (b) {
    try {
      const same = await compareOutputs(a.result.objects, path.join(work, 'run', 'events'), work);
      const { samples, ...counts } = same;
      console.log(`(a) = (b): ${JSON.stringify(counts)}`);
      if (!sameRowsOk(same)) {
        for (const line of samples) console.error(`  ${line}`);
        failures.push(
          `(a) and (b) do not hold the same rows (key columns ${CHECK_COLUMNS.join(', ')}, dt): ` +
            `${JSON.stringify(counts)}`,
        );
      }
    } catch (err) {
      console.error('output comparison failed:', err);
      failures.push(`(a) = (b) comparison failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  rmSync(work, { recursive: true, force: true });

  // (c)
  let c: Awaited<ReturnType<typeof timed<number>>> | undefined;
  try {
    c = await timed(
      () => runParquetjs(warmRows),
      () => runParquetjs(rows),
    );
    figures.push({
      stage: '(c) @dsnp/parquetjs: EVENTS_TABLE rows → Parquet',
      inputs: rows.length,
      unit: 'rows',
      ms: c.ms,
      bytes: c.result,
      note: 'ParquetWriter.openStream to memory',
    });
  } catch (err) {
    console.error('parquetjs stage failed:', err);
    failures.push(`(c) parquetjs failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  const w = [58, 10, 9, 14, 8];
  const line = (cells: string[]) => cells.map((s, i) => (i === 0 ? s.padEnd(w[i]) : s.padStart(w[i]))).join('  ');
  console.log('');
  console.log(line(['stage', 'inputs', 'ms', 'per s', 'MB']) + '  notes');
  console.log('-'.repeat(110));
  for (const f of figures)
    console.log(
      line([
        f.stage,
        `${fmt(f.inputs)}`,
        fmt(f.ms),
        `${fmt((f.inputs / f.ms) * 1000)} ${f.unit === 'events' ? 'ev' : 'rows'}`,
        (f.bytes / 1e6).toFixed(2),
      ]) + `  ${f.note}`,
    );
  console.log('');

  const processorRate = (N / a.ms) * 1000;
  const duckRate = b ? (N / b.ms) * 1000 : 0;
  const pjsRate = c ? (rows.length / c.ms) * 1000 : 0;
  const jsonRate = (N / j.ms) * 1000;
  console.log(
    `encoder share of (a): (a1) + (a2) = ${fmt(a1.ms + a2.ms)} ms of ${fmt(a.ms)} ms ` +
      `(${(((a1.ms + a2.ms) / a.ms) * 100).toFixed(0)} %; the processor writes the same rows in several smaller files)`,
  );
  console.log(
    `peak RSS: ${fmt(peakRssMb)} MB through stage (a) (reported below); ` +
      `${fmt(process.resourceUsage().maxRSS / 1024)} MB at the end (DuckDB in-process, parquetjs buffers)`,
  );
  console.log(
    [
      `RESULT processor_events_per_s=${Math.round(processorRate)}`,
      `duckdb_events_per_s=${Math.round(duckRate)}`,
      `parquetjs_rows_per_s=${Math.round(pjsRate)}`,
      `ratio_vs_duckdb=${duckRate ? (processorRate / duckRate).toFixed(2) : '0.00'}`,
      `peak_rss_mb=${Math.round(peakRssMb)}`,
      `json_parse_events_per_s=${Math.round(jsonRate)}`,
      `fraction_of_json_floor=${(processorRate / jsonRate).toFixed(3)}`,
      `stage_decode_us=${stages.decode.toFixed(2)}`,
      `stage_join_us=${stages.join.toFixed(2)}`,
      `stage_events_encode_us=${stages.events.toFixed(2)}`,
      `stage_raw_encode_us=${stages.raw.toFixed(2)}`,
    ].join(' '),
  );
  if (a.result.errors > 0)
    failures.push(
      `(a) processor: ${a.result.errors} records went to the error lines (the generated workload is valid)`,
    );
  for (const f of failures) console.error(`bench FAILED: ${f}`);
  if (failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main().catch((err: unknown) => {
    console.error('bench failed:', err);
    process.exitCode = 1;
  });
}
