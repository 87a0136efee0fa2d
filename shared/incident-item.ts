import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The paging state's DynamoDB item (INCIDENTS_TABLE, HASH key `pk` = incident id), as both sides of
 * the stream read it. The paging processor owns it and is its only writer
 * (processors/paging/incident-store.ts); the receiver reads it, read-only, so an ack page can say
 * whether the incident was already acknowledged, resolved or escalated past the person.
 *
 * An incident's item: `stateZ` (B, the paging state as JSON, raw-deflated: a 2–3.5 KB state is 0.6–1 KB, so
 * each write of it costs one write unit instead of three) or, as written before it, `state` (S, the JSON
 * itself), and `version` (N). An alias item (an alarm record that belongs to another incident): `aliasOf` (S)
 * and no state.
 */
export type IncidentItem<S> = { state: S; version: number } | { aliasOf: string } | undefined;

/** The item's key. */
export const incidentKey = (incidentId: string): Record<string, AttributeValue> => ({ pk: { S: incidentId } });

/** The state's attributes as written (`stateZ`): the JSON, raw-deflated. */
export const encodeIncidentState = (state: unknown): Record<string, AttributeValue> => ({
  stateZ: { B: deflateRawSync(JSON.stringify(state)) },
});

/**
 * An item as read; throws SyntaxError when the state is not JSON, or an Error (zlib's) when `stateZ` is not
 * deflate data (the caller names the incident).
 */
export function parseIncidentItem<S>(item: Record<string, AttributeValue> | undefined): IncidentItem<S> {
  if (!item) return undefined;
  if (item.aliasOf?.S && !item.state && !item.stateZ) return { aliasOf: item.aliasOf.S };
  const json = item.stateZ?.B ? inflateRawSync(item.stateZ.B).toString('utf8') : (item.state?.S ?? '');
  return { state: JSON.parse(json) as S, version: Number(item.version?.N) };
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
