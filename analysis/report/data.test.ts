import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../../schemas/lake.js';
import { eventRowBuilder, eventsWithViews, receiptOf, type DuckConnection } from '../../test/helpers/events-duckdb.js';
import type { QueryResult } from '../query/result.js';
import { loadLakeData, type LakeData } from './data.js';
import { renderOverview } from './render-overview.js';
import { funnel, totals } from './stats.js';

/**
 * The report's counts over the real views on DuckDB, for an incident whose ack was told to the others by SMS
 * and email (notices): the header, the incident list's pages column, the funnel and the failures all leave the
 * notices out, by the one definition in schemas/views.ts.
 */
const T = Date.parse('2026-11-28T12:00:00.000Z');
const s = (sec: number) => T + sec * 1000;

const row = eventRowBuilder({
  incident_id: 'inc_pay',
  alarm_arn: 'arn:aws:cloudwatch:us-east-1:1:alarm:payments-api',
  alarm_name: 'payments-api',
  timestamp: T,
});
const dispatch = (sec: number, person: string, channel: string, message_id: string, reason: string | null = null) =>
  row({
    kind: 'dispatch',
    status: 'sent',
    timestamp: s(sec),
    person,
    level: 1,
    channel,
    provider: channel === 'email' ? 'resend' : 'twilio',
    message_id,
    recipient: channel === 'email' ? `${person}@example.com` : '+15551230009',
    escalate_at: s(sec + 60),
    reason,
  });
const receipt = (sec: number, of: EventRow, status: string) => row({ ...receiptOf(of), timestamp: s(sec), status });

const frankCall = dispatch(2, 'frank', 'voice', 'CA1');
const frankSms = dispatch(2, 'frank', 'sms', 'SM1');
const graceSms = dispatch(20, 'grace', 'sms', 'SMN', 'notice_ack'); // grace told of frank's ack: a notice
const graceEmail = dispatch(20, 'grace', 'email', 're_n', 'notice_ack');
const ROWS: EventRow[] = [
  row({ kind: 'alarm', status: 'alarm', channel: null, provider: null, timestamp: s(0) }),
  frankCall,
  frankSms,
  receipt(5, frankCall, 'opened'), // answered by a person
  receipt(6, frankSms, 'delivered'),
  // a failover on silence (as processors/lake/join.ts writes it): counted apart, never a failure nor a page
  row({
    kind: 'escalation',
    status: 'escalated',
    reason: 'failover',
    level: 1,
    to_level: 1,
    person: 'frank',
    channel: 'voice',
    message_id: 'CA1',
    detail: JSON.stringify({ cause: 'no_receipt', silence_ms: 4000 }),
    timestamp: s(6),
  }),
  row({ kind: 'ack', status: 'acked', channel: 'voice', person: 'frank', message_id: 'CA1', timestamp: s(10) }),
  receipt(12, frankCall, 'opened'), // completed
  graceSms,
  graceEmail,
  receipt(22, graceSms, 'delivered'),
  receipt(23, graceEmail, 'bounced'),
];

let conn: DuckConnection;
let data: LakeData;
const query = async (sql: string): Promise<QueryResult> => {
  const r = await conn.runAndReadAll(sql);
  return { columns: r.columnNames(), rows: r.getRowsJson() as unknown[][] };
};

beforeAll(async () => {
  conn = await eventsWithViews(ROWS);
  data = await loadLakeData(query, { from: s(-60), to: s(3600) });
});
afterAll(() => conn?.closeSync());

describe('report counts: notices are never pages', () => {
  it('lists only the pages, and the header counts what the pages column sums to', () => {
    expect(data.pages.map((p) => `${p.person}:${p.channel}`).sort()).toEqual(['frank:sms', 'frank:voice']);
    expect(data.incidents.map((i) => [i.pages, i.notices])).toEqual([[2, 2]]);
    expect(totals(data)).toEqual({ incidents: 1, pages: 2, notices: 2, failures: 0, silent: 1 });
  });

  it('the funnel counts no notice: one SMS sent, not two', () => {
    expect(funnel(data.pages).filter((r) => r.stage === 'sent')).toEqual([
      { channel: 'sms', stage: 'sent', pages: 1 },
      { channel: 'voice', stage: 'sent', pages: 1 },
    ]);
  });

  it('a notice that bounced is no failed page', () => {
    expect(data.failures).toEqual([]);
  });

  it('the overview header says so', async () => {
    const out = await renderOverview(data, {
      from: s(-60),
      to: s(3600),
      timeZone: 'UTC',
      hrefOf: (id) => `${id}.html`,
      generatedAt: s(3600),
    });
    expect(out).toContain('1 incidents, 2 pages (+ 2 notices, not pages), 0 failures, 1 failed over on silence');
  });
});
