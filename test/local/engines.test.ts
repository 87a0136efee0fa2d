import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordCommand,
  PutRecordsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { awsClients } from '../../platform/aws.js';
import {
  ensureStream,
  ensureTable,
  incidentsTableSpec,
  provisionAll,
  ProvisionError,
} from '../../infra/local/provision.js';
import { INCIDENT_LIST_INDEX } from '../../shared/incident-list-index.js';

async function putAndGetRecord(kinesis: KinesisClient, stream: string) {
  const data = randomBytes(512);
  const put = await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'alarm-1', Data: data }));
  expect(put.ShardId).toBeTruthy();
  expect(put.SequenceNumber).toBeTruthy();

  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: stream,
      ShardId: put.ShardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: put.SequenceNumber,
    }),
  );
  const got = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10 }));
  expect(got.Records?.length).toBeGreaterThanOrEqual(1);
  const rec = got.Records![0];
  expect(rec.SequenceNumber).toBe(put.SequenceNumber);
  expect(rec.PartitionKey).toBe('alarm-1');
  expect(Buffer.from(rec.Data!).equals(data)).toBe(true);
}

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('local stack (kinesalite, s3rver, dynalite)', () => {
  let stack: LocalStack;
  let tmp: string;

  beforeAll(async () => {
    stack = await startLocalStack();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'engines-test-'));
  });
  afterAll(async () => {
    await stack?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('provisions the stream, bucket and tables', () => {
    const p = stack.provisioned!;
    expect(p.stream).toMatchObject({
      name: stack.config.STREAM_NAME,
      created: true,
      status: 'ACTIVE',
      openShardCount: 2,
    });
    expect(p.bucket).toEqual({ name: stack.config.LAKE_BUCKET, created: true });
    expect(p.tables.checkpoint.created).toBe(true);
    expect(p.tables.ledger.created).toBe(true);
  });

  it('Kinesis: puts and gets a record', async () => {
    await putAndGetRecord(stack.clients.kinesis, stack.config.STREAM_NAME);
  });

  it('Kinesis: PutRecords spreads over shards', async () => {
    const out = await stack.clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: stack.config.STREAM_NAME,
        Records: Array.from({ length: 50 }, (_, i) => ({ PartitionKey: `pk-${i}`, Data: Buffer.from(`r${i}`) })),
      }),
    );
    expect(out.FailedRecordCount).toBe(0);
    expect(new Set(out.Records!.map((r) => r.ShardId)).size).toBe(2);
  });

  it('S3: bytes round-trip (buffer, file stream, Readable with length)', async () => {
    const { s3 } = stack.clients;
    const bucket = stack.config.LAKE_BUCKET;
    const body = randomBytes(300_000);

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/buffer.bin', Body: body }));
    expect((await getBytes(s3, bucket, 'raw/buffer.bin')).equals(body)).toBe(true);

    const file = path.join(tmp, 'part.parquet');
    fs.writeFileSync(file, body);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'raw/file stream.bin', Body: fs.createReadStream(file) }),
    );
    expect((await getBytes(s3, bucket, 'raw/file stream.bin')).equals(body)).toBe(true);

    const chunks = [body.subarray(0, 100_000), body.subarray(100_000, 250_000), body.subarray(250_000)];
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'raw/readable.bin',
        Body: Readable.from(chunks),
        ContentLength: body.length,
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'raw/readable.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect((await getBytes(s3, bucket, 'raw/readable.bin')).equals(body)).toBe(true);
  });

  it('S3: If-None-Match: * fails with 412 on an existing key and leaves it unchanged', async () => {
    const { s3 } = stack.clients;
    const bucket = stack.config.LAKE_BUCKET;
    const key = 'lake/dt=2026-11-28/part-0.parquet';
    const first = randomBytes(2048);

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: first, IfNoneMatch: '*' }));
    expect(
      await errorOf(
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(10), IfNoneMatch: '*' })),
      ),
    ).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    // a streamed body that is refused must not break the connection either
    const big = randomBytes(1_500_000);
    expect(
      await errorOf(
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: Readable.from([big]),
            ContentLength: big.length,
            IfNoneMatch: '*',
          }),
        ),
      ),
    ).toMatchObject({ status: 412 });
    expect((await getBytes(s3, bucket, key)).equals(first)).toBe(true);

    // If-Match: current ETag succeeds, a stale one fails
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('v2'), IfMatch: ETag }));
    expect(
      await errorOf(
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('v3'), IfMatch: ETag })),
      ),
    ).toMatchObject({
      status: 412,
    });
    expect((await getBytes(s3, bucket, key)).toString()).toBe('v2');
  });

  it("S3: LastModified comes from the engine's clock, not the file system's (a moved clock agrees)", async () => {
    const { s3 } = stack.clients;
    const bucket = stack.config.LAKE_BUCKET;
    // s3rver runs in this process: moving its Date while it writes moves the engine's clock, as faketime
    // moves the suite's (the kernel's file times stay put). Read back with the real clock.
    // The writes go through a client of their own: the SDK learns a clock skew from each answer.
    const ahead = Date.now() + 400 * 86_400_000;
    const writeAhead = async (write: (s3: S3Client) => Promise<unknown>) => {
      const client = awsClients(stack.config).s3;
      vi.useFakeTimers({ toFake: ['Date'], now: ahead });
      try {
        await write(client);
      } finally {
        vi.useRealTimers();
        client.destroy();
      }
    };
    const lastModified = async (Key: string) =>
      (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }))).LastModified!;
    await writeAhead((w) => w.send(new PutObjectCommand({ Bucket: bucket, Key: 'clock/put', Body: Buffer.from('x') })));
    expect(Math.abs((await lastModified('clock/put')).getTime() - ahead)).toBeLessThan(5_000);
    await writeAhead((w) =>
      w.send(new CopyObjectCommand({ Bucket: bucket, Key: 'clock/copy', CopySource: `${bucket}/clock/put` })),
    );
    expect(Math.abs((await lastModified('clock/copy')).getTime() - ahead)).toBeLessThan(5_000);
  });

  it('S3: CompleteMultipartUpload honours If-None-Match: *', async () => {
    const { s3 } = stack.clients;
    const Bucket = stack.config.LAKE_BUCKET;
    const Key = 'multipart/obj.bin';
    const upload = async (body: Buffer, conditional: boolean) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: body }));
      return s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] },
          ...(conditional ? { IfNoneMatch: '*' } : {}),
        }),
      );
    };
    const first = randomBytes(10_000);
    await upload(first, true);
    expect(await errorOf(upload(randomBytes(10_000), true))).toMatchObject({ status: 412 });
    expect((await getBytes(s3, Bucket, Key)).equals(first)).toBe(true);
  });

  it('S3: of concurrent If-None-Match: * writers exactly one wins', async () => {
    const { s3 } = stack.clients;
    const bucket = stack.config.LAKE_BUCKET;
    const bodies = Array.from({ length: 8 }, () => randomBytes(64_000));
    const results = await Promise.allSettled(
      bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'race/obj', Body, IfNoneMatch: '*' }))),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected')
        expect((r.reason as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(412);
    }
    expect((await getBytes(s3, bucket, 'race/obj')).equals(bodies[won[0]])).toBe(true);
  });

  it('DynamoDB: a conditional put on an existing key fails with ConditionalCheckFailedException', async () => {
    const { dynamodb } = stack.clients;
    const put = (attempt: string) =>
      dynamodb.send(
        new PutItemCommand({
          TableName: stack.config.LEDGER_TABLE,
          Item: { pk: { S: 'dispatch#a1' }, attempt: { S: attempt } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await put('first');
    expect((await errorOf(put('second'))).name).toBe('ConditionalCheckFailedException');
    const got = await dynamodb.send(
      new GetItemCommand({ TableName: stack.config.LEDGER_TABLE, Key: { pk: { S: 'dispatch#a1' } } }),
    );
    expect(got.Item?.attempt?.S).toBe('first');

    await dynamodb.send(
      new PutItemCommand({
        TableName: stack.config.CHECKPOINT_TABLE,
        Item: { pk: { S: 'lake#stream' }, sk: { S: 'shardId-000000000000' }, seq: { S: '1' } },
      }),
    );
  });

  it('provisioning twice is idempotent and keeps data', async () => {
    const again = await provisionAll(stack.config, stack.clients);
    expect(again.stream).toMatchObject({ created: false, status: 'ACTIVE', openShardCount: 2 });
    expect(again.bucket.created).toBe(false);
    expect(again.tables.checkpoint.created).toBe(false);
    expect(again.tables.ledger.created).toBe(false);
    // concurrent ensures of a new stream do not trip over each other
    const name = `${stack.config.STREAM_NAME}-x`;
    const [a, b] = await Promise.all([
      ensureStream(stack.clients.kinesis, name, 1),
      ensureStream(stack.clients.kinesis, name, 1),
    ]);
    expect([a.created, b.created].filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(a.status).toBe('ACTIVE');
    const got = await stack.clients.dynamodb.send(
      new GetItemCommand({ TableName: stack.config.LEDGER_TABLE, Key: { pk: { S: 'dispatch#a1' } } }),
    );
    expect(got.Item).toBeDefined();
  });

  it('provisioning rejects a table whose keys differ', async () => {
    await expect(
      ensureTable(stack.clients.dynamodb, {
        name: stack.config.LEDGER_TABLE,
        keySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        attributes: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    ).rejects.toThrow(ProvisionError);
  });

  it('the incidents table has its list index; one made before it is refused with what to do (dynalite)', async () => {
    const made = await stack.clients.dynamodb.send(
      new DescribeTableCommand({ TableName: stack.config.INCIDENTS_TABLE }),
    );
    expect(made.Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.IndexStatus])).toEqual([
      [INCIDENT_LIST_INDEX, 'ACTIVE'],
    ]);
    const old = `${stack.config.INCIDENTS_TABLE}-old`;
    await ensureTable(stack.clients.dynamodb, {
      name: old,
      keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      attributes: [{ AttributeName: 'pk', AttributeType: 'S' }],
    });
    await expect(ensureTable(stack.clients.dynamodb, incidentsTableSpec(old))).rejects.toThrow(
      /has no index byStatus and it could not be added .*`make clean`/,
    );
  });
});

describe('kinesis-local (kinesis-mock) conformance', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ kinesis: 'kinesis-local', shards: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('puts and gets a record', async () => {
    expect(stack.provisioned!.stream).toMatchObject({ status: 'ACTIVE', openShardCount: 1, created: true });
    await putAndGetRecord(stack.clients.kinesis, stack.config.STREAM_NAME);
  });

  it('provisioning twice is idempotent', async () => {
    const again = await ensureStream(stack.clients.kinesis, stack.config.STREAM_NAME, 1);
    expect(again.created).toBe(false);
  });
});
