import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../test/helpers/local-stack.js';
import { EventJoin } from '../../processors/lake/join.js';
import { flushRecords } from '../../processors/lake/flush.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import {
  ALARM_ARN,
  INCIDENT,
  T0,
  ack,
  alarmEvent,
  asShardRecords,
  dispatch,
  escalation,
  receipt,
} from '../../test/fixtures/records.js';
import type { Config } from '../../platform/config.js';
import { runQueryCommand, UsageError } from './command.js';
import { queryDuckDb } from './duckdb-engine.js';
import { UnknownNamedQueryError, UnknownTableError } from './errors.js';
import { AUDIT_VERDICT_COLUMNS, NAMED_QUERIES } from './named-queries.js';
import { freePort } from '../../infra/local/engines.js';

/** A port nothing listens on (taken, then released). */
describe('make query over a small lake (DuckDB)', () => {
  let stack: LocalStack;
  let config: Config;
  const dirs: string[] = [];
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), name));
    dirs.push(dir);
    return dir;
  };
  const run = async (opts: { sql?: string; name?: string; format?: string; width?: number }, cfg: Config = config) => {
    const out: string[] = [];
    const err: string[] = [];
    await runQueryCommand({ ...opts, config: cfg, out: (t) => out.push(t), err: (l) => err.push(l) });
    return { out: out.join('\n'), err };
  };

  beforeAll(async () => {
    stack = await startLocalStack({ shards: 1 });
    config = { ...stack.config, QUERY_CACHE_DIR: tempDir('pagetrail-query-cache-') };
    const store = new LakeStore(stack.clients.s3, config.LAKE_BUCKET);
    // One incident on shard 0: alice paged by SMS and email at level 1, the email opened, the level
    // escalates, bob paged by SMS at level 2 acks. Shard 1 receives one record that is not JSON.
    const bobAcks = ack(T0 + 400_000, 'SM2');
    if (bobAcks.kind === 'ack') bobAcks.person = 'bob';
    const story = asShardRecords([
      alarmEvent({ at: T0 }),
      dispatch('SM1', T0 + 1000),
      dispatch('EM1', T0 + 2000, { channel: 'email', provider: 'resend', recipient: 'alice@example.com' }),
      receipt('SM1', 'delivered', T0 + 3000),
      receipt('EM1', 'opened', T0 + 60_000, { channel: 'email', provider: 'resend' }),
      escalation(T0 + 300_000),
      dispatch('SM2', T0 + 300_500, { person: 'bob', level: 2, recipient: '+15551230002' }),
      bobAcks,
    ]);
    await store.putAll(
      flushRecords('shardId-000000000000', new EventJoin({ allowedLatenessMs: 60_000 }), story).objects,
    );
    const bad = asShardRecords([new TextEncoder().encode('not json {')], {
      shardId: 'shardId-000000000001',
      arrival: T0 + 5000,
    });
    await store.putAll(flushRecords('shardId-000000000001', new EventJoin({ allowedLatenessMs: 60_000 }), bad).objects);
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('runs every named query on DuckDB as written for Athena; the audit tells the incident', async () => {
    for (const q of NAMED_QUERIES) await expect(run({ name: q.name }), q.name).resolves.toBeDefined();
    const { out } = await run({ name: 'incident-audit', format: 'json' });
    const [row] = JSON.parse(out) as Record<string, unknown>[];
    expect(row).toMatchObject({
      incident_id: INCIDENT,
      alarm: 'api-cpu-high',
      sev: 'P1',
      paged: 'alice:email@L1 alice:sms@L1 bob:sms@L2',
      delivered: '+3s',
      opened: '+60s',
      acked: '+400s',
      escalated: '+300s',
      told: null, // nobody was told of the ack: NULL, the one spelling of "none" (not a "-" of the query's own)
    });
    for (const c of AUDIT_VERDICT_COLUMNS) expect(row).toHaveProperty(c.split(/ AS |\./).pop()!);
    expect(row.acked_by).toBe('bob');
    // Wider than 120 columns as a table: printed vertically, every field on a line of its own, none cut.
    const audit = (await run({ name: 'incident-audit', width: 120 })).out;
    expect(audit).toMatch(/^-\[ RECORD 1 \]-+\n/);
    expect(audit).toMatch(/^told: +NULL$/m);
    expect(audit).toMatch(/^paged: +alice:email@L1 alice:sms@L1 bob:sms@L2$/m);
    for (const l of audit.split('\n')) expect(l.length).toBeLessThanOrEqual(120);
    const seed = JSON.parse((await run({ name: 'opened-before-escalation', format: 'json' })).out);
    expect(seed).toEqual([{ incident_id: INCIDENT, channel: 'email', status: 'opened' }]);
  }, 30_000);

  it('NAME=list lists the named queries; an unknown name lists the known ones', async () => {
    const { out } = await run({ name: 'list', format: 'csv' });
    expect(
      out
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0]),
    ).toEqual(NAMED_QUERIES.map((q) => q.name));
    // The table shows each description whole, wrapped within the width rather than cut.
    const table = (await run({ name: 'list', width: 80 })).out;
    expect(table).not.toContain('…');
    for (const l of table.trimEnd().split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    const words = table.replace(/[|+-]+/g, ' ').split(/\s+/);
    for (const q of NAMED_QUERIES)
      expect(words.join(' ')).toContain(
        q.description
          .replace(/[|+-]+/g, ' ')
          .split(/\s+/)
          .join(' '),
      );
    await expect(run({ name: 'nope' })).rejects.toThrow(UnknownNamedQueryError);
    await expect(run({ name: 'nope' })).rejects.toThrow(/incident-audit/);
    await expect(run({ sql: 'SELECT 1', name: 'incident-audit' })).rejects.toThrow(UsageError);
    await expect(run({ sql: 'SELECT 1', format: 'xml' })).rejects.toThrow(UsageError);
  }, 30_000);

  it('every format carries long values whole: the table wraps them in their column', async () => {
    const sql = "SELECT kind, detail FROM events WHERE kind = 'alarm'";
    const full = (
      await queryDuckDb(sql, { s3: stack.clients.s3, bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR })
    ).rows[0][1] as string;
    expect(full.length).toBeGreaterThan(200);
    expect((await run({ sql, format: 'json' })).out).toContain(JSON.stringify(full).slice(1, -1));
    expect((await run({ sql, format: 'csv' })).out).toContain(full.replaceAll('"', '""'));
    const table = (await run({ sql, width: 120 })).out;
    expect(table).not.toContain('…');
    expect(table.replace(/[\s|]/g, '')).toContain(full.replace(/[\s|]/g, ''));
  }, 30_000);

  it('SHOW TABLES lists the tables and views; an unknown table lists them in the error', async () => {
    const { out } = await run({ sql: 'SHOW TABLES', format: 'json' });
    expect(JSON.parse(out).map((r: { name: string; kind: string }) => `${r.kind}:${r.name}`)).toEqual([
      'table:events',
      'table:raw_records',
      'table:errors',
      'view:alert_events',
      'view:incidents',
    ]);
    const failure = run({ sql: 'SELECT * FROM incident' });
    await expect(failure).rejects.toThrow(UnknownTableError);
    await expect(failure).rejects.toThrow(
      /unknown table "incident".*events, raw_records, errors.*alert_events, incidents/,
    );
  }, 30_000);

  it('errors is a table of the errors/ JSON Lines', async () => {
    const { out } = await run({
      sql:
        'SELECT reason, path, shard_id, sequence_number, partition_key, arrival_time, dt, ' +
        'length(data_base64) > 0 AS has_data FROM errors',
      format: 'json',
    });
    const rows = JSON.parse(out);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      shard_id: 'shardId-000000000001',
      partition_key: ALARM_ARN,
      dt: '2026-11-28',
      has_data: true,
    });
    expect(rows[0].reason).toEqual(expect.any(String));
    expect(Date.parse(rows[0].arrival_time)).toBe(T0 + 5000);
  }, 30_000);

  it('says how fresh the lake is: the last flush per shard', async () => {
    const before = Date.now();
    const { err } = await run({ sql: 'SELECT count(*) FROM events' });
    const line = err.find((l) => l.startsWith('lake fresh to'));
    expect(line).toMatch(
      new RegExp(
        String.raw`^lake fresh to \d\d:\d\d:\d\d \(shardId-000000000000\), \d\d:\d\d:\d\d \(shardId-000000000001\) ` +
          String.raw`UTC on \d{4}-\d\d-\d\d \[last flush per shard\]$`,
      ),
    );
    // The objects were written during this test run (s3rver's LastModified), not at the records' event times.
    expect(line).toContain(new Date(before).toISOString().slice(0, 10));
  }, 30_000);

  it('answers from the local cache when S3 is down, and says so', async () => {
    const sql = 'SELECT kind, count(*) AS n FROM alert_events GROUP BY kind ORDER BY kind';
    const online = await run({ sql, format: 'csv' });
    const down = { ...config, S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` };
    const offline = await run({ sql, format: 'csv' }, down);
    expect(offline.out).toBe(online.out);
    expect(offline.err.join('\n')).toMatch(/S3 unreachable \(ECONNREFUSED\): answered from the local cache/);
    expect(offline.err.find((l) => l.startsWith('lake fresh to'))).toMatch(
      /\(shardId-000000000001\).*from the cache's listing of .* S3 unreachable/,
    );
    // Nothing cached for a table never read: a clear error, not an empty answer.
    await expect(
      run({ sql: 'SELECT count(*) FROM raw_records' }, { ...down, QUERY_CACHE_DIR: tempDir('pagetrail-empty-cache-') }),
    ).rejects.toThrow(/S3 unreachable .* no earlier listing/);
  }, 30_000);
});
