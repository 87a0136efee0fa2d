import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../../schemas/lake.js';
import type { QueryResult } from '../../analysis/query/result.js';
import { loadLakeData } from '../../analysis/report/data.js';
import { renderIncident } from '../../analysis/report/render-incident.js';
import { renderOverview } from '../../analysis/report/render-overview.js';
import { buildTimeline, incidentRows } from '../../analysis/report/timeline.js';
import { eventRowBuilder, eventsWithViews, receiptOf, type DuckConnection } from '../helpers/events-duckdb.js';

/**
 * The incident page from lake rows through the real views on DuckDB (issue 20 row 14): why each person was paged
 * comes from the dispatch's `detail.resolved_by` as the lake processor writes it; the SMS of a person who acked by
 * voice is "not needed", although the view's verdict for it is a `no`; the status and the time to resolve.
 */
const T = Date.parse('2026-11-28T12:00:00.000Z');
const s = (sec: number) => T + sec * 1000;

const row = eventRowBuilder({
  incident_id: 'inc_api',
  alarm_arn: 'arn:aws:cloudwatch:us-east-1:1:alarm:orders-api',
  alarm_name: 'orders-api',
  timestamp: T,
});
const dispatch = (sec: number, person: string, channel: string, message_id: string, why: object) =>
  row({
    kind: 'dispatch',
    status: 'sent',
    timestamp: s(sec),
    person,
    level: 1,
    channel,
    provider: 'twilio',
    message_id,
    recipient: channel === 'voice' ? '+15551230001' : '+15551230002',
    escalate_at: s(sec + 300),
    detail: JSON.stringify({ resolved_by: why }), // as processors/lake/join.ts writes it
  });
const receipt = (sec: number, of: EventRow, status: string) => row({ ...receiptOf(of), timestamp: s(sec), status });

const aliceCall = dispatch(2, 'alice', 'voice', 'CA1', {
  schedule: 'orders-primary',
  layer: 'weekdays',
  source: 'rotation',
});
const aliceSms = dispatch(2, 'alice', 'sms', 'SM1', {
  schedule: 'orders-primary',
  layer: 'weekdays',
  source: 'rotation',
});
const bobSms = dispatch(3, 'bob', 'sms', 'SM2', {
  schedule: 'orders-shadow',
  layer: 0,
  source: 'override',
  override: true,
});
const ROWS: EventRow[] = [
  row({ kind: 'alarm', status: 'alarm', channel: null, provider: null, timestamp: s(0) }),
  aliceCall,
  aliceSms,
  bobSms,
  receipt(5, aliceSms, 'delivered'),
  receipt(6, bobSms, 'delivered'),
  receipt(8, aliceCall, 'opened'), // answered
  row({
    kind: 'ack',
    status: 'acked',
    channel: 'voice',
    person: 'alice',
    message_id: 'CA1',
    reason: 'voice_key',
    timestamp: s(12),
  }),
  row({ kind: 'alarm', status: 'ok', channel: null, provider: null, timestamp: s(600) }),
];

let conn: DuckConnection;
const query = async (sql: string): Promise<QueryResult> => {
  const r = await conn.runAndReadAll(sql);
  return { columns: r.columnNames(), rows: r.getRowsJson() as unknown[][] };
};
let page: string;

/** The pages table's rows: cells' text. */
const pagesRows = (html: string) =>
  [
    ...(/<table id="pages-table">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '').matchAll(
      /<tr>(.*?)<\/tr>/g,
    ),
  ].map((r) =>
    [...r[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, '').replaceAll('&quot;', '"')),
  );

beforeAll(async () => {
  conn = await eventsWithViews(ROWS);
  const rows = await incidentRows(query, 'orders-api');
  if (!rows) throw new Error('no incident in the lake');
  page = await renderIncident(buildTimeline(rows, { alice: { name: 'Alice Ng' }, bob: { name: 'Bob Diaz' } }), {
    timeZone: 'UTC',
    indexHref: 'index.html',
  });
});
afterAll(() => conn?.closeSync());

describe('the incident page from the lake', () => {
  it('says why each person was paged: the schedule and its layer, or its override', () => {
    expect(pagesRows(page).map((r) => `${r[0]} | ${r[1]} | ${r[3]}`)).toEqual([
      'Alice Ng | schedule orders-primary · layer "weekdays" (rotation) | voice call',
      'Alice Ng | schedule orders-primary · layer "weekdays" (rotation) | SMS',
      'Bob Diaz | schedule orders-shadow · override overrides[0] | SMS',
    ]);
  });

  it("shows Alice's SMS neutrally (she acked by voice); Bob's delivered, unread SMS stays a no", async () => {
    const verdicts = await query(
      "SELECT message_id, MAX(opened_before_this_page_escalated) AS v FROM alert_events WHERE kind = 'dispatch' " +
        'GROUP BY message_id ORDER BY message_id',
    );
    // the lake's verdicts: the SMS pages are no (delivered, no read receipt)
    expect(verdicts.rows).toEqual([
      ['CA1', 'yes'],
      ['SM1', 'no (delivered, no read receipt)'],
      ['SM2', 'no (delivered, no read receipt)'],
    ]);
    expect(pagesRows(page).map((r) => r.at(-1))).toEqual([
      'yes',
      'not needed: acked by voice call',
      'no (delivered, no read receipt)',
    ]);
  });

  it('gives the status and the time to resolve, on the page and in the incident list', async () => {
    expect(page).toContain('data-status="resolved"');
    expect(page).toContain('<dd data-duration="time-to-acknowledge">12 s</dd>');
    expect(page).toContain('<dd data-duration="time-to-resolve">10 min 00 s</dd>');
    const data = await loadLakeData(query, { from: s(-60), to: s(3600) });
    const index = await renderOverview(data, {
      from: s(-60),
      to: s(3600),
      timeZone: 'UTC',
      hrefOf: (id) => `${id}.html`,
      generatedAt: s(3600),
    });
    expect(index).toMatch(
      /data-status="resolved">resolved<\/span><\/td><td>alice after 12 s<\/td><td>after 10 min 00 s</,
    );
  });
});
