import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { EventJoin } from '../../processors/lake/join.js';
import { flushRecords } from '../../processors/lake/flush.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { T0, alarmEvent, asShardRecords, dispatch, receipt } from '../fixtures/records.js';

/**
 * `make query` fetched only the partitions a regex over the whole SQL allowed, and applied that dt
 * filter to every table: a join with raw_records (partitioned by arrival day) or a second reference to
 * events (another day's rows) silently lost rows. These queries read across days and must not.
 */
describe('make query: partition pruning never changes an answer', () => {
  let stack: LocalStack;
  let eventsOn28 = 0;
  const query = (sql: string) =>
    queryDuckDb(sql, {
      s3: stack.clients.s3,
      bucket: stack.config.LAKE_BUCKET,
      cacheDir: stack.config.QUERY_CACHE_DIR,
    });

  beforeAll(async () => {
    stack = await startLocalStack({ shards: 1 });
    // The alarm fires at 23:59 on the 27th; its page and receipts come on the 28th; every record arrives on the 28th.
    const records = asShardRecords([
      alarmEvent({ at: T0 - 10 * 3600_000 - 60_000 }),
      dispatch('SM1', T0),
      receipt('SM1', 'delivered', T0 + 2000),
      dispatch('SM2', T0 + 3000),
      receipt('SM2', 'opened', T0 + 4000),
    ]);
    const join = new EventJoin({ allowedLatenessMs: 60_000 });
    const store = new LakeStore(stack.clients.s3, stack.config.LAKE_BUCKET);
    for (const batch of [records.slice(0, 2), records.slice(2)]) {
      const { objects } = flushRecords(batch[0].shardId, join, batch);
      await store.putAll(objects);
      eventsOn28 += objects.filter((o) => o.key.startsWith('tables/events/dt=2026-11-28/')).length;
    }
  }, 30_000);

  afterAll(() => stack?.stop());

  it('a join of events (day of the event) with raw_records (day of arrival)', async () => {
    const r = await query(
      'SELECT e.kind, r.dt FROM events e JOIN raw_records r ON r.sequence_number = e.sequence_number ' +
        "WHERE e.dt = '2026-11-27'",
    );
    expect(r.rows).toEqual([['alarm', '2026-11-28']]);
  }, 30_000);

  it('a self-join across days', async () => {
    const r = await query(
      'SELECT r.message_id, a.kind, a.dt FROM events r ' +
        "JOIN events a ON a.alarm_arn = r.alarm_arn AND a.kind = 'alarm' " +
        "WHERE r.dt = '2026-11-28' AND r.kind = 'receipt' ORDER BY 1",
    );
    expect(r.rows).toEqual([
      ['SM1', 'alarm', '2026-11-27'],
      ['SM2', 'alarm', '2026-11-27'],
    ]);
  }, 30_000);

  it('a second, unfiltered reference to events in a subquery', async () => {
    const r = await query(
      "SELECT count(*) FROM events WHERE dt = '2026-11-28' " +
        "AND alarm_arn IN (SELECT alarm_arn FROM events WHERE kind = 'alarm')",
    );
    expect(r.rows).toEqual([['4']]);
  }, 30_000);

  it('still prunes a query of one table with a top-level dt predicate', async () => {
    const r = await query("SELECT count(*) FROM events WHERE dt = '2026-11-28'");
    expect(r.rows).toEqual([['4']]);
    expect(r.fetched + r.cached).toBe(eventsOn28);
  }, 30_000);
});
