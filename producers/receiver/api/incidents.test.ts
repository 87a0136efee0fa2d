import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../../platform/aws.js';
import { startDynalite, type RunningEngine } from '../../../infra/local/engines.js';
import { ensureTable, incidentsTableSpec } from '../../../infra/local/provision.js';
import { IncidentStore } from '../../../processors/paging/incident-store.js';
import type { IncidentState } from '../../../processors/paging/incident-state.js';
import { DynamoHeartbeatStore } from '../../../processors/paging/heartbeats.js';
import { encodeIncidentState } from '../../../shared/incident-item.js';
import type { IncidentStateView } from '../../../shared/incident-view.js';
import { CONSOLE_ONCALL, incidentState } from './testing.js';
import { DynamoIncidentSource, listOrder, timelineOf, type IncidentListQuery } from './incidents.js';

/**
 * The incident list on dynalite, from items the paging processor's own store writes (IncidentStore.put: the list
 * index's attributes in the same PutItem): by status, team and time, page by page across the index's Query pages
 * (a Query Limit of 2), never an alias, a pointer, a heartbeat check or a drill; and what one list reads, against
 * the Scan it replaced, on a table of 2,000 incidents and 2,000 other items.
 */
const T0 = Date.parse('2026-12-07T03:00:00.000Z');
let engine: RunningEngine;
let dynamodb: DynamoDBClient;

/** Every command sent through `counted`, with what DynamoDB said it read (ScannedCount; BatchGetItem: items). */
const sent: { name: string; read: number }[] = [];
let counted: Pick<DynamoDBClient, 'send'>;

beforeAll(async () => {
  engine = await startDynalite();
  dynamodb = dynamoClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: engine.endpoint });
  const send = dynamodb.send.bind(dynamodb) as (command: object, options?: object) => Promise<ReadOut>;
  counted = {
    send: (async (command: object, options?: object) => {
      const out = await send(command, options);
      const read = out.ScannedCount ?? Object.values(out.Responses ?? {}).reduce((n, r) => n + r.length, 0);
      sent.push({ name: command.constructor.name, read });
      return out;
    }) as DynamoDBClient['send'],
  };
  for (const name of ['incidents', 'big'])
    await ensureTable(dynamodb, incidentsTableSpec(name), { timeoutMs: 10_000, pollMs: 20 });
});
afterAll(async () => {
  dynamodb?.destroy();
  await engine?.close();
});

type ReadOut = { ScannedCount?: number; Responses?: Record<string, unknown[]> };
const asState = (v: IncidentStateView) => ({ ...v, outbox: [] }) as unknown as IncidentState;

/** Every page of a query, following next (the API's cursor). */
async function allPages(source: DynamoIncidentSource, q: IncidentListQuery) {
  const pages: string[][] = [];
  let after = q.after;
  for (;;) {
    const page = await source.list({ ...q, ...(after ? { after } : {}) });
    pages.push(page.incidents.map((s) => s.incidentId));
    if (!page.next) return pages;
    after = page.next;
  }
}

describe('DynamoIncidentSource', () => {
  const states: IncidentStateView[] = [];

  beforeAll(async () => {
    const store = new IncidentStore({ dynamodb, table: 'incidents' });
    const teams = ['app', 'db', undefined];
    // 24 incidents: every 3rd acknowledged, every 4th resolved; two opened at the same moment (ids break the tie)
    for (let i = 0; i < 24; i++) {
      const openedAt = i === 23 ? T0 + 22 * 60_000 : T0 + i * 60_000;
      const s = incidentState(`inc_l_${String(i).padStart(12, '0')}`, {
        team: teams[i % 3],
        openedAt,
        ...(i % 3 === 1 ? { ackedAt: openedAt + 30_000, ackedBy: 'alice' } : {}),
        ...(i % 4 === 3 ? { resolvedAt: openedAt + 50_000 } : {}),
      });
      states.push(s);
      await store.put(asState(s), undefined);
    }
    // a state rewritten (acknowledged later): the index follows the item's last write
    const moved = { ...states[0], ackedAt: T0 + 10_000, ackedBy: 'bob' };
    await store.put(asState(moved), 1);
    states[0] = moved;
    // what is not an incident: an alias, an alarm pointer, a heartbeat check, a drill, an ack code-like item
    await store.alias('inc_alias_00000003', states[1]);
    await store.markOpen(states[1]);
    await new DynamoHeartbeatStore(dynamodb, 'incidents').put('db-backup', { last: T0, armedAfter: T0 });
    const drill = incidentState('drill_x_0001', { team: 'app', openedAt: T0 + 99 * 60_000 });
    await store.put({ ...asState(drill), drill: { kind: 'drill' } } as IncidentState, undefined);
    // an incident item written before the index (no list attributes): not listed, still read by id
    const old = incidentState('inc_old_0000000001', { team: 'app', openedAt: T0 + 5 });
    await dynamodb.send(
      new PutItemCommand({
        TableName: 'incidents',
        Item: { pk: { S: old.incidentId }, ...encodeIncidentState(old), version: { N: '1' } },
      }),
    );
  });

  const expected = (keep: (s: IncidentStateView) => boolean) =>
    [...states]
      .filter(keep)
      .sort(listOrder)
      .map((s) => s.incidentId);
  const status = (s: IncidentStateView) =>
    s.resolvedAt !== undefined ? 'resolved' : s.ackedAt !== undefined ? 'acknowledged' : 'open';

  it('lists every incident newest first, page by page across Query pages; nothing but incidents', async () => {
    const source = new DynamoIncidentSource({ dynamodb, table: 'incidents', queryLimit: 2 });
    const pages = await allPages(source, { limit: 5 });
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 4]);
    expect(pages.flat()).toEqual(expected(() => true));
    // the tie: both opened at T0 + 22 min, the greater id first (the index's order)
    expect(pages.flat().slice(0, 2)).toEqual(['inc_l_000000000023', 'inc_l_000000000022']);
    expect(await source.get('inc_old_0000000001')).toMatchObject({ team: 'app' });
    expect(await source.get('inc_alias_00000003')).toBeUndefined();
  });

  it('answers by status, team and since, alone and together', async () => {
    const source = new DynamoIncidentSource({ dynamodb, table: 'incidents', queryLimit: 2 });
    for (const st of ['open', 'acknowledged', 'resolved'] as const) {
      const got = (await allPages(source, { statuses: [st], limit: 3 })).flat();
      expect(got).toEqual(expected((s) => status(s) === st));
      expect(got.length).toBeGreaterThan(0);
    }
    const appOrDb = (await allPages(source, { teams: ['app', 'db'], limit: 4 })).flat();
    expect(appOrDb).toEqual(expected((s) => s.team === 'app' || s.team === 'db'));
    const since = T0 + 10 * 60_000;
    const got = (await allPages(source, { statuses: ['open', 'acknowledged'], teams: ['db'], since, limit: 2 })).flat();
    expect(got).toEqual(expected((s) => status(s) !== 'resolved' && s.team === 'db' && s.openedAt >= since));
    expect(got.length).toBeGreaterThan(1);
    expect((await source.list({ teams: [], limit: 10 })).incidents).toEqual([]);
  });

  it('goes on after a cursor (the last incident of the page before)', async () => {
    const source = new DynamoIncidentSource({ dynamodb, table: 'incidents', queryLimit: 2 });
    const first = await source.list({ statuses: ['open'], limit: 2 });
    expect(first.next).toEqual({ openedAt: first.incidents[1].openedAt, id: first.incidents[1].incidentId });
    const rest = (await allPages(source, { statuses: ['open'], after: first.next, limit: 50 })).flat();
    expect([...first.incidents.map((s) => s.incidentId), ...rest]).toEqual(expected((s) => status(s) === 'open'));
  });

  it('a table that does not answer: UnavailableError (503)', async () => {
    const source = new DynamoIncidentSource({ dynamodb, table: 'no-such-table' });
    await expect(source.list({ limit: 5 })).rejects.toMatchObject({ name: 'UnavailableError' });
  });

  it('reads the page, not the table: 2,000 incidents and 2,000 other items', async () => {
    const big = new IncidentStore({ dynamodb, table: 'big' });
    // what the paging processor writes: 2,000 incidents (every 10th open), and their alarms' pointers
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 2000; i++) {
      const s = incidentState(`inc_b_${String(i).padStart(12, '0')}`, {
        team: i % 2 ? 'app' : 'db',
        openedAt: T0 + i * 1000,
        ...(i % 10 !== 0 ? { resolvedAt: T0 + i * 1000 + 5000 } : {}),
      });
      writes.push(big.put(asState(s), undefined));
      writes.push(big.markOpen(s));
      if (writes.length >= 50) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    // the Scan the list was: every item of the table read, for any page
    sent.length = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await counted.send(
        new ScanCommand({
          TableName: 'big',
          FilterExpression: 'attribute_exists(stateZ) OR attribute_exists(#s)',
          ExpressionAttributeNames: { '#s': 'state' },
          ExclusiveStartKey: start,
        }),
      );
      start = page.LastEvaluatedKey;
    } while (start);
    const scanned = sent.reduce((n, c) => n + c.read, 0);
    expect(scanned).toBe(4000);
    // the API's first page (50 of every status) and the console's open list (200 open incidents)
    const source = new DynamoIncidentSource({ dynamodb: counted, table: 'big' });
    sent.length = 0;
    const apiPage = await source.list({ limit: 50 });
    const apiRead = sent.reduce((n, c) => n + c.read, 0);
    expect(apiPage.incidents).toHaveLength(50);
    expect(apiPage.incidents[0].incidentId).toBe('inc_b_000000001999');
    sent.length = 0;
    const open = await source.list({ statuses: ['open', 'acknowledged'], limit: 500 });
    const openRead = sent.reduce((n, c) => n + c.read, 0);
    expect(open.incidents).toHaveLength(200);
    // index entries: at most limit + 1 per status asked; items: the page's own
    expect(apiRead).toBeLessThanOrEqual(3 * 51 + 50);
    expect(openRead).toBe(200 + 200);
    console.info(`list reads: Scan ${scanned} items; API page of 50: ${apiRead}; console open list: ${openRead}`);
  }, 120_000);

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
