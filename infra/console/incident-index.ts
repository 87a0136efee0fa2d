/**
 * `make incident-index`: once, after the deploy that added the incidents table's list index
 * (shared/incident-list-index.ts), gives the incident items written before it their index attributes, so the console
 * and `GET /api/v1/incidents` list them too. Without it those incidents appear at their next write (a page's receipt,
 * an escalation, an ack or a resolve) and otherwise age out by TTL (7 days after closing, 30 after opening).
 *
 * One Scan of INCIDENTS_TABLE; for each incident item without `listPk` (not an alias, a pointer, a heartbeat check or a
 * drill), an UpdateItem that sets the three attributes only, on the condition that the item's `version` is still the
 * one read and it still has no `listPk`: the paging processor's writes are never overwritten, and one that came in
 * between already carries the attributes (the item is skipped). Safe to run again: it finds nothing left to do.
 */
import { ScanCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../../platform/config.js';
import { dynamoClient } from '../../platform/aws.js';
import { isConditionFailure } from '../../platform/aws-errors.js';
import { parseIncidentItem } from '../../shared/incident-item.js';
import { listIndexAttributes, type ListedState } from '../../shared/incident-list-index.js';

export interface BackfillResult {
  /** Items read by the Scan. */
  scanned: number;
  /** Incident items given their index attributes. */
  indexed: number;
  /** Written by the paging processor in between (they carry the attributes now), or unreadable. */
  skipped: number;
}

type Item = Record<string, AttributeValue>;

export async function backfillIncidentIndex(
  dynamodb: Pick<DynamoDBClient, 'send'>,
  table: string,
): Promise<BackfillResult> {
  const result: BackfillResult = { scanned: 0, indexed: 0, skipped: 0 };
  let start: Item | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: '(attribute_exists(stateZ) OR attribute_exists(#s)) AND attribute_not_exists(listPk)',
        ExpressionAttributeNames: { '#s': 'state' },
        ExclusiveStartKey: start,
      }),
      { abortSignal: AbortSignal.timeout(30_000) },
    );
    result.scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      if (await indexOne(dynamodb, table, item)) result.indexed++;
      else result.skipped++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return result;
}

async function indexOne(dynamodb: Pick<DynamoDBClient, 'send'>, table: string, item: Item): Promise<boolean> {
  let state: ListedState;
  try {
    const found = parseIncidentItem<ListedState>(item);
    if (!found || !('state' in found)) return false;
    state = found.state;
  } catch {
    return false;
  }
  const attrs = listIndexAttributes(state);
  if (!attrs.listPk || !item.version?.N) return false;
  const names = Object.keys(attrs);
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: item.pk },
        UpdateExpression: `SET ${names.map((n) => `${n} = :${n}`).join(', ')}`,
        ConditionExpression: 'version = :v AND attribute_not_exists(listPk)',
        ExpressionAttributeValues: {
          ':v': item.version,
          ...Object.fromEntries(names.map((n) => [`:${n}`, attrs[n]])),
        },
      }),
      { abortSignal: AbortSignal.timeout(10_000) },
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const dynamodb = dynamoClient(config);
  try {
    const r = await backfillIncidentIndex(dynamodb, config.INCIDENTS_TABLE);
    console.log(
      `${config.INCIDENTS_TABLE}: ${r.indexed} incident(s) indexed, ${r.skipped} skipped (written since, or ` +
        `unreadable); ${r.scanned} item(s) read`,
    );
  } finally {
    dynamodb.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`incident-index: ${(err as Error).message}`);
    process.exit(1);
  });
}
