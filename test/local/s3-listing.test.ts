import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { decodeListToken, encodeListToken } from '../../infra/local/engines.js';
import { EventJoin } from '../../processors/lake/join.js';
import { flushRecords } from '../../processors/lake/flush.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { backfill } from '../../processors/lake/backfill.js';
import type { LakeObject } from '../../processors/lake/objects.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { T0, asShardRecords, dispatch } from '../fixtures/records.js';

/**
 * s3rver builds ListObjectsV2 continuation tokens with DES, which Node 20's OpenSSL 3 refuses: every
 * listing past 1,000 keys answered 500 (after ~8 h of a running stack, `make query` and `make backfill`
 * failed). The local stack pages listings itself (infra/local/engines.ts). Here: a bucket of 10,000
 * objects, listed, queried and backfilled through the real code paths.
 *
 * The bucket: 20 one-record flushes of one shard on 2026-11-28 (20 event + 20 raw objects, put through
 * the S3 API), and 9,960 event objects of another shard on 2026-11-27 — hours of lake, written straight
 * into s3rver's store (a PutObject costs ~9 ms here; the store ~0.5 ms). The query and the backfill
 * list those prefixes (the 28th sorts after the 9,960 keys of the 27th) but only read the 20 flushes.
 */
const FLUSHES = 20;
const FILLER = 9_960;
const TOTAL = 2 * FLUSHES + FILLER;
const DAY = '2026-11-28';
const JOIN = { allowedLatenessMs: 60_000 };

interface FilesystemStore {
  putObject(object: unknown): Promise<unknown>;
}

/** Writes objects straight into s3rver's filesystem store (the layout s3rver reads), concurrently. */
async function seedStore(
  directory: string,
  bucket: string,
  objects: readonly { key: string; body: Uint8Array }[],
  concurrency = 32,
) {
  const require = createRequire(import.meta.url);
  const Store = require('s3rver/lib/stores/filesystem') as new (dir: string) => FilesystemStore;
  const S3Object = require('s3rver/lib/models/object') as new (
    bucket: string,
    key: string,
    content: Buffer,
    metadata: Record<string, string>,
  ) => unknown;
  const store = new Store(directory);
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const o = objects[next++];
      await store.putObject(
        new S3Object(bucket, o.key, Buffer.from(o.body), { 'content-type': 'application/vnd.apache.parquet' }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const sha = async (s3: S3Client, bucket: string, key: string) =>
  createHash('sha256')
    .update(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray())
    .digest('hex');

describe('S3 listings past 1,000 keys (local stack)', () => {
  let stack: LocalStack;
  let bucket: string;
  let store: LakeStore;
  const lakeObjects: LakeObject[] = [];
  const allKeys: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ shards: 1 });
    bucket = stack.config.LAKE_BUCKET;
    store = new LakeStore(stack.clients.s3, bucket);
    // What the live path writes with one-record batches: the same flush code, one join.
    const join = new EventJoin(JOIN);
    const records = asShardRecords(Array.from({ length: FLUSHES }, (_, i) => dispatch(`SM${i}`, T0 + i * 1000)));
    for (const r of records)
      lakeObjects.push(...flushRecords(r.shardId, join, [{ ...r, arrivalTime: r.arrivalTime + 500 }]).objects);
    await store.putAll(lakeObjects);
    const filler = Array.from({ length: FILLER }, (_, i) => ({
      key: `tables/events/dt=2026-11-27/shardId-000000000007-${1000 + i}-${1000 + i}.parquet`,
      body: lakeObjects[0].body,
    }));
    await seedStore(stack.s3Directory, bucket, filler);
    allKeys.push(...[...lakeObjects, ...filler].map((o) => o.key).sort());
  }, 60_000);

  afterAll(() => stack?.stop());

  it('lists every key once, in order, across pages (ContinuationToken, MaxKeys, StartAfter)', async () => {
    const listed = await store.list('');
    expect(listed).toHaveLength(TOTAL);
    expect(listed.map((o) => o.key)).toEqual(allKeys);

    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const res = await stack.clients.s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          StartAfter: token ? undefined : allKeys[8_499],
          MaxKeys: 3_000,
          ContinuationToken: token,
        }),
      );
      pages.push((res.Contents ?? []).map((o) => o.Key!));
      expect(res.KeyCount).toBe(pages.at(-1)!.length);
      if (token) expect(res.ContinuationToken).toBe(token);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    expect(pages.map((p) => p.length)).toEqual([1_000, 500]); // MaxKeys is capped at 1,000, as on S3
    expect(pages.flat()).toEqual(allKeys.slice(8_500));
  });

  it('refuses a token it did not issue (400 InvalidArgument), and tokens are bucket-bound', async () => {
    expect(decodeListToken(bucket, encodeListToken(bucket, 'raw/x'))).toBe('raw/x');
    expect(decodeListToken('other-bucket', encodeListToken(bucket, 'raw/x'))).toBeUndefined();
    const err = await stack.clients.s3
      .send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'bm90LWEtdG9rZW4' }))
      .then(
        () => undefined,
        (e: { name: string; $metadata?: { httpStatusCode?: number } }) => ({
          name: e.name,
          status: e.$metadata?.httpStatusCode,
        }),
      );
    expect(err).toEqual({ name: 'InvalidArgument', status: 400 });
  });

  it('`make query` reads a partition listed past the first 1,000 keys', async () => {
    const result = await queryDuckDb(
      `SELECT count(*) AS n, count(DISTINCT event_id) AS ids, min(dt) AS d FROM events WHERE dt = '${DAY}'`,
      {
        s3: stack.clients.s3,
        bucket,
        cacheDir: stack.config.QUERY_CACHE_DIR,
      },
    );
    expect(result.rows).toEqual([[String(FLUSHES), String(FLUSHES), DAY]]);
    expect(result.fetched).toBe(FLUSHES); // the 9,960 objects of the 27th were listed, not fetched
  }, 30_000);

  it('`make backfill` replays a day past a prefix of 9,960 keys and rewrites the same objects', async () => {
    const report = await backfill({
      kinesis: stack.clients.kinesis,
      streamName: 'no-such-stream',
      store,
      from: new Date(`${DAY}T00:00:00Z`),
      to: new Date(`${DAY}T23:59:59Z`),
      join: JOIN,
    });
    expect(report).toMatchObject({
      records: FLUSHES,
      inArchive: FLUSHES,
      rows: FLUSHES,
      errors: 0,
      objectsWritten: 2 * FLUSHES,
      objectsDeleted: 0,
    });
    expect(report.keys).toEqual(lakeObjects.map((o) => o.key).sort());
    const want = (o: LakeObject) => createHash('sha256').update(o.body).digest('hex');
    for (const o of lakeObjects) expect(await sha(stack.clients.s3, bucket, o.key)).toBe(want(o));
  }, 30_000);
});
