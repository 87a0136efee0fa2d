import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { closedAt, type IncidentState } from './incident-state.js';
import { IncidentConflictError, IncidentCorruptError } from './errors.js';

/**
 * Paging state, one DynamoDB item per incident (INCIDENTS_TABLE, HASH key `pk` = incident id):
 * `version` (N) for optimistic concurrency, `state` (S, JSON), `ttl` (N, epoch s, DynamoDB TTL).
 * Nothing is tied to a shard. An item expires `retainClosedS` after the incident was acked or
 * resolved, and `maxOpenS` after it opened in any case (an incident nobody closes stops costing).
 */
export interface IncidentStoreOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
  /** Seconds an acked or resolved incident is kept. Default 7 days (late receipts still join). */
  retainClosedS?: number;
  /** Seconds an incident is kept at most. Default 30 days. */
  maxOpenS?: number;
}

export interface StoredIncident {
  state: IncidentState;
  version: number;
}

export class IncidentStore {
  private readonly dynamodb: Pick<DynamoDBClient, 'send'>;
  private readonly table: string;
  private readonly retainClosedS: number;
  private readonly maxOpenS: number;

  constructor(opts: IncidentStoreOptions) {
    this.dynamodb = opts.dynamodb;
    this.table = opts.table;
    this.retainClosedS = opts.retainClosedS ?? 7 * 86_400;
    this.maxOpenS = opts.maxOpenS ?? 30 * 86_400;
  }

  async get(incidentId: string): Promise<StoredIncident | undefined> {
    const out = await this.dynamodb.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: incidentId } }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    try {
      return { state: JSON.parse(out.Item.state!.S!) as IncidentState, version: Number(out.Item.version!.N) };
    } catch (cause) {
      throw new IncidentCorruptError(incidentId, { cause });
    }
  }

  /** Writes the state if the stored version is `expectedVersion` (undefined: only if none exists). Returns the new version. */
  async put(state: IncidentState, expectedVersion: number | undefined): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    const closed = closedAt(state);
    const expires = Math.min(closed !== undefined ? closed / 1000 + this.retainClosedS : Infinity, state.openedAt / 1000 + this.maxOpenS);
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: state.incidentId },
            version: { N: String(version) },
            state: { S: JSON.stringify(state) },
            ttl: { N: String(Math.ceil(expires)) },
            updatedAt: { S: new Date().toISOString() },
          },
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': { N: String(expectedVersion) } } }),
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new IncidentConflictError(state.incidentId, expectedVersion, { cause: err });
      }
      throw err;
    }
    return version;
  }
}
