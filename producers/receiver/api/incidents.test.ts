import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../../platform/aws.js';
import { startDynalite, type RunningEngine } from '../../../infra/local/engines.js';
import { encodeIncidentState } from '../../../shared/incident-item.js';
import { alarmPointerKey } from '../../../shared/incident-view.js';
import { CONSOLE_ONCALL, createAuthTable, incidentState } from './testing.js';
import { DynamoIncidentSource, timelineOf } from './incidents.js';

const T0 = Date.parse('2026-12-07T03:00:00.000Z');
let engine: RunningEngine;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  engine = await startDynalite();
  dynamodb = dynamoClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: engine.endpoint });
  await createAuthTable(dynamodb, 'incidents'); // the same key schema as INCIDENTS_TABLE (HASH pk)
});
afterAll(async () => {
  dynamodb?.destroy();
  await engine?.close();
});

const put = (item: Record<string, AttributeValue>) =>
  dynamodb.send(new PutItemCommand({ TableName: 'incidents', Item: item }));

describe('DynamoIncidentSource', () => {
  it('reads the paging state as the processor writes it; lists incidents only, over several scan pages', async () => {
    const a = incidentState('inc_a_000000000001', { team: 'app', openedAt: T0 });
    const b = incidentState('inc_b_000000000002', { team: 'db', openedAt: T0 + 1, resolvedAt: T0 + 5 });
    await put({ pk: { S: a.incidentId }, ...encodeIncidentState(a), version: { N: '3' } });
    // a state written before `stateZ` (plain JSON), an alias, a pointer, a drill, and an unreadable state
    await put({ pk: { S: b.incidentId }, state: { S: JSON.stringify(b) }, version: { N: '1' } });
    await put({ pk: { S: 'inc_alias_00000003' }, aliasOf: { S: a.incidentId } });
    await put({ pk: { S: alarmPointerKey(a.alarmArn) }, incidentId: { S: a.incidentId }, openedAt: { N: String(T0) } });
    await put({ pk: { S: 'drill_x_0001' }, ...encodeIncidentState({ ...a, incidentId: 'drill_x_0001', drill: {} }) });
    await put({ pk: { S: 'inc_bad_0000000004' }, state: { S: '{"incidentId":1}' }, version: { N: '1' } });
    // ~120 KB of padding per item: more than one Scan page (1 MB)
    for (let i = 0; i < 12; i++) {
      const s = incidentState(`inc_pad_${String(i).padStart(10, '0')}`, { team: 'app', openedAt: T0 - i });
      await put({ pk: { S: s.incidentId }, state: { S: JSON.stringify({ ...s, pad: 'x'.repeat(120_000) }) } });
    }
    const source = new DynamoIncidentSource({ dynamodb, table: 'incidents' });
    expect((await source.get(a.incidentId))?.team).toBe('app');
    expect(await source.get('inc_alias_00000003')).toBeUndefined();
    const ids = (await source.list()).map((s) => s.incidentId).sort();
    expect(ids).toHaveLength(14);
    expect(ids.slice(0, 2)).toEqual([a.incidentId, b.incidentId]);
  });

  it('a timeline in make incident’s words, with people’s names', () => {
    const s = incidentState('inc_t_000000000001', {
      team: 'app',
      openedAt: T0,
      ackedAt: T0 + 30_000,
      ackedBy: 'alice',
    });
    expect(timelineOf({ ...s, resolvedAt: T0 + 60_000 }, CONSOLE_ONCALL)).toEqual([
      { at: '2026-12-07T03:00:00.000Z', what: 'alarm inc_t_000000000001-cpu went to ALARM: incident opened (P1)' },
      { at: '2026-12-07T03:00:01.200Z', what: 'paged Alice Ng (level 1) by SMS → delivered' },
      { at: '2026-12-07T03:00:30.000Z', what: 'acknowledged by Alice Ng' },
      { at: '2026-12-07T03:01:00.000Z', what: 'alarm back to OK: incident resolved' },
    ]);
  });
});
