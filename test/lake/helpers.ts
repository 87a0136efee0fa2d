import { createHash } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { LocalStack } from '../helpers/local-stack.js';
import { ShardReader } from '../../processors/consumer/shard-reader.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { createLakeHandler, type LakeHandlerOptions } from '../../processors/lake/handler.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { encodeRecord, partitionKeyOf } from '../../schemas/envelope.js';
import { demoScenario } from '../fixtures/lake-scenario.js';
import {
  toKinesisStreamRecord,
  type KinesisStreamEvent,
  type ShardRecord,
} from '../../processors/runtime/kinesis-event.js';

/** Helpers for the lake tests on the local stack: read a shard, build Lambda events, fresh lakes, lake fingerprints. */

/** Every record of a shard, from TRIM_HORIZON to its end or the tip (real sequence numbers and arrival times). */
export async function readShard(stack: LocalStack, shardId: string): Promise<ShardRecord[]> {
  const reader = new ShardReader({
    kinesis: stack.clients.kinesis,
    streamName: stack.config.STREAM_NAME,
    shardId,
    start: { type: 'TRIM_HORIZON' },
    minCallIntervalMs: 0,
    idleDelayMs: 0,
  });
  const out: ShardRecord[] = [];
  for (;;) {
    const { records, ended, millisBehindLatest } = await reader.next();
    out.push(...records);
    if (ended || (records.length === 0 && (millisBehindLatest ?? 0) === 0)) return out;
  }
}

/** A Lambda Kinesis event of these records, as the mapping builds it. */
export function eventOf(stack: LocalStack, records: readonly ShardRecord[]): KinesisStreamEvent {
  const streamArn = `arn:aws:kinesis:${stack.config.AWS_REGION}:000000000000:stream/${stack.config.STREAM_NAME}`;
  return {
    Records: records.map((r) =>
      toKinesisStreamRecord(r, { streamArn, region: stack.config.AWS_REGION, functionName: 'lake' }),
    ),
  };
}

let lakes = 0;

/** A new, empty lake bucket and a handler writing to it (its own head group). */
export async function freshLake(stack: LocalStack, extra: Partial<LakeHandlerOptions> = {}) {
  const name = `${stack.config.LAKE_BUCKET}-${++lakes}`;
  await stack.clients.s3.send(new CreateBucketCommand({ Bucket: name }));
  const store = new LakeStore(stack.clients.s3, name);
  const heads = new CheckpointStore({ dynamodb: stack.clients.dynamodb, table: stack.config.CHECKPOINT_TABLE });
  const headGroup = `lake-head-${lakes}`;
  const options: LakeHandlerOptions = {
    store,
    heads,
    headGroup,
    kinesis: stack.clients.kinesis,
    streamName: stack.config.STREAM_NAME,
    join: { allowedLatenessMs: 60_000 },
    ...extra,
  };
  return { bucket: name, store, heads, headGroup, options, handler: createLakeHandler(options) };
}

/**
 * The demo scenario (test/fixtures/lake-scenario.ts) at `t0`, put on the stream and written by a fresh lake in one
 * batch (the stream must have one shard): the lake, and the scenario's incidents.
 */
export async function lakeOfDemoScenario(stack: LocalStack, t0: number) {
  const scenario = demoScenario(t0);
  const producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
  const put = await producer.putRecords(
    scenario.records.map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) })),
  );
  const lake = await freshLake(stack);
  const out = await lake.handler(eventOf(stack, await readShard(stack, put[0].shardId)));
  if (out.batchItemFailures.length > 0) throw new Error(`the lake failed the scenario: ${JSON.stringify(out)}`);
  return { lake, incidents: scenario.incidents };
}

/** Every object of the lake's tables, raw archive and errors: key → sha256 of its bytes. */
export async function lakeSnapshot(store: LakeStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const prefix of ['tables/', 'raw/', 'errors/'])
    for (const { key } of await store.list(prefix))
      out.set(
        key,
        createHash('sha256')
          .update(await store.getBytes(key))
          .digest('hex'),
      );
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * A lake snapshot with the abandon epoch taken out of its keys (`-e<n>`): a run that abandoned a
 * flush names its later flushes in a new epoch, and is compared with a run that did not. Two keys
 * that differ only by their epoch (an orphan next to its committed twin) fail the comparison.
 */
export function withoutEpochs(snapshot: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, hash] of snapshot) {
    const plain = key.replace(/-e\d+(\.[a-z]+)$/, '$1');
    if (out.has(plain)) throw new Error(`two objects for one range: ${plain} (epochs)`);
    out.set(plain, hash);
  }
  return out;
}

/** SQL over one lake bucket (DuckDB over a local cache). */
export function queryLake(stack: LocalStack, bucket: string, sql: string) {
  return queryDuckDb(sql, { s3: stack.clients.s3, bucket, cacheDir: `${stack.s3Directory}-cache-${bucket}` });
}
