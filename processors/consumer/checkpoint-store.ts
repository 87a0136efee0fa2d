import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from '../../platform/aws-errors.js';
import { CheckpointConflictError, CheckpointCorruptError } from './errors.js';

export { CheckpointConflictError, CheckpointCorruptError } from './errors.js';

/** A consumer group's position in one shard. */
export interface Checkpoint {
  /** Last record whose output is durable: resume AFTER_SEQUENCE_NUMBER it. */
  sequenceNumber?: string;
  /** The shard was closed and fully processed (startFor answers SHARD_END). */
  ended?: boolean;
  /** Optimistic-concurrency version: 1 for the first write, +1 per write. */
  version: number;
  /** ISO-8601 time of the write. */
  updatedAt: string;
  /** Opaque JSON for the owner (e.g. pending flush boundary, state object key); keep it small
   * (the whole item must stay under DynamoDB's 400 KB). */
  data?: Record<string, unknown>;
}

/** What a caller writes; version and updatedAt are set by the store. */
export type CheckpointWrite = Omit<Checkpoint, 'version' | 'updatedAt'> & { updatedAt?: string };

export interface CheckpointStoreOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  /** Key schema: HASH `pk` (S) = group, RANGE `sk` (S) = shardId. */
  table: string;
}

/**
 * Checkpoints in DynamoDB, one item per (consumer group, shard), written with a conditional put on
 * `version` (optimistic concurrency): put(…, expectedVersion) succeeds only if the stored version
 * is expectedVersion, a first write (expectedVersion undefined) only if no item exists; otherwise
 * CheckpointConflictError. Reads are strongly consistent.
 *
 * Item: pk, sk, version (N), updatedAt (S), sequenceNumber (S, optional), ended (BOOL, optional),
 * data (S: JSON text, optional — stored as text so any JSON round-trips unchanged).
 */
export class CheckpointStore {
  private readonly dynamodb: Pick<DynamoDBClient, 'send'>;
  readonly table: string;

  constructor(options: CheckpointStoreOptions) {
    this.dynamodb = options.dynamodb;
    this.table = options.table;
  }

  async get(group: string, shardId: string): Promise<Checkpoint | undefined> {
    const out = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.table, Key: key(group, shardId), ConsistentRead: true }),
    );
    return out.Item ? fromItem(group, shardId, out.Item) : undefined;
  }

  /** Every checkpoint of a group, by shard id (paginated Query on pk). */
  async list(group: string): Promise<Map<string, Checkpoint>> {
    const result = new Map<string, Checkpoint>();
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: group } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const shardId = item.sk?.S ?? '';
        result.set(shardId, fromItem(group, shardId, item));
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return result;
  }

  /**
   * Writes the checkpoint if the stored version is `expectedVersion` (or, when undefined, if there
   * is none yet). Resolves with the stored checkpoint (version = expectedVersion + 1, or 1).
   */
  async put(
    group: string,
    shardId: string,
    checkpoint: CheckpointWrite,
    expectedVersion?: number,
  ): Promise<Checkpoint> {
    if (expectedVersion !== undefined && !(Number.isSafeInteger(expectedVersion) && expectedVersion >= 1)) {
      throw new RangeError(`expectedVersion must be a positive integer, got ${expectedVersion}`);
    }
    const stored: Checkpoint = {
      ...(checkpoint.sequenceNumber !== undefined ? { sequenceNumber: checkpoint.sequenceNumber } : {}),
      ...(checkpoint.ended !== undefined ? { ended: checkpoint.ended } : {}),
      version: (expectedVersion ?? 0) + 1,
      updatedAt: checkpoint.updatedAt ?? new Date().toISOString(),
      ...(checkpoint.data !== undefined ? { data: checkpoint.data } : {}),
    };
    const item: Record<string, AttributeValue> = {
      ...key(group, shardId),
      version: { N: String(stored.version) },
      updatedAt: { S: stored.updatedAt },
    };
    if (stored.sequenceNumber !== undefined) item.sequenceNumber = { S: stored.sequenceNumber };
    if (stored.ended !== undefined) item.ended = { BOOL: stored.ended };
    if (stored.data !== undefined) item.data = { S: JSON.stringify(stored.data) };
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#v = :expected',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
              }),
        }),
      );
    } catch (err) {
      throw await this.conflictOr(err, group, shardId, expectedVersion);
    }
    return stored;
  }

  /** A failed condition becomes a CheckpointConflictError naming the stored version; other errors pass through. */
  private async conflictOr(
    err: unknown,
    group: string,
    shardId: string,
    expectedVersion: number | undefined,
  ): Promise<unknown> {
    if (!isConditionFailure(err)) return err;
    const actual = await this.get(group, shardId).catch(() => undefined);
    return new CheckpointConflictError(group, shardId, expectedVersion, actual?.version, { cause: err });
  }

  /** Deletes the checkpoint (e.g. of a shard trimmed past retention), conditionally on its version. */
  async delete(group: string, shardId: string, expectedVersion: number): Promise<void> {
    try {
      await this.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: key(group, shardId),
          ConditionExpression: '#v = :expected',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
        }),
      );
    } catch (err) {
      throw await this.conflictOr(err, group, shardId, expectedVersion);
    }
  }
}

function key(group: string, shardId: string): Record<string, AttributeValue> {
  return { pk: { S: group }, sk: { S: shardId } };
}

function fromItem(group: string, shardId: string, item: Record<string, AttributeValue>): Checkpoint {
  const version = Number(item.version?.N);
  if (!Number.isSafeInteger(version) || version < 1)
    throw new CheckpointCorruptError(group, shardId, 'missing or bad version');
  const checkpoint: Checkpoint = { version, updatedAt: item.updatedAt?.S ?? '' };
  if (item.sequenceNumber?.S !== undefined) checkpoint.sequenceNumber = item.sequenceNumber.S;
  if (item.ended?.BOOL !== undefined) checkpoint.ended = item.ended.BOOL;
  if (item.data?.S !== undefined) {
    try {
      checkpoint.data = JSON.parse(item.data.S) as Record<string, unknown>;
    } catch (cause) {
      throw new CheckpointCorruptError(group, shardId, 'data is not JSON', { cause });
    }
  }
  return checkpoint;
}
