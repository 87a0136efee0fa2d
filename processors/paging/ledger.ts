import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from '../../platform/aws-errors.js';

/**
 * The dispatch ledger (DynamoDB, conditional writes): one item per step of the loop — a page to one
 * person on one channel at one level — holding its result once sent, so a step whose outcome was lost
 * with its process is settled without asking the provider. A page decided by a saved decision is claimed
 * by that decision's own write (incident-state.ts `claimPages`); the ledger claims only the pages decided
 * while an outbox runs (a failover after a refusal), before they are sent, so a restart, a re-read of the
 * stream or a second worker never sends the same step twice. A claim (either kind) found without a result
 * crashed mid-send: its outcome is unknown, and it is settled through the provider (effects.ts).
 */
export interface StepResult {
  /** The stream record that reports the step (re-emitted as is after a crash; same event id). */
  record: string;
}

export type Claim =
  | { claimed: true }
  | { claimed: false; state: 'claimed' | 'done'; result?: StepResult; claimedAt: string };

export class DispatchLedger {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly table: string,
    /** Items expire (DynamoDB TTL attribute `ttl`) after this many seconds. Default 30 days. */
    private readonly ttlSeconds = 30 * 86_400,
  ) {}

  async claim(stepKey: string, now = Date.now()): Promise<Claim> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: `step#${stepKey}` },
            state: { S: 'claimed' },
            claimedAt: { S: new Date(now).toISOString() },
            ttl: { N: String(Math.floor(now / 1000) + this.ttlSeconds) },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const res = await this.dynamodb.send(
        new GetItemCommand({ TableName: this.table, Key: { pk: { S: `step#${stepKey}` } }, ConsistentRead: true }),
      );
      const item = res.Item ?? {};
      return {
        claimed: false,
        state: item.state?.S === 'done' ? 'done' : 'claimed',
        result: item.record?.S ? { record: item.record.S } : undefined,
        claimedAt: item.claimedAt?.S ?? '',
      };
    }
  }

  /** The step's result, if one was recorded (one consistent read). */
  async result(stepKey: string): Promise<StepResult | undefined> {
    const res = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: { S: `step#${stepKey}` } }, ConsistentRead: true }),
    );
    const record = res.Item?.state?.S === 'done' ? res.Item.record?.S : undefined;
    return record ? { record } : undefined;
  }

  /**
   * Records the step's result (after its send). Creates the item when the step was claimed by its decision's write
   * rather than here; idempotent (a settle that finds the same send records the same page again).
   */
  async complete(stepKey: string, result: StepResult, now = Date.now()): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: `step#${stepKey}` } },
        UpdateExpression: 'SET #s = :done, #r = :record, #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { '#s': 'state', '#r': 'record', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':done': { S: 'done' },
          ':record': { S: result.record },
          ':ttl': { N: String(Math.floor(now / 1000) + this.ttlSeconds) },
        },
      }),
    );
  }
}
