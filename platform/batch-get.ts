import { setTimeout as delay } from 'node:timers/promises';
import type { AttributeValue, BatchGetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { backoffDelay } from './aws-errors.js';

type Item = Record<string, AttributeValue>;

/**
 * Consistent reads of items of one table by their `pk`, retrying the keys DynamoDB leaves unprocessed
 * (throttling: 100–200 ms, then 200–400 … 800–1600 ms, five rounds at most); the items by `pk`.
 * `read` sends the caller's own BatchGetItemCommand for the keys it is given (the call stays in the module
 * that owns the table: IAM grants are derived per module, infra/cdk/grants.test.ts).
 */
export async function batchGetByPk(
  table: string,
  pks: readonly string[],
  read: (keys: Item[]) => Promise<Pick<BatchGetItemCommandOutput, 'Responses' | 'UnprocessedKeys'>>,
): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  let keys: Item[] = [...new Set(pks)].map((pk) => ({ pk: { S: pk } }));
  for (let round = 0; keys.length > 0; round++) {
    if (round >= 5) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${round} rounds`);
    if (round > 0) await delay(backoffDelay(round, 200, 1600));
    const out = await read(keys);
    for (const item of out.Responses?.[table] ?? []) found.set(item.pk!.S!, item);
    keys = out.UnprocessedKeys?.[table]?.Keys ?? [];
  }
  return found;
}
