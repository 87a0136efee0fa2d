import { setTimeout as delay } from 'node:timers/promises';
import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { backoffDelay } from './aws-errors.js';

type Item = Record<string, AttributeValue>;

/**
 * Consistent reads of up to 100 items of one table by their `pk` in one BatchGetItem, retrying the keys DynamoDB
 * leaves unprocessed (throttling: 100–200 ms, then 200–400 … 800–1600 ms, five rounds at most), by `pk`.
 * `projection`: a ProjectionExpression (it must include `pk`).
 */
export async function batchGetByPk(
  dynamodb: Pick<DynamoDBClient, 'send'>,
  table: string,
  pks: readonly string[],
  projection?: string,
): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  let keys: Item[] = [...new Set(pks)].map((pk) => ({ pk: { S: pk } }));
  for (let round = 0; keys.length > 0; round++) {
    if (round >= 5) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${round} rounds`);
    if (round > 0) await delay(backoffDelay(round, 200, 1600));
    const out = await dynamodb.send(
      new BatchGetItemCommand({
        RequestItems: {
          [table]: { Keys: keys, ConsistentRead: true, ...(projection ? { ProjectionExpression: projection } : {}) },
        },
      }),
    );
    for (const item of out.Responses?.[table] ?? []) found.set(item.pk!.S!, item);
    keys = out.UnprocessedKeys?.[table]?.Keys ?? [];
  }
  return found;
}
