import {
  BatchGetItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from '../../platform/aws-errors.js';
import { batchGetByPk } from '../../platform/batch-get.js';
import { encodeIncidentState, incidentKey, parseIncidentItem } from '../../shared/incident-item.js';
import { listIndexAttributes } from '../../shared/incident-list-index.js';
import { closedAt, type IncidentState } from './incident-state.js';
import { IncidentConflictError, IncidentCorruptError } from './errors.js';

/**
 * Paging state, one DynamoDB item per incident (INCIDENTS_TABLE, HASH key `pk` = incident id):
 * `version` (N) for optimistic concurrency, `stateZ` (B, the JSON deflated), `ttl` (N, epoch s, DynamoDB TTL), and
 * the incident list's index attributes (`listPk`, `listSk`, `listTeam`: shared/incident-list-index.ts; a drill has
 * none), in the same PutItem.
 * The item's shape, as others read it (the receiver, read-only): shared/incident-item.ts.
 * Nothing is tied to a shard. An item expires `retainClosedS` after the incident was acked or
 * resolved, and `maxOpenS` after it opened in any case (an incident nobody closes stops costing).
 *
 * Beside them, one "latest incident of this alarm" pointer per alarm (`pk` = `alarm#<alarm ARN>`,
 * `incidentId`, `openedAt`, `resolvedAt` once resolved, same TTL bound): written when an incident
 * opens, marked resolved when it resolves, both with conditions (a newer episode replaces an older
 * pointer, never the reverse; only the incident it names marks it). The paging handler reads it to
 * bring an ALARM → ALARM re-evaluation, and the OK that follows it, to the incident the alarm already
 * has open, and an ALARM soon after the OK (flapping) to the incident it resolved.
 */
export interface IncidentStoreOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
  /** Seconds an acked or resolved incident is kept. Default 7 days (late receipts still join). */
  retainClosedS?: number;
  /** Seconds an incident is kept at most. Default 30 days. */
  maxOpenS?: number;
}

export interface OpenIncidentPointer {
  incidentId: string;
  openedAt: number;
  /** Set once the incident resolved (the pointer stays for the flapping window's sake). */
  resolvedAt?: number;
}

/** The pointer item's key for an alarm. */
export const openPointerKey = (alarmArn: string) => `alarm#${alarmArn}`;

function parsePointer(item: Record<string, AttributeValue> | undefined): OpenIncidentPointer | undefined {
  if (!item?.incidentId?.S) return undefined;
  return {
    incidentId: item.incidentId.S,
    openedAt: Number(item.openedAt?.N ?? 0),
    ...(item.resolvedAt?.N ? { resolvedAt: Number(item.resolvedAt.N) } : {}),
  };
}

/** What `find` returns: the incident's item, the incident an alias names, or undefined. */
export type Found = StoredIncident | { aliasOf: string } | undefined;

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
    const found = await this.find(incidentId);
    return found && 'state' in found ? found : undefined;
  }

  /** The incident's item, or the incident an alias names (see `alias`), or undefined. */
  async find(incidentId: string): Promise<Found> {
    const out = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.table, Key: incidentKey(incidentId), ConsistentRead: true }),
    );
    return this.parse(incidentId, out.Item);
  }

  /**
   * `find` and `openIncidentOf` in one request (a BatchGetItem of both items, consistent): what an alarm record
   * needs before its decision, read in one round trip and one call.
   */
  async findWithPointer(
    incidentId: string,
    alarmArn: string,
  ): Promise<{ found: Found; pointer: OpenIncidentPointer | undefined }> {
    const items = await batchGetByPk(this.table, [incidentId, openPointerKey(alarmArn)], (Keys) =>
      this.dynamodb.send(new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys, ConsistentRead: true } } })),
    );
    return {
      found: this.parse(incidentId, items.get(incidentId)),
      pointer: parsePointer(items.get(openPointerKey(alarmArn))),
    };
  }

  private parse(incidentId: string, item: Record<string, AttributeValue> | undefined): Found {
    try {
      return parseIncidentItem<IncidentState>(item);
    } catch (cause) {
      throw new IncidentCorruptError(incidentId, { cause });
    }
  }

  /**
   * Writes the state if the stored version is `expectedVersion` (undefined: only if none exists). Returns the new
   * version.
   */
  async put(state: IncidentState, expectedVersion: number | undefined): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    const closed = closedAt(state);
    const expires = Math.min(
      closed !== undefined ? closed / 1000 + this.retainClosedS : Infinity,
      state.openedAt / 1000 + this.maxOpenS,
    );
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...incidentKey(state.incidentId),
            version: { N: String(version) },
            ...encodeIncidentState(state),
            ...listIndexAttributes(state),
            ttl: { N: String(Math.ceil(expires)) },
            updatedAt: { S: new Date().toISOString() },
          },
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :v',
                ExpressionAttributeValues: { ':v': { N: String(expectedVersion) } },
              }),
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new IncidentConflictError(state.incidentId, expectedVersion, { cause: err });
      throw err;
    }
    return version;
  }

  /**
   * Records that the records of incident id `incidentId` (an ALARM → ALARM re-evaluation's own id,
   * which the OK after it also names) belong to incident `target`. Write-once (a redo is a no-op), so
   * a replay finds the same incident whatever the alarm's pointer says by then.
   */
  async alias(incidentId: string, target: Pick<IncidentState, 'incidentId' | 'openedAt'>): Promise<void> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...incidentKey(incidentId),
            aliasOf: { S: target.incidentId },
            ttl: { N: String(Math.ceil(target.openedAt / 1000 + this.maxOpenS)) },
            updatedAt: { S: new Date().toISOString() },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** The incident the alarm has open (its pointer), if any. */
  async openIncidentOf(alarmArn: string): Promise<OpenIncidentPointer | undefined> {
    const out = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: { S: openPointerKey(alarmArn) } }, ConsistentRead: true }),
    );
    return parsePointer(out.Item);
  }

  /**
   * Points the alarm at an open incident. Idempotent; an older episode never replaces a newer one's
   * pointer (returns false then).
   */
  async markOpen(state: Pick<IncidentState, 'alarmArn' | 'incidentId' | 'openedAt'>): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: openPointerKey(state.alarmArn) },
            incidentId: { S: state.incidentId },
            openedAt: { N: String(state.openedAt) },
            ttl: { N: String(Math.ceil(state.openedAt / 1000 + this.maxOpenS)) },
            updatedAt: { S: new Date().toISOString() },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :id OR openedAt < :at',
          ExpressionAttributeValues: { ':id': { S: state.incidentId }, ':at': { N: String(state.openedAt) } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Marks the alarm's pointer resolved if it still names this incident (idempotent; a re-trigger's markOpen clears it).
   */
  async markResolved(alarmArn: string, incidentId: string, resolvedAt: number): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: openPointerKey(alarmArn) } },
          UpdateExpression: 'SET resolvedAt = :r, updatedAt = :u',
          ConditionExpression: 'incidentId = :id',
          ExpressionAttributeValues: {
            ':id': { S: incidentId },
            ':r': { N: String(resolvedAt) },
            ':u': { S: new Date().toISOString() },
          },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
