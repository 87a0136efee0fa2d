import type { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { deflateRawSync } from 'node:zlib';
import { IncidentReader, encodeIncidentState, incidentKey, parseIncidentItem } from './incident-item.js';

describe('parseIncidentItem', () => {
  it('reads an incident, an alias, or nothing', () => {
    expect(parseIncidentItem(undefined)).toBeUndefined();
    expect(parseIncidentItem({ pk: { S: 'inc_2' }, aliasOf: { S: 'inc_1' } })).toEqual({ aliasOf: 'inc_1' });
    expect(parseIncidentItem({ pk: { S: 'inc_1' }, state: { S: '{"level":2}' }, version: { N: '7' } })).toEqual({
      state: { level: 2 },
      version: 7,
    });
  });

  it('reads the deflated state as written, and the plain JSON state of items written before it', () => {
    const state = { incidentId: 'inc_1', pages: { a: { person: 'carol', status: 'delivered' } } };
    // raw deflate of the JSON, as zlib writes it: a known answer, not only a round trip
    const z = deflateRawSync(JSON.stringify(state));
    expect(encodeIncidentState(state)).toEqual({ stateZ: { B: z } });
    expect(parseIncidentItem({ pk: { S: 'inc_1' }, stateZ: { B: new Uint8Array(z) }, version: { N: '4' } })).toEqual({
      state,
      version: 4,
    });
    expect(parseIncidentItem({ pk: { S: 'inc_1' }, state: { S: JSON.stringify(state) }, version: { N: '3' } })).toEqual(
      { state, version: 3 },
    );
  });

  it('throws on a state that is not JSON, or an item with neither state nor alias', () => {
    expect(() => parseIncidentItem({ pk: { S: 'inc_1' }, state: { S: '{"level":' }, version: { N: '1' } })).toThrow(
      SyntaxError,
    );
    expect(() => parseIncidentItem({ pk: { S: 'inc_1' } })).toThrow(SyntaxError);
  });
});

describe('IncidentReader', () => {
  it('gets the state by the item key, consistently; an alias or a missing item is undefined', async () => {
    const items: Record<string, Record<string, { S?: string; N?: string }>> = {
      inc_1: { pk: { S: 'inc_1' }, state: { S: '{"ackedBy":"carol"}' }, version: { N: '3' } },
      inc_2: { pk: { S: 'inc_2' }, aliasOf: { S: 'inc_1' } },
    };
    const sent: GetItemCommand[] = [];
    const dynamodb = {
      send: async (cmd: GetItemCommand) => {
        sent.push(cmd);
        return { Item: items[cmd.input.Key!.pk.S!] };
      },
    };
    const reader = new IncidentReader<{ ackedBy?: string }>({ dynamodb: dynamodb as never, table: 'incidents' });
    expect(await reader.get('inc_1')).toEqual({ state: { ackedBy: 'carol' } });
    expect(await reader.get('inc_2')).toBeUndefined();
    expect(await reader.get('inc_9')).toBeUndefined();
    expect(sent[0].input).toEqual({ TableName: 'incidents', Key: incidentKey('inc_1'), ConsistentRead: true });
  });
});
