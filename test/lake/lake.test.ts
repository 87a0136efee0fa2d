import { createHash } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';
import { KinesisProducer, type PutResult } from '../../producers/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { compareSeq } from '../../processors/lake/join.js';
import { LakeProcessor, type LakeProcessorOptions } from '../../processors/lake/lake-processor.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { backfill } from '../../processors/lake/backfill.js';
import { queryDuckDb } from '../../processors/query/duckdb-engine.js';
import { demoScenario } from '../fixtures/lake-scenario.js';
import type { FlushBatch } from '../../processors/lake/shard-pipeline.js';

/**
 * The event backbone end to end on the real engines: producer → Kinesis (kinesalite) → lake
 * processor → S3 (s3rver) with checkpoints in DynamoDB (dynalite) → SQL on DuckDB.
 */
const SEED = "SELECT incident_id, channel, status FROM alert_events WHERE status = 'opened' AND timestamp < escalation_time";

let stack: LocalStack;
let store: LakeStore;
let checkpoints: CheckpointStore;
let producer: KinesisProducer;
const T0 = Date.parse('2026-11-27T23:50:00.000Z'); // crosses midnight: two dt partitions

beforeAll(async () => {
  stack = await startLocalStack({ shards: 2 });
  store = new LakeStore(stack.clients.s3, stack.config.LAKE_BUCKET);
  checkpoints = new CheckpointStore({ dynamodb: stack.clients.dynamodb, table: stack.config.CHECKPOINT_TABLE });
  producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
});
afterAll(async () => stack?.stop());

interface RawEntry {
  raw: Uint8Array;
  key: string;
}
const isRaw = (r: StreamRecordIn | RawEntry): r is RawEntry => r instanceof Object && 'raw' in r && r.raw instanceof Uint8Array;

async function put(records: (StreamRecordIn | RawEntry)[]): Promise<PutResult[]> {
  return producer.putRecords(records.map((r) => (isRaw(r) ? { data: r.raw, partitionKey: r.key } : { data: encodeRecord(r), partitionKey: partitionKeyOf(r) })));
}

function processor(group: string, extra: Partial<LakeProcessorOptions> = {}) {
  return new LakeProcessor({
    kinesis: stack.clients.kinesis,
    streamName: stack.config.STREAM_NAME,
    store,
    checkpoints,
    group,
    flushIntervalMs: 100,
    flushMaxRecords: 7, // small, so one run makes many objects and boundaries
    join: { allowedLatenessMs: 60_000 },
    ...extra,
  });
}

/** Runs a processor until every written record is flushed, then drains it. */
async function runUntilFlushed(p: LakeProcessor, written: PutResult[], flushed: FlushBatch[]) {
  const need = new Map<string, string>();
  for (const w of written) if (!need.has(w.shardId) || compareSeq(w.sequenceNumber, need.get(w.shardId)!) > 0) need.set(w.shardId, w.sequenceNumber);
  const running = p.run();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const [shard, seq] of need) if (flushed.some((b) => b.shardId === shard && compareSeq(b.lastSeq, seq) >= 0)) need.delete(shard);
    if (need.size === 0) break;
    await Promise.race([running, new Promise((r) => setTimeout(r, 50))]);
  }
  await p.stop();
  await running;
  expect(need.size).toBe(0);
}

async function lakeSnapshot(of = store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const prefix of ['tables/', 'raw/', 'errors/']) for (const { key } of await of.list(prefix)) out.set(key, createHash('sha256').update(await of.getBytes(key)).digest('hex'));
  return out;
}

const query = (sql: string) => queryDuckDb(sql, { s3: stack.clients.s3, bucket: stack.config.LAKE_BUCKET, cacheDir: `${stack.s3Directory}-cache` });

describe('lake processor on the local stack', () => {
  const { records, incidents } = demoScenario(T0);
  const bad = { raw: new TextEncoder().encode('{"v":1,"kind":"receipt","note":"no ids"}'), key: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-api-cpu-high' };
  let written: PutResult[] = [];
  let firstRun: Map<string, string>;

  it('writes every event once, enriched, partitioned by day, and answers the seed query', async () => {
    written = await put([...records, records[3], bad]); // a redelivered record and a malformed one
    const flushed: FlushBatch[] = [];
    await runUntilFlushed(processor('lake', { onFlush: (b) => flushed.push(b) }), written, flushed);

    const counts = await query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events');
    expect(counts.rows[0]).toEqual([String(records.length - 1), String(records.length - 1)]); // the scenario's own duplicate and the redelivery are dropped
    const days = await query('SELECT DISTINCT dt FROM events ORDER BY dt');
    expect(days.rows.map((r) => r[0])).toEqual(['2026-11-27', '2026-11-28']);

    const seed = await query(SEED);
    const opened = seed.rows.map(([inc, channel, status]) => `${incidents.findIndex((i) => i.incident_id === inc) + 1}:${channel}:${status}`).sort();
    expect(opened).toEqual(['1:email:opened', '2:whatsapp:opened', '3:whatsapp:opened']);

    const joined = await query("SELECT count(*) FROM alert_events WHERE kind = 'receipt' AND join_status <> 'matched'");
    expect(joined.rows[0][0]).toBe('0'); // including the receipt that overtook its dispatch

    const inc = await query(`SELECT first_opened_at IS NOT NULL, acknowledged_at IS NOT NULL, escalated_at IS NOT NULL, resolved_at IS NOT NULL FROM incidents WHERE incident_id = '${incidents[0].incident_id}'`);
    expect(inc.rows[0]).toEqual([true, true, false, true]);

    const errors = await store.list('errors/');
    expect(errors).toHaveLength(1);
    const line = JSON.parse(new TextDecoder().decode(await store.getBytes(errors[0].key)));
    expect(line.reason).toMatch(/invalid stream record at event_id/);
    expect(Buffer.from(line.data_base64, 'base64').toString()).toBe('{"v":1,"kind":"receipt","note":"no ids"}');

    const raw = await query('SELECT count(*) FROM raw_records');
    expect(raw.rows[0][0]).toBe(String(written.length));
    firstRun = await lakeSnapshot();
  });

  it('a crash between the S3 write and the checkpoint loses nothing and duplicates nothing', async () => {
    // The same stream, read by a second group into a second, empty lake: it must come out identical.
    const bucket = `${stack.config.LAKE_BUCKET}-crash`;
    await stack.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const crashLake = new LakeStore(stack.clients.s3, bucket);
    const crashing = processor('lake-crash', {
      store: crashLake,
      beforeCheckpoint: (b) => {
        if (b.records > 0) throw new Error('simulated crash after the objects were written');
      },
    });
    await expect(crashing.run()).rejects.toThrow(/simulated crash/);
    const afterCrash = await checkpoints.get('lake-crash', written[0].shardId);
    expect(afterCrash?.data).toMatchObject({ pendingEnd: expect.any(String) });

    const flushed: FlushBatch[] = [];
    const beforeRestart = await lakeSnapshot(crashLake);
    expect(beforeRestart.size).toBeGreaterThan(0); // the crashed flush's objects are there, unacknowledged
    await runUntilFlushed(processor('lake-crash', { store: crashLake, onFlush: (b) => flushed.push(b) }), written, flushed);
    expect(flushed.some((b) => b.firstSeq === written.find((w) => w.shardId === b.shardId)!.sequenceNumber)).toBe(true); // redone from the start
    expect(await lakeSnapshot(crashLake)).toEqual(firstRun); // same keys, same bytes: nothing added, nothing lost
  });

  it('a backfill rewrites the same objects; twice leaves the lake identical', async () => {
    const from = new Date(Date.now() - 3600_000);
    const to = new Date(Date.now() + 60_000);
    const opts = { kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME, store, from, to, flushMaxRecords: 7, join: { allowedLatenessMs: 60_000 } };
    const lines: string[] = [];
    const first = await backfill({ ...opts, progress: (l) => lines.push(l) });
    expect(first.records).toBe(written.length);
    expect(lines.length).toBeGreaterThan(0);
    const once = await lakeSnapshot();
    const second = await backfill(opts);
    expect(second.keys).toEqual(first.keys);
    expect(await lakeSnapshot()).toEqual(once);
    expect(once).toEqual(firstRun); // and the same bytes the live processor wrote
  });

  it('a backfill past the stream retention replays from the raw archive', async () => {
    const from = new Date(Date.now() - 3600_000);
    const to = new Date(Date.now() + 60_000);
    const report = await backfill({ kinesis: stack.clients.kinesis, streamName: 'no-such-stream', store, from, to, flushMaxRecords: 7, join: { allowedLatenessMs: 60_000 } });
    expect(report.onlyInStream).toBe(0);
    expect(report.inArchive).toBe(written.length);
    expect(report.records).toBe(written.length);
    expect(await lakeSnapshot()).toEqual(firstRun);
  });
});
