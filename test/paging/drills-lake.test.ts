import { afterAll, describe, expect, it } from 'vitest';
import { EventJoin } from '../../processors/lake/join.js';
import { eventsWithViews, type DuckConnection } from '../helpers/events-duckdb.js';
import { alarmEvent, dispatch, receipt as incidentReceipt, T0 } from '../fixtures/records.js';
import { decode, dueDrill, SHIFT } from '../../processors/paging/drills/drill.fixtures.js';

/**
 * A reachability drill is never a page: its records (test pages, receipts, the result) through the lake's join, then
 * the views on DuckDB beside a real incident: the `events` table keeps the drill (dispatch reason drill /
 * drill_notice, kind drill), the `incidents` and `alert_events` views (so the verdicts, MTTA and the report) do not.
 */
describe('a drill is never a page', () => {
  let conn: DuckConnection | undefined;
  afterAll(() => conn?.closeSync());

  it('in the lake: its rows are in `events` (reason drill), not in the views, the pages or the verdicts', async () => {
    const { run, due } = dueDrill();
    const t = SHIFT - 3600_000;
    run.apply(due, t);
    run.receipt('sms', 'undelivered', t + 4000, '30003').receipt('email', 'delivered', t + 5000);
    const end = run.scheduled('window_end');
    run.apply(end.record, end.at);
    // one real incident beside it: an alarm, its page and a delivered receipt
    const incident = [alarmEvent(), dispatch('SM900', T0 + 1000), incidentReceipt('SM900', 'delivered', T0 + 3000)];
    const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000 });
    [...incident, due, end.record, ...run.records].forEach((r, i) => {
      join.push(decode(r), { shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i), arrivalTime: T0 + i });
    });
    join.releaseWaiting();
    const rows = join.drain();
    expect(rows.filter((r) => r.kind === 'dispatch' && r.reason === 'drill')).toHaveLength(3);
    expect(rows.filter((r) => r.kind === 'dispatch' && r.reason === 'drill_notice')).toHaveLength(2);
    expect(rows.find((r) => r.kind === 'drill' && r.status === 'failed')?.detail).toContain('30003');
    conn = await eventsWithViews(rows);
    const q = async (sql: string) => (await conn!.runAndReadAll(sql)).getRowObjectsJson();
    expect(await q('SELECT incident_id, pages, failed_deliveries FROM incidents')).toEqual([
      { incident_id: rows[0].incident_id, pages: '1', failed_deliveries: '0' },
    ]);
    expect(await q("SELECT count(*) AS n FROM alert_events WHERE incident_id LIKE 'drl%'")).toEqual([{ n: '0' }]);
    expect(await q("SELECT status, reason FROM events WHERE kind = 'drill' ORDER BY status")).toEqual([
      { status: 'due', reason: 'drill_due' },
      { status: 'failed', reason: 'drill_result' },
      { status: 'window_end', reason: 'drill_window_end' },
    ]);
  });
});
