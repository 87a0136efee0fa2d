/**
 * CheckpointStore against dynalite: conditional writes (optimistic concurrency) of the per-shard
 * checkpoints the local event source mapping and the lake keep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CheckpointStore, type Checkpoint } from '../../processors/consumer/checkpoint-store.js';
import { CheckpointConflictError } from '../../processors/consumer/errors.js';
import { localDynamo, startDynalite, type RunningEngine } from '../helpers/kinesis-engines.js';

describe('CheckpointStore on dynalite', () => {
  let engine: RunningEngine;
  let dynamodb: DynamoDBClient;
  let store: CheckpointStore;
  const table = 'pagetrail-checkpoints-test';

  beforeAll(async () => {
    engine = await startDynalite();
    dynamodb = localDynamo(engine.endpoint);
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    store = new CheckpointStore({ dynamodb, table });
  });

  afterAll(async () => {
    dynamodb?.destroy();
    await engine?.stop();
  });

  it('writes versions conditionally (optimistic concurrency)', async () => {
    expect(await store.get('lake', 'shardId-000000000000')).toBeUndefined();
    const data = { pending: { key: 'k/1', rows: 3 }, n: 1.5, s: '' };
    const v1 = await store.put('lake', 'shardId-000000000000', { sequenceNumber: '100', data });
    expect(v1).toMatchObject({ version: 1, sequenceNumber: '100' });
    expect(await store.get('lake', 'shardId-000000000000')).toEqual(v1);

    // A second "first write" conflicts.
    const first = await store.put('lake', 'shardId-000000000000', { sequenceNumber: '999' }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(CheckpointConflictError);
    expect(first).toMatchObject({ expectedVersion: undefined, actualVersion: 1 });

    const v2 = await store.put('lake', 'shardId-000000000000', { sequenceNumber: '200', ended: true }, 1);
    expect(v2.version).toBe(2);
    const stale = await store
      .put('lake', 'shardId-000000000000', { sequenceNumber: '150' }, 1)
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(CheckpointConflictError);
    expect(stale).toMatchObject({
      group: 'lake',
      shardId: 'shardId-000000000000',
      expectedVersion: 1,
      actualVersion: 2,
    });
    const got = (await store.get('lake', 'shardId-000000000000')) as Checkpoint;
    expect(got).toMatchObject({ version: 2, sequenceNumber: '200', ended: true });
    expect(got.data).toBeUndefined();

    // Versions on a shard nobody wrote: conflict with no actual version.
    await expect(store.put('lake', 'shardId-000000000009', {}, 3)).rejects.toMatchObject({
      name: 'CheckpointConflictError',
      actualVersion: undefined,
    });
  });

  it('lets exactly one of two racing writers win', async () => {
    const base = await store.put('race', 'shardId-000000000001', { sequenceNumber: '1' });
    const results = await Promise.allSettled([
      store.put('race', 'shardId-000000000001', { sequenceNumber: '2' }, base.version),
      store.put('race', 'shardId-000000000001', { sequenceNumber: '3' }, base.version),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(CheckpointConflictError);
  });

  it('lists a group and keeps groups apart; deletes conditionally', async () => {
    await store.put('g2', 'shardId-000000000000', { sequenceNumber: '10' });
    await store.put('g2', 'shardId-000000000001', { ended: true });
    await store.put('g3', 'shardId-000000000000', { sequenceNumber: '77' });
    const g2 = await store.list('g2');
    expect([...g2.keys()].sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    expect(g2.get('shardId-000000000001')).toMatchObject({ ended: true, version: 1 });
    await expect(store.delete('g2', 'shardId-000000000000', 2)).rejects.toBeInstanceOf(CheckpointConflictError);
    await store.delete('g2', 'shardId-000000000000', 1);
    expect(await store.get('g2', 'shardId-000000000000')).toBeUndefined();
    expect((await store.get('g3', 'shardId-000000000000'))?.sequenceNumber).toBe('77');
  });
});
