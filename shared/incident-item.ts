import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The paging state's DynamoDB item (INCIDENTS_TABLE, HASH key `pk` = incident id), as both sides of
 * the stream read it. The paging processor owns it and is its only writer
 * (processors/paging/incident-store.ts); the receiver reads it, read-only, so an ack page can say
 * whether the incident was already acknowledged, resolved or escalated past the person.
 *
 * An incident's item: `state` (S, the paging state as JSON) and `version` (N). An alias item (an
 * alarm record that belongs to another incident): `aliasOf` (S) and no state.
 */
export type IncidentItem<S> = { state: S; version: number } | { aliasOf: string } | undefined;

/** The item's key. */
export const incidentKey = (incidentId: string): Record<string, AttributeValue> => ({ pk: { S: incidentId } });

/** An item as read; throws SyntaxError when `state` is not JSON (the caller names the incident). */
export function parseIncidentItem<S>(item: Record<string, AttributeValue> | undefined): IncidentItem<S> {
  if (!item) return undefined;
  if (item.aliasOf?.S && !item.state) return { aliasOf: item.aliasOf.S };
  return { state: JSON.parse(item.state?.S ?? '') as S, version: Number(item.version?.N) };
}

export interface IncidentReaderOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
}

/** Read-only access to incidents' paging state, for anything that is not the paging processor. */
export class IncidentReader<S> {
  constructor(private readonly opts: IncidentReaderOptions) {}

  /** The incident's state, or undefined (no item, or an alias). */
  async get(incidentId: string): Promise<{ state: S } | undefined> {
    const out = await this.opts.dynamodb.send(
      new GetItemCommand({ TableName: this.opts.table, Key: incidentKey(incidentId), ConsistentRead: true }),
    );
    const found = parseIncidentItem<S>(out.Item);
    return found && 'state' in found ? { state: found.state } : undefined;
  }
}
