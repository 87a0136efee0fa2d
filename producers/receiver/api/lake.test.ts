import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventJoin } from '../../../processors/lake/join.js';
import { flushRecords } from '../../../processors/lake/flush.js';
import { LakeStore } from '../../../processors/lake/lake-store.js';
import { startLocalStack, type LocalStack } from '../../../test/helpers/local-stack.js';
import { INCIDENT, T0, ack, alarmEvent, asShardRecords, dispatch, receipt } from '../../../test/fixtures/records.js';
import { QueryLakeHistory } from './lake.js';
import { CONSOLE_ONCALL, MemoryIncidents, consoleTestApp, createAuthTable } from './testing.js';

/**
 * The incident API over a real lake: the lake processor's own flush (processors/lake: EventJoin, flushRecords,
 * LakeStore) writes one incident to S3 (s3rver), the paging state has forgotten it (its TTL), and GET
 * /api/v1/incidents/{id} answers it from the lake through the DuckDB engine (analysis/query), in `make incident`'s
 * words, with the lake's data age; with S3 stopped, from the lake cache (it says so), and with no cache, not at all
 * (the live list still answers).
 */
describe('the incident API over a lake the lake processor wrote (DuckDB)', () => {
  let stack: LocalStack;
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagetrail-api-lake-'));
    dirs.push(dir);
    return dir;
  };
  const NOW = T0 + 3 * 86_400_000; // three days later: the paging state no longer holds it

  beforeAll(async () => {
    stack = await startLocalStack({ shards: 1 });
    const story = asShardRecords([
      alarmEvent({ at: T0 }),
      dispatch('SM1', T0 + 1000),
      receipt('SM1', 'delivered', T0 + 3000),
      ack(T0 + 40_000, 'SM1'),
      alarmEvent({ at: T0 + 600_000, state: 'OK' }),
    ]);
    const flush = flushRecords('shardId-000000000000', new EventJoin({ allowedLatenessMs: 60_000 }), story);
    await new LakeStore(stack.clients.s3, stack.config.LAKE_BUCKET).putAll(flush.objects);
    await createAuthTable(stack.clients.dynamodb, 'api-lake-auth');
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const appWith = async (cacheDir: string) => {
    const lake = new QueryLakeHistory({
      config: { ...stack.config, ENGINE: 'duckdb', QUERY_CACHE_DIR: cacheDir },
      s3: stack.clients.s3,
      oncall: () => CONSOLE_ONCALL,
      now: () => NOW,
    });
    const env = consoleTestApp({
      dynamodb: stack.clients.dynamodb,
      table: 'api-lake-auth',
      incidents: new MemoryIncidents([]),
      now: () => NOW,
      lake,
    });
    const { key } = await env.keys.createApiKey({ name: 'all', teams: ['*'], actions: ['read'] }, NOW);
    return async (path: string) => {
      const res = await env.app.request(`/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
  };

  it('answers an incident the paging state forgot from the lake, then from the cache with S3 down', async () => {
    const cacheDir = tempDir();
    const get = await appWith(cacheDir);
    const { status, body } = await get(`/incidents/${INCIDENT}`);
    expect(status).toBe(200);
    expect(body.incident).toMatchObject({
      id: INCIDENT,
      alarm_name: 'api-cpu-high',
      team: 'app',
      status: 'resolved',
      opened_at: new Date(T0).toISOString(),
      acked_at: new Date(T0 + 40_000).toISOString(),
      acked_by: 'alice',
      resolved_at: new Date(T0 + 600_000).toISOString(),
    });
    expect((body.timeline as { at: string; what: string }[]).map((e) => `${e.at.slice(11, 19)} ${e.what}`)).toEqual([
      '10:00:00 alarm api-cpu-high (P1) went to ALARM: incident opened',
      '10:00:01 paged Alice Ng (level 1) by SMS → delivered 10:00:03',
      '10:00:40 acknowledged by Alice Ng (SMS reply)',
      '10:10:00 alarm back to OK: incident resolved',
    ]);
    expect(body.pages).toEqual([
      {
        person: 'alice',
        person_name: 'Alice Ng',
        level: 1,
        round: 0,
        channel: 'sms',
        status: 'delivered',
        message_id: 'SM1',
        sent_at: new Date(T0 + 1000).toISOString(),
      },
    ]);
    const source = body.source as { from: string; lake: Record<string, unknown> };
    expect(source.from).toBe('lake');
    // the data age: the newest flush, as S3 dated the object the flush wrote (s3rver: its own clock)
    expect(source.lake).toMatchObject({ available: true, engine: 'duckdb', from_cache: false });
    expect(Number.isNaN(Date.parse(String(source.lake.data_as_of)))).toBe(false);
    expect(source.lake.text).toMatch(/^lake data as of /);

    const resolved = await get(`/incidents?status=resolved&since=${new Date(T0 - 60_000).toISOString()}`);
    expect((resolved.body.incidents as { id: string }[]).map((i) => i.id)).toEqual([INCIDENT]);
    expect((resolved.body.source as { from: string }).from).toBe('paging-state+lake');

    await stack.engines.s3.close();
    const offline = await (await appWith(cacheDir))(`/incidents/${INCIDENT}`);
    expect(offline.status).toBe(200);
    expect((offline.body.timeline as unknown[]).length).toBe(4);
    expect((offline.body.source as { lake: { from_cache: boolean; text: string } }).lake).toMatchObject({
      from_cache: true,
      text: expect.stringContaining('S3 unreachable'),
    });

    // no cache to answer from: the lake is unavailable; the list still answers (the paging state's, empty here)
    const none = await appWith(tempDir());
    const list = await none('/incidents?status=resolved');
    expect(list.status).toBe(200);
    expect(list.body.source).toMatchObject({ from: 'paging-state', lake: { available: false } });
    expect((await none(`/incidents/${INCIDENT}`)).status).toBe(503);
  }, 60_000);
});
