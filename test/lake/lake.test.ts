import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import type { Config } from '../../platform/config.js';
import { encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';
import { KinesisProducer, type PutResult } from '../../platform/stream/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { backfill } from '../../processors/lake/backfill.js';
import { replayFailures } from '../../processors/lake/replay-failures.js';
import { FAILURE_PREFIX } from '../../processors/lake/failures.js';
import { createLakeService, type LakeServiceOptions } from '../../processors/lake/service.js';
import { demoScenario } from '../fixtures/lake-scenario.js';
import { DAY_MS, beforeMidnight, utcDay } from '../helpers/clock.js';
import { lakeSnapshot, queryLake } from './helpers.js';

/**
 * The event backbone end to end on the real engines: producer → Kinesis (kinesalite) → the local
 * event source mapping → lake handler → S3 (s3rver), heads and checkpoints in DynamoDB (dynalite) →
 * SQL on DuckDB; then the backfill (byte-identical to the live path) and the replay of a batch the
 * mapping gave up on (its on-failure record under failures/lake/).
 */
const SEED =
  "SELECT incident_id, channel, status FROM alert_events WHERE status = 'opened' AND timestamp < escalation_time";

let stack: LocalStack;
let store: LakeStore;
let checkpoints: CheckpointStore;
let producer: KinesisProducer;
const T0 = beforeMidnight(10); // crosses midnight: two dt partitions
const JOIN = { allowedLatenessMs: 60_000 };

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
const isRaw = (r: StreamRecordIn | RawEntry): r is RawEntry =>
  r instanceof Object && 'raw' in r && r.raw instanceof Uint8Array;

async function put(records: (StreamRecordIn | RawEntry)[]): Promise<PutResult[]> {
  return producer.putRecords(
    records.map((r) =>
      isRaw(r) ? { data: r.raw, partitionKey: r.key } : { data: encodeRecord(r), partitionKey: partitionKeyOf(r) },
    ),
  );
}

/** The lake service on the test stack: batches of 7 (many objects and boundaries), fast polls. */
function service(config: Partial<Config> = {}, extra: Omit<LakeServiceOptions, 'config' | 'clients'> = {}) {
  return createLakeService({
    config: { ...stack.config, FLUSH_MAX_ROWS: 7, ...config },
    clients: stack.clients,
    ...extra,
    handler: { join: JOIN, ...extra.handler },
    mapping: {
      pollIntervalMs: 20,
      maximumBatchingWindowMs: 0,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 50,
      ...extra.mapping,
    },
  });
}

async function runUntilCaughtUp(s: ReturnType<typeof service>) {
  const running = s.mapping.run();
  try {
    await s.mapping.waitCaughtUp(30_000);
  } finally {
    await s.mapping.stop();
    await running;
  }
}

describe('lake handler behind the local event source mapping', () => {
  const { records, incidents } = demoScenario(T0);
  const bad = {
    raw: new TextEncoder().encode('{"v":1,"kind":"receipt","note":"no ids"}'),
    key: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-api-cpu-high',
  };
  let written: PutResult[] = [];
  let firstRun: Map<string, string>;
  const query = (sql: string) => queryLake(stack, stack.config.LAKE_BUCKET, sql);

  it('writes every event once, enriched, partitioned by day, and answers the seed query', async () => {
    written = await put([...records, records[3], bad]); // a redelivered record and a malformed one
    await runUntilCaughtUp(service());

    const counts = await query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events');
    // the scenario's own duplicate and the redelivery are dropped
    expect(counts.rows[0]).toEqual([String(records.length - 1), String(records.length - 1)]);
    const days = await query('SELECT DISTINCT dt FROM events ORDER BY dt');
    expect(days.rows.map((r) => r[0])).toEqual([utcDay(T0), utcDay(T0 + DAY_MS)]);

    const seed = await query(SEED);
    const opened = seed.rows
      .map(([inc, channel, status]) => `${incidents.findIndex((i) => i.incident_id === inc) + 1}:${channel}:${status}`)
      .sort();
    expect(opened).toEqual(['1:email:opened', '2:whatsapp:opened', '3:whatsapp:opened']);

    const joined = await query("SELECT count(*) FROM alert_events WHERE kind = 'receipt' AND join_status <> 'matched'");
    expect(joined.rows[0][0]).toBe('0'); // including the receipt that overtook its dispatch

    const inc = await query(
      `SELECT first_opened_at IS NOT NULL, acknowledged_at IS NOT NULL, escalated_at IS NOT NULL, ` +
        `resolved_at IS NOT NULL FROM incidents WHERE incident_id = '${incidents[0].incident_id}'`,
    );
    expect(inc.rows[0]).toEqual([true, true, false, true]);

    const errors = await store.list('errors/');
    expect(errors).toHaveLength(1);
    const line = JSON.parse(new TextDecoder().decode(await store.getBytes(errors[0].key)));
    expect(line.reason).toMatch(/invalid stream record at event_id/);
    expect(Buffer.from(line.data_base64, 'base64').toString()).toBe('{"v":1,"kind":"receipt","note":"no ids"}');

    const raw = await query('SELECT count(*) FROM raw_records');
    expect(raw.rows[0][0]).toBe(String(written.length));
    expect((await checkpoints.list('lake-head')).size).toBe(2);
    expect(await store.list(FAILURE_PREFIX)).toEqual([]);
    firstRun = await lakeSnapshot(store);
  });

  it('a backfill rewrites the same objects; twice leaves the lake identical', async () => {
    const from = new Date(Date.now() - 3600_000);
    const to = new Date(Date.now() + 60_000);
    const opts = {
      kinesis: stack.clients.kinesis,
      streamName: stack.config.STREAM_NAME,
      store,
      heads: checkpoints,
      from,
      to,
      flushMaxRecords: 7,
      join: JOIN,
    };
    const lines: string[] = [];
    const first = await backfill({ ...opts, progress: (l) => lines.push(l) });
    expect(first.records).toBe(written.length);
    expect(lines.length).toBeGreaterThan(0);
    const once = await lakeSnapshot(store);
    const second = await backfill(opts);
    expect(second.keys).toEqual(first.keys);
    expect(await lakeSnapshot(store)).toEqual(once);
    expect(once).toEqual(firstRun); // and the same bytes the live path wrote
  });

  it('a backfill past the stream retention replays from the raw archive', async () => {
    const from = new Date(Date.now() - 3600_000);
    const to = new Date(Date.now() + 60_000);
    const report = await backfill({
      kinesis: stack.clients.kinesis,
      streamName: 'no-such-stream',
      store,
      heads: checkpoints,
      from,
      to,
      flushMaxRecords: 7,
      join: JOIN,
    });
    expect(report.onlyInStream).toBe(0);
    expect(report.inArchive).toBe(written.length);
    expect(report.records).toBe(written.length);
    expect(await lakeSnapshot(store)).toEqual(firstRun);
  });

  it('a batch the mapping gives up on goes to failures/lake/ and `backfill FAILURES` replays exactly it', async () => {
    const bucket = `${stack.config.LAKE_BUCKET}-failing`;
    await stack.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const lake = new LakeStore(stack.clients.s3, bucket);
    const poison = written[10];
    const failing = service(
      { LAKE_BUCKET: bucket, CONSUMER_GROUP: 'lake-failing' },
      {
        handler: {
          beforeCommit: async (b) => {
            const poisoned =
              b.shardId === poison.shardId &&
              compareSequenceNumbers(b.firstSeq, poison.sequenceNumber) <= 0 &&
              compareSequenceNumbers(poison.sequenceNumber, b.lastSeq) <= 0;
            if (poisoned) throw new Error('simulated persistent failure');
          },
        },
        mapping: { maximumRetryAttempts: 1 },
      },
    );
    await runUntilCaughtUp(failing);

    const failures = await lake.list(FAILURE_PREFIX);
    expect(failures).toHaveLength(1);
    const record = JSON.parse(new TextDecoder().decode(await lake.getBytes(failures[0].key)));
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetryAttemptsExhausted' },
      KinesisBatchInfo: { shardId: poison.shardId },
    });
    const info = record.KinesisBatchInfo;
    expect(failures[0].key).toBe(
      `${FAILURE_PREFIX}${info.shardId}-${info.startSequenceNumber}-${info.endSequenceNumber}.json`,
    );
    const name = `${info.shardId}-${info.startSequenceNumber}-${info.endSequenceNumber}`;
    const before = await lakeSnapshot(lake);
    expect([...before.keys()].some((k) => k.includes(name))).toBe(false); // the abandoned flush's objects were deleted
    const missing = await queryLake(stack, bucket, 'SELECT count(*) FROM raw_records');
    expect(Number(missing.rows[0][0])).toBe(written.length - info.batchSize);

    const opts = {
      kinesis: stack.clients.kinesis,
      streamName: stack.config.STREAM_NAME,
      store: lake,
      heads: checkpoints,
      group: 'lake-failing-head',
      join: JOIN,
    };
    const [replay] = await replayFailures(opts);
    expect(replay).toMatchObject({
      shardId: info.shardId,
      records: info.batchSize,
      committed: 0,
      firstSeq: info.startSequenceNumber,
      lastSeq: info.endSequenceNumber,
    });
    expect(replay.keys.every((k) => k.includes(name))).toBe(true);
    const raw = await queryLake(stack, bucket, 'SELECT count(*), count(DISTINCT sequence_number) FROM raw_records');
    expect(raw.rows[0]).toEqual([String(written.length), String(written.length)]);
    const ids = async (b: string) =>
      (await queryLake(stack, b, 'SELECT DISTINCT event_id FROM events ORDER BY 1')).rows.map((r) => r[0]);
    expect(await ids(bucket)).toEqual(await ids(stack.config.LAKE_BUCKET)); // nothing lost
    const once = await lakeSnapshot(lake);
    await replayFailures(opts);
    expect(await lakeSnapshot(lake)).toEqual(once); // a second replay rewrites the same bytes
  });
});
