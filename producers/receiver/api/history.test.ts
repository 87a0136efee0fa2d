import { describe, expect, it } from 'vitest';
import { dynaliteForFile } from '../../../test/helpers/dynalite.js';
import type { z } from 'zod';
import { summaryOfRow } from '../../../analysis/report/data.js';
import { BILLING, PEOPLE, T } from '../../../analysis/report/timeline.fixtures.js';
import { buildTimeline } from '../../../analysis/report/timeline.js';
import { mergeResolved } from './history.js';
import type { LakeIncident, LakeIncidentSummary } from './lake.js';
import { MemoryLake } from './lake.fixtures.js';
import { API_ROUTES } from './openapi.js';
import { MemoryIncidents, consoleTestApp, createAuthTable, incidentState } from './testing.js';

/**
 * Live from the paging state, history from the lake (issue 23): the incident API with a lake in memory (the reader
 * interface of lake.ts). An incident the paging state no longer holds answers from the lake in `make incident`'s
 * words; one it holds carries the lake's timeline as `history`; the resolved list adds the lake's older incidents, the
 * live one winning; each answer's `source` says which and how fresh the lake is; a lake that is down or slow leaves
 * its part out and never fails a live answer.
 */
const T0 = Date.parse('2026-12-07T03:00:00.000Z');
const DAY = 86_400_000;
const FLUSHED = T0 - 26_000;
const AGE = { asOf: FLUSHED, now: T0 };

/** The billing-db story of the timeline fixtures, in the lake: resolved long ago (the paging state's TTL passed). */
const OLD: LakeIncident = {
  summary: summaryOfRow(BILLING.incident, 'app'),
  timeline: buildTimeline(BILLING, PEOPLE),
};
const lakeRow = (id: string, openedAt: number, team: string, resolved = true): LakeIncidentSummary => ({
  incident_id: id,
  alarm_name: `${id}-cpu`,
  alarm_arn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${id}-cpu`,
  severity: 'P1',
  team,
  opened_at: openedAt,
  ...(resolved ? { resolved_at: openedAt + 600_000 } : {}),
  pages: 1,
  notices: 0,
  failed_deliveries: 0,
  silent_failovers: 0,
});

const local = dynaliteForFile();
let tables = 0;

/** The paging state holds two app incidents (one open, one resolved) and a db one; the lake older ones too. */
async function setup(lake: MemoryLake | undefined, lakeTimeoutMs?: number) {
  const table = `history-${++tables}`;
  await createAuthTable(local.dynamodb, table);
  const incidents = new MemoryIncidents([
    incidentState('inc_app_open_000001', { team: 'app', openedAt: T0 - 60_000 }),
    incidentState('inc_app_resolved_03', { team: 'app', openedAt: T0 - 180_000, resolvedAt: T0 - 100_000 }),
    incidentState('inc_db_open_0000004', { team: 'db', openedAt: T0 - 30_000 }),
  ]);
  const env = consoleTestApp({ dynamodb: local.dynamodb, table, incidents, now: () => T0, lake, lakeTimeoutMs });
  const { key } = await env.keys.createApiKey({ name: 'all', teams: ['*'], actions: ['read'] }, T0);
  const get = async (path: string, route: string, bearer = key) => {
    const res = await env.app.request(`/api/v1${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: res.status, body: await conforms(res, route) };
  };
  return { env, get };
}

/** The answer checked against the route's OpenAPI schema for its status. */
async function conforms(res: Response, path: string): Promise<Record<string, unknown>> {
  const spec = API_ROUTES.find((r) => r.method === 'get' && r.path === path)!;
  const schema = spec.responses[res.status]?.schema as z.ZodType | undefined;
  expect(schema, `GET ${path} answered ${res.status}, not in its OpenAPI responses`).toBeDefined();
  const body = await res.json();
  const parsed = schema!.safeParse(body);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return body as Record<string, unknown>;
}

const lakeUp = {
  available: true,
  engine: 'duckdb',
  data_as_of: new Date(FLUSHED).toISOString(),
  age_seconds: 26,
  from_cache: false,
  text: 'lake data as of 02:59:34 UTC, 26 s ago',
};

describe('GET /incidents/{id}: the paging state, then the lake', () => {
  it('an incident only the lake holds: state, pages, timeline in make incident’s words, source lake', async () => {
    const lake = new MemoryLake(AGE, [OLD], [OLD.summary]);
    const { get } = await setup(lake);
    const { status, body } = await get('/incidents/inc_b', '/incidents/{id}');
    expect(status).toBe(200);
    expect(body.source).toEqual({ from: 'lake', read_at: new Date(T0).toISOString(), lake: lakeUp });
    expect(body.incident).toEqual({
      id: 'inc_b',
      alarm_name: 'billing-db-connections',
      alarm_arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-db-connections',
      severity: 'P1',
      team: 'app',
      status: 'resolved',
      opened_at: new Date(T).toISOString(),
      level: 0,
      acked_at: new Date(T + 370_000).toISOString(),
      acked_by: 'carol',
      resolved_at: new Date(T + 900_000).toISOString(),
    });
    const timeline = body.timeline as { at: string; what: string }[];
    expect(timeline[0]).toEqual({
      at: new Date(T).toISOString(),
      what: 'alarm billing-db-connections (P1) went to ALARM: incident opened',
    });
    expect(timeline.map((e) => e.what)).toContain('escalated to level 2 (deadline: level 1 not confirmed)');
    expect(timeline.at(-1)?.what).toMatch(/resolved/);
    expect(body.pages).toContainEqual({
      person: 'carol',
      person_name: 'Carol Otieno',
      level: 2,
      round: 0,
      channel: 'sms',
      status: 'undelivered', // the provider's last word (30003)
      message_id: 'SM3',
      sent_at: new Date(T + 304_000).toISOString(),
    });
    expect(body).not.toHaveProperty('history');
  });

  it('an incident the paging state holds: live, with the lake’s timeline as history; source both', async () => {
    const live = incidentState('inc_b', { team: 'app', openedAt: T, resolvedAt: T + 900_000 });
    const lake = new MemoryLake(AGE, [OLD], [OLD.summary]);
    const { env, get } = await setup(lake);
    env.incidents.states.push(live);
    const { body } = await get('/incidents/inc_b', '/incidents/{id}');
    expect(body.source).toEqual({ from: 'paging-state+lake', read_at: new Date(T0).toISOString(), lake: lakeUp });
    expect((body.incident as { alarm_name: string }).alarm_name).toBe('inc_b-cpu'); // the paging state's
    expect((body.history as { what: string }[])[0].what).toBe(
      'alarm billing-db-connections (P1) went to ALARM: incident opened',
    );
    // the lake has nothing of a live incident yet: an empty history, and the answer is the paging state's
    const fresh = await get('/incidents/inc_app_open_000001', '/incidents/{id}');
    expect(fresh.body.history).toEqual([]);
    expect((fresh.body.source as { from: string }).from).toBe('paging-state');
  });

  it('the lake down or slow: a live incident still answers (lake unavailable); a lake-only one is a 503', async () => {
    const lake = new MemoryLake(AGE, [OLD], [OLD.summary]);
    const { get } = await setup(lake, 200);
    lake.state = 'down';
    const live = await get('/incidents/inc_app_open_000001', '/incidents/{id}');
    expect(live.status).toBe(200);
    expect(live.body.source).toEqual({
      from: 'paging-state',
      read_at: new Date(T0).toISOString(),
      lake: { available: false, error: 'S3 unreachable, and the local lake cache has no copy to answer from' },
    });
    expect(live.body).not.toHaveProperty('history');
    expect((await get('/incidents/inc_b', '/incidents/{id}')).status).toBe(503);
    lake.state = 'hung';
    const slow = await get('/incidents/inc_app_open_000001', '/incidents/{id}');
    expect(slow.status).toBe(200);
    expect((slow.body.source as { lake: unknown }).lake).toEqual({
      available: false,
      error: 'the lake did not answer within 200 ms',
    });
    lake.state = 'up';
    expect((await get('/incidents/inc_nope_0001', '/incidents/{id}')).status).toBe(404);
  });

  it('a key reads a lake-only incident of its teams only', async () => {
    const lake = new MemoryLake(AGE, [OLD], [OLD.summary]);
    const { env, get } = await setup(lake);
    const { key } = await env.keys.createApiKey({ name: 'db', teams: ['db'], actions: ['read'] }, T0);
    expect((await get('/incidents/inc_b', '/incidents/{id}', key)).status).toBe(403);
  });
});

describe('GET /incidents: resolved incidents the paging state no longer holds come from the lake', () => {
  const older = [
    lakeRow('inc_app_resolved_03', T0 - 180_000, 'app'), // also live: the live one wins
    lakeRow('inc_app_old_0000010', T0 - 3 * DAY, 'app'),
    lakeRow('inc_db_old_00000011', T0 - 4 * DAY, 'db'),
    lakeRow('inc_app_unresolved_12', T0 - 5 * DAY, 'app', false), // not resolved in the lake: not listed
    lakeRow('inc_app_ancient_0013', T0 - 20 * DAY, 'app'),
  ];

  it('status=resolved&since=: live first, the lake’s older ones after, deduped, paged across both', async () => {
    const lake = new MemoryLake(AGE, [], older);
    const { get } = await setup(lake);
    const since = new Date(T0 - 30 * DAY).toISOString();
    const all = await get(`/incidents?status=resolved&since=${since}`, '/incidents');
    expect((all.body.incidents as { id: string; status: string }[]).map((i) => i.id)).toEqual([
      'inc_app_resolved_03',
      'inc_app_old_0000010',
      'inc_db_old_00000011',
      'inc_app_ancient_0013',
    ]);
    expect((all.body.incidents as { alarm_arn: string }[])[0].alarm_arn).toBe(
      'arn:aws:cloudwatch:us-east-1:123456789012:alarm:inc_app_resolved_03-cpu', // the live state's
    );
    expect(all.body.source).toEqual({ from: 'paging-state+lake', read_at: new Date(T0).toISOString(), lake: lakeUp });
    const p1 = await get(`/incidents?status=resolved&since=${since}&limit=2&team=app`, '/incidents');
    expect((p1.body.incidents as { id: string }[]).map((i) => i.id)).toEqual([
      'inc_app_resolved_03',
      'inc_app_old_0000010',
    ]);
    const p2 = await get(
      `/incidents?status=resolved&since=${since}&limit=2&team=app&cursor=${p1.body.next_cursor}`,
      '/incidents',
    );
    expect((p2.body.incidents as { id: string }[]).map((i) => i.id)).toEqual(['inc_app_ancient_0013']);
    expect(p2.body.next_cursor).toBeNull();
    // the default since (7 days): the ancient one is not listed
    const week = await get('/incidents', '/incidents');
    expect((week.body.incidents as { id: string }[]).map((i) => i.id)).toEqual([
      'inc_db_open_0000004',
      'inc_app_open_000001',
      'inc_app_resolved_03',
      'inc_app_old_0000010',
      'inc_db_old_00000011',
    ]);
  });

  it('open or acknowledged: the paging state alone, the lake not asked', async () => {
    const lake = new MemoryLake(AGE, [], older);
    const { get } = await setup(lake);
    const open = await get('/incidents?status=open', '/incidents');
    expect(open.body.source).toEqual({ from: 'paging-state', read_at: new Date(T0).toISOString() });
    expect(lake.readers).toBe(0);
  });

  it('the lake down: the live incidents still answer, the lake part marked unavailable', async () => {
    const lake = new MemoryLake(AGE, [], older);
    const { get } = await setup(lake);
    lake.state = 'down';
    const res = await get('/incidents?status=resolved', '/incidents');
    expect(res.status).toBe(200);
    expect((res.body.incidents as { id: string }[]).map((i) => i.id)).toEqual(['inc_app_resolved_03']);
    expect(res.body.source).toEqual({
      from: 'paging-state',
      read_at: new Date(T0).toISOString(),
      lake: { available: false, error: 'S3 unreachable, and the local lake cache has no copy to answer from' },
    });
  });
});

describe('mergeResolved', () => {
  it('stops the lake’s part at the live page’s end when the paging state has more (its next decides)', async () => {
    const live = {
      incidents: [incidentState('inc_live_a', { team: 'app', openedAt: T0 - 1000, resolvedAt: T0 })],
      next: { openedAt: T0 - 1000, id: 'inc_live_a' },
    };
    const lake = [lakeRow('inc_lake_newer', T0 - 500, 'app'), lakeRow('inc_lake_older', T0 - 5000, 'app')];
    const merged = await mergeResolved(live, lake, { limit: 5 }, async () => false);
    expect(merged.incidents.map((i) => i.id)).toEqual(['inc_lake_newer', 'inc_live_a']);
    expect(merged.next).toEqual({ openedAt: T0 - 1000, id: 'inc_live_a' });
    expect(merged.fromLake).toBe(1);
  });

  it('a lake incident the paging state still holds (on another page) is left to the live list', async () => {
    const lake = [lakeRow('inc_lake_a', T0 - 500, 'app'), lakeRow('inc_lake_b', T0 - 600, 'app')];
    const merged = await mergeResolved({ incidents: [] }, lake, { limit: 5 }, async (id) => id === 'inc_lake_a');
    expect(merged.incidents.map((i) => i.id)).toEqual(['inc_lake_b']);
    expect(merged.next).toBeUndefined();
  });
});
