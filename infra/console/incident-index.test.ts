import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../platform/aws.js';
import { startDynalite, type RunningEngine } from '../local/engines.js';
import { ensureTable, incidentsTableSpec } from '../local/provision.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';
import type { IncidentState } from '../../processors/paging/incident-state.js';
import { DynamoIncidentSource } from '../../producers/receiver/api/incidents.js';
import { incidentState } from '../../producers/receiver/api/testing.js';
import { encodeIncidentState } from '../../shared/incident-item.js';
import type { IncidentStateView } from '../../shared/incident-view.js';
import { backfillIncidentIndex } from './incident-index.js';

/**
 * `make incident-index` on dynalite: incident items written before the list index get its attributes (and are
 * listed), nothing else does, a paging write that comes in between is never overwritten, and a second run finds
 * nothing to do.
 */
const T0 = Date.parse('2026-12-07T03:00:00.000Z');
let engine: RunningEngine;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  engine = await startDynalite();
  dynamodb = dynamoClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: engine.endpoint });
  await ensureTable(dynamodb, incidentsTableSpec('incidents'), { timeoutMs: 10_000, pollMs: 20 });
});
afterAll(async () => {
  dynamodb?.destroy();
  await engine?.close();
});

/** An item as the paging processor wrote it before the index: state, version, no list attributes. */
const putOld = (s: { incidentId: string; drill?: object }, version = 1) =>
  dynamodb.send(
    new PutItemCommand({
      TableName: 'incidents',
      Item: { pk: { S: s.incidentId }, ...encodeIncidentState(s), version: { N: String(version) } },
    }),
  );
const asState = (v: IncidentStateView) => ({ ...v, outbox: [] }) as unknown as IncidentState;

describe('make incident-index', () => {
  it('indexes the incidents written before the index, and only them, without overwriting a newer write', async () => {
    const store = new IncidentStore({ dynamodb, table: 'incidents' });
    const acked = incidentState('inc_old_acked_0001', { team: 'app', openedAt: T0, ackedAt: T0 + 5, ackedBy: 'a' });
    const open = incidentState('inc_old_open_00002', { openedAt: T0 + 1 });
    const raced = incidentState('inc_old_raced_0003', { team: 'db', openedAt: T0 + 2 });
    const fresh = incidentState('inc_new_00000000004', { team: 'db', openedAt: T0 + 3 });
    await putOld(acked, 4);
    await dynamodb.send(
      new PutItemCommand({
        TableName: 'incidents',
        Item: { pk: { S: open.incidentId }, state: { S: JSON.stringify(open) }, version: { N: '2' } },
      }),
    );
    await putOld(raced, 1);
    await putOld({ ...incidentState('drill_old_00000001', { openedAt: T0 }), drill: { kind: 'drill' } });
    await store.alias('inc_alias_00000005', acked);
    await store.markOpen(acked);
    await store.put(asState(fresh), undefined);
    // the paging processor writes `raced` (resolved) while the backfill runs: just before its update
    const racing = {
      send: (async (command: object, options?: object) => {
        if (command instanceof UpdateItemCommand && command.input.Key?.pk?.S === raced.incidentId)
          await store.put(asState({ ...raced, resolvedAt: T0 + 9 }), 1);
        return dynamodb.send(command as never, options as never);
      }) as DynamoDBClient['send'],
    };
    const source = new DynamoIncidentSource({ dynamodb, table: 'incidents' });
    const listed = async () => (await source.list({ limit: 50 })).incidents.map((s) => s.incidentId);
    expect(await listed()).toEqual([fresh.incidentId]);

    expect(await backfillIncidentIndex(racing, 'incidents')).toMatchObject({ indexed: 2, skipped: 2 });
    expect(await listed()).toEqual([fresh.incidentId, raced.incidentId, open.incidentId, acked.incidentId]);
    const byStatus = async (st: 'open' | 'acknowledged' | 'resolved') =>
      (await source.list({ statuses: [st], limit: 50 })).incidents.map((s) => s.incidentId);
    expect(await byStatus('acknowledged')).toEqual([acked.incidentId]);
    // the paging write won: resolved, at its version 2
    expect(await byStatus('resolved')).toEqual([raced.incidentId]);
    expect((await store.get(raced.incidentId))?.version).toBe(2);
    expect(await backfillIncidentIndex(dynamodb, 'incidents')).toMatchObject({ indexed: 0, skipped: 1 });
  });
});
