import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventJoin } from '../../processors/lake/join.js';
import { type DrillRecordIn, drillArn, drillId } from '../../schemas/drill-record.js';
import { StreamRecord } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import type { EventRow } from '../../schemas/lake.js';
import { parseOnCallConfig } from '../../schemas/oncall/config.js';
import { type DuckConnection, eventRowBuilder, eventsWithViews } from '../../test/helpers/events-duckdb.js';
import type { QueryResult } from '../query/result.js';
import { buildReport } from './build.js';
import { loadDrillResults, reachabilityRows, renderReachability, type ShiftReachability } from './reachability.js';

/**
 * The report's "On call: reachability" section from a lake on DuckDB whose drill rows went through the lake's real
 * join (processors/lake/join.ts): the report ends Thursday 22 October 2026 14:00 Berlin (12:00Z), so the coming 7
 * days cross the end of summer time (Sunday 25 October, 03:00 CEST → 02:00 CET). `primary` hands off daily at 09:00
 * Berlin (frank, grace, frank… from 1 October), with lee's override on the 23rd; `backup` is ann's all week.
 * - grace's drill for her current shift failed (SMS undelivered, Twilio 30003; the email delivered, not answered);
 * - frank's drill of the 21st passed (and a failed one decided after the report's end does not count);
 * - ann's latest drill was skipped for quiet hours, the one that passed is 8 days old: not proven;
 * - lee has no drill at all: not proven.
 */
const at = (s: string) => Date.parse(s);
const END = at('2026-10-22T12:00:00Z');

const cfg = parseOnCallConfig(
  {
    people: {
      frank: { name: 'Frank', sms: '+15551230006', email: 'frank@example.com' },
      grace: { name: 'Grace', sms: '+15551230007', email: 'grace@example.com' },
      lee: { name: 'Lee Lead', sms: '+15551230009', email: 'lee@example.com' },
      ann: { name: 'Ann', sms: '+15551230010', email: 'ann@example.com' },
    },
    schedules: {
      primary: {
        time_zone: 'Europe/Berlin',
        layers: [
          { name: 'day', participants: ['frank', 'grace'], rotation: 'daily', handoff: '09:00', start: '2026-10-01' },
        ],
        overrides: [{ person: 'lee', from: '2026-10-23T13:00:00+02:00', to: '2026-10-23T17:00:00+02:00' }],
        drill: { owner: ['lee'] },
      },
      backup: {
        time_zone: 'Europe/Berlin',
        layers: [{ participants: ['ann'], rotation: 'weekly', handoff: '09:00', start: '2026-10-19' }],
        drill: { owner: ['lee'] },
      },
    },
    teams: {
      payments: {
        members: ['frank', 'grace', 'lee', 'ann'],
        escalation: {
          P1: {
            levels: [{ targets: ['schedule:primary', 'schedule:backup'], channels: ['sms', 'email'], deadline_s: 300 }],
          },
        },
      },
    },
    default_team: 'payments',
    twilio: { sms_from: '+15550000000' },
    email: { from: 'alerts@example.com' },
  },
  'test',
);

/** A drill's result record, as drills/engine.ts writes it. */
function result(schedule: string, person: string, shift: string, decided: string, r: Partial<DrillRecordIn>) {
  const id = drillId(schedule, person, at(shift));
  return StreamRecord.parse({
    v: 1,
    kind: 'drill',
    event_id: eventId('drill', id, 'result'),
    incident_id: id,
    alarm_arn: drillArn(schedule),
    event_time: decided,
    phase: 'result',
    schedule,
    person,
    shift_start: shift,
    ...r,
  } as DrillRecordIn);
}

const RECORDS = [
  result('primary', 'grace', '2026-10-22T07:00:00Z', '2026-10-22T06:15:00Z', {
    outcome: 'failed',
    // an older result without the explanation: the report explains the code itself
    channels: [
      {
        channel: 'sms',
        delivered: false,
        responded: false,
        status: 'undelivered',
        provider: 'twilio',
        error_code: '30003',
      },
      { channel: 'email', delivered: true, responded: false, status: 'delivered' },
    ],
    summary: 'sms: undelivered (Twilio 30003: unreachable handset); no answer on any channel',
  }),
  result('primary', 'frank', '2026-10-21T07:00:00Z', '2026-10-21T06:20:00Z', {
    outcome: 'passed',
    channels: [
      { channel: 'sms', delivered: true, responded: true, status: 'delivered' },
      { channel: 'email', delivered: true, responded: false, status: 'opened' },
    ],
    summary: 'reachable on sms, email (answered on sms)',
  }),
  // decided after the report's end: the report does not know it yet
  result('primary', 'frank', '2026-10-23T07:00:00Z', '2026-10-23T06:15:00Z', {
    outcome: 'failed',
    channels: [{ channel: 'sms', delivered: false, responded: false, status: 'failed' }],
    summary: 'sms: failed',
  }),
  // 8 days before the report's end: too old to count
  result('backup', 'ann', '2026-10-12T07:00:00Z', '2026-10-12T06:10:00Z', {
    outcome: 'passed',
    channels: [{ channel: 'sms', delivered: true, responded: true, status: 'delivered' }],
    summary: 'reachable on sms (answered on sms)',
  }),
  result('backup', 'ann', '2026-10-19T07:00:00Z', '2026-10-19T07:00:00Z', {
    outcome: 'skipped',
    why: 'quiet_hours',
    summary: 'not proven: quiet hours last until the shift starts: not drilled',
  }),
];

/** A drill's test page (dispatch reason `drill`) and its receipt: rows of a drill, never pages. */
const drillRow = eventRowBuilder({
  incident_id: drillId('primary', 'grace', at('2026-10-22T07:00:00Z')),
  alarm_arn: drillArn('primary'),
  alarm_name: null,
  timestamp: at('2026-10-22T06:00:00Z'),
  event_id: 'drill-page',
});
const DRILL_PAGE: EventRow[] = [
  drillRow({ kind: 'dispatch', status: 'sent', reason: 'drill', level: 1, person: 'grace', message_id: 'SMd1' }),
];

let conn: DuckConnection;
const query = async (sql: string): Promise<QueryResult> => {
  const r = await conn.runAndReadAll(sql);
  return { columns: r.columnNames(), rows: r.getRowsJson() as unknown[][] };
};
let rows: ShiftReachability[];
const dirs: string[] = [];

beforeAll(async () => {
  const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000 });
  RECORDS.forEach((r, i) => {
    join.push(r, { shardId: 'shardId-000000000000', sequenceNumber: String(100 + i), arrivalTime: r.event_time });
  });
  join.releaseWaiting();
  conn = await eventsWithViews([...join.drain(), ...DRILL_PAGE]);
  const { results, unreadable } = await loadDrillResults(query);
  expect(unreadable).toBe(0);
  rows = reachabilityRows(cfg, results, { at: END });
});
afterAll(async () => {
  conn?.closeSync();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');
const brief = (r: ShiftReachability) => `${iso(r.from)} ${iso(r.to)} ${r.person ?? 'nobody'} ${r.why} ${r.status}`;

describe('the report: on call, reachability of the coming shifts', () => {
  it('every shift of the next 7 days per schedule, with why; DST moves the UTC hand-off, not the local one', () => {
    expect(rows.filter((r) => r.schedule === 'primary').map(brief)).toEqual([
      '2026-10-22T12:00Z 2026-10-23T07:00Z grace layer day unreachable',
      '2026-10-23T07:00Z 2026-10-23T11:00Z frank layer day reachable',
      '2026-10-23T11:00Z 2026-10-23T15:00Z lee override 0 not proven',
      '2026-10-23T15:00Z 2026-10-24T07:00Z frank layer day reachable',
      // 09:00 CEST to 09:00 CET: the shift across the change lasts 25 hours
      '2026-10-24T07:00Z 2026-10-25T08:00Z grace layer day unreachable',
      '2026-10-25T08:00Z 2026-10-26T08:00Z frank layer day reachable',
      '2026-10-26T08:00Z 2026-10-27T08:00Z grace layer day unreachable',
      '2026-10-27T08:00Z 2026-10-28T08:00Z frank layer day reachable',
      '2026-10-28T08:00Z 2026-10-29T08:00Z grace layer day unreachable',
      '2026-10-29T08:00Z 2026-10-29T12:00Z frank layer day reachable',
    ]);
    expect(rows.filter((r) => r.schedule === 'backup').map(brief)).toEqual([
      // the weekly hand-off of 26 October is ann to ann: one shift
      '2026-10-22T12:00Z 2026-10-29T12:00Z ann layer 0 not proven',
    ]);
  });

  it('unreachable: the failed drill, its channels that did not prove it, the provider code in words', () => {
    const grace = rows[0];
    expect(grace.evidence).toBe(
      'drill for this shift failed 2026-10-22 08:15 +02:00: ' +
        'sms: undelivered (Twilio 30003: unreachable handset); no answer on any channel',
    );
    expect(grace.failedChannels).toEqual([
      'SMS: undelivered — Twilio 30003, unreachable handset: ' +
        'The phone was off, out of coverage or could not take the message; the carrier gave up.',
      'email: delivered but not answered',
    ]);
    // her next shift has no drill of its own yet: her latest result stands
    expect(rows[4].evidence).toMatch(/^drill for the shift of 2026-10-22 09:00 \+02:00 failed/);
  });

  it('reachable: the latest passed drill in the 7 days up to the report end (a later result is not known yet)', () => {
    expect(rows[1].evidence).toBe(
      'drill for the shift of 2026-10-21 09:00 +02:00 passed 2026-10-21 08:20 +02:00: ' +
        'reachable on sms, email (answered on sms)',
    );
    expect(rows[1].failedChannels).toEqual([]);
  });

  it('not proven: no result in 7 days; a drill skipped for quiet hours says so', () => {
    expect(rows[2].evidence).toBe('no drill result in the last 7 days');
    expect(rows.find((r) => r.person === 'ann')?.evidence).toBe(
      'latest drill (shift of 2026-10-19 09:00 +02:00) skipped for quiet hours ' +
        '(due in quiet hours, and they lasted until the shift started)',
    );
  });

  it('renders one table per schedule: times in its zone, badges, the failed channels', () => {
    const out = renderReachability(cfg, rows).markup;
    expect(out).toContain('<h2>On call: reachability</h2>');
    expect(out).toContain(
      '<td>Sat 2026-10-24 09:00 +02:00</td><td>Sun 2026-10-25 09:00 +01:00</td><td>Grace (grace)</td>',
    );
    expect(out.match(/data-reachability="unreachable"/g)).toHaveLength(4);
    expect(out.match(/data-reachability="reachable"/g)).toHaveLength(5);
    expect(out.match(/data-reachability="not proven"/g)).toHaveLength(2);
    expect(out).toContain('<li>SMS: undelivered — Twilio 30003, unreachable handset: The phone was off');
  });

  it('in make report: the section in index.html, well-formed, and drills counted as no page', async () => {
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'pagetrail-reach-'));
    dirs.push(outDir);
    const report = await buildReport({
      query,
      oncall: cfg,
      from: END - 7 * 86_400_000,
      to: END,
      outDir,
      now: () => END,
    });
    const index = await readFile(report.index, 'utf8');
    expect(index).toContain('<section id="reachability">');
    expect(index).toContain('0 incidents, 0 pages, 0 failures');
    expect(index).not.toMatch(/\+1555123\d{4}|@example\.com/); // addresses never in clear
    expect(unbalancedTags(index)).toEqual([]);
  });
});

/** Elements opened and not closed in order (void elements aside): [] for well-formed markup. */
function unbalancedTags(doc: string): string[] {
  const VOID = new Set(['meta', 'br', 'img', 'hr', 'input', 'link', 'col', 'area', 'base', 'wbr', 'source']);
  const body = doc.replace(/<style>[\s\S]*?<\/style>/g, '').replace(/<svg[\s\S]*?<\/svg>/g, '');
  const stack: string[] = [];
  const wrong: string[] = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>/g)) {
    const name = m[2].toLowerCase();
    if (VOID.has(name)) continue;
    if (!m[1]) stack.push(name);
    else if (stack.at(-1) === name) stack.pop();
    else wrong.push(`</${name}> closes <${stack.at(-1)}>`);
  }
  return [...wrong, ...stack.map((s) => `<${s}> not closed`)];
}
