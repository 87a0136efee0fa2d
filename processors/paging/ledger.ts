import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from '../../platform/aws-errors.js';

/**
 * The dispatch ledger (DynamoDB, conditional writes): one item per step of the loop — a page to one
 * person on one channel at one level, or an escalation. A step is claimed before it is sent and
 * completed with its result, so a restart, a re-read of the stream or a second worker never sends
 * the same step twice. A step whose claim exists without a result crashed mid-send: its outcome is
 * unknown and it is not sent again (at most once); the level's deadline escalates if it never arrived.
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

  async complete(stepKey: string, result: StepResult): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: `step#${stepKey}` } },
        UpdateExpression: 'SET #s = :done, #r = :record',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'state', '#r': 'record' },
        ExpressionAttributeValues: { ':done': { S: 'done' }, ':record': { S: result.record } },
      }),
    );
  }
}
