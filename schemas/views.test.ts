import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from './lake.js';
import { eventRowBuilder, eventsWithViews, type DuckConnection } from '../test/helpers/events-duckdb.js';
import { VIEW_COLUMNS } from '../infra/cdk/glue-columns.js';
import { SEED_QUERY } from './views.js';

/**
 * The views on DuckDB over a small `events` table: semantics of escalation_time and the verdict, and
 * that the Glue view columns the CDK app declares are exactly the columns the SQL yields.
 */
const T = Date.parse('2026-11-28T10:00:00.000Z');

const row = eventRowBuilder({
  event_id: 'e',
  alarm_arn: 'arn:aws:cloudwatch:x',
  message_id: 'SM1',
  recipient: '+1',
  person: 'alice',
  level: 1,
  timestamp: T,
});

let conn: DuckConnection;
beforeAll(async () => {
  const rows = [
    // inc_1: opened at T, email opened at +40 s, level-1 deadline +300 s, never escalated.
    row({ event_id: 'a1', kind: 'alarm', status: 'alarm', channel: null, level: null }),
    row({
      event_id: 'd1',
      kind: 'dispatch',
      status: 'sent',
      channel: 'email',
      message_id: 're_1',
      timestamp: T + 1000,
      escalate_at: T + 300_000,
    }),
    row({
      event_id: 'r1',
      status: 'opened',
      channel: 'email',
      message_id: 're_1',
      timestamp: T + 40_000,
      dispatched_at: T + 1000,
      escalate_at: T + 300_000,
    }),
    row({
      event_id: 'r1',
      status: 'opened',
      channel: 'email',
      message_id: 're_1',
      timestamp: T + 40_000,
      dispatched_at: T + 1000,
      escalate_at: T + 300_000,
      sequence_number: '9',
    }), // a second copy (backfill overlap)
    // inc_2 (the demo's billing-db): bob's SMS delivered, never opened, escalated at +300 s; carol
    // reads at +330 s and acks by a WhatsApp reply that names no person (mapped from her address).
    row({ event_id: 'a2', incident_id: 'inc_2', kind: 'alarm', status: 'alarm', level: null }),
    row({
      event_id: 'd2',
      incident_id: 'inc_2',
      kind: 'dispatch',
      status: 'sent',
      person: 'bob',
      recipient: '+2',
      timestamp: T + 1000,
      escalate_at: T + 300_000,
    }),
    row({
      event_id: 'r2',
      incident_id: 'inc_2',
      status: 'delivered',
      person: 'bob',
      recipient: '+2',
      timestamp: T + 5000,
      dispatched_at: T + 1000,
      escalate_at: T + 300_000,
    }),
    row({
      event_id: 'x2',
      incident_id: 'inc_2',
      kind: 'escalation',
      status: 'escalated',
      reason: 'deadline',
      level: 1,
      to_level: 2,
      channel: null,
      message_id: null,
      person: null,
      timestamp: T + 300_000,
    }),
    row({
      event_id: 'd3',
      incident_id: 'inc_2',
      kind: 'dispatch',
      status: 'sent',
      channel: 'whatsapp',
      message_id: 'SMW',
      person: 'carol',
      recipient: 'whatsapp:+3',
      level: 2,
      timestamp: T + 301_000,
      escalate_at: T + 600_000,
    }),
    row({
      event_id: 'r3',
      incident_id: 'inc_2',
      status: 'opened',
      channel: 'whatsapp',
      message_id: 'SMW',
      person: 'carol',
      level: 2,
      timestamp: T + 330_000,
      dispatched_at: T + 301_000,
      escalate_at: T + 600_000,
    }),
    row({
      event_id: 'k2',
      incident_id: 'inc_2',
      kind: 'ack',
      status: 'acked',
      channel: 'whatsapp',
      reason: 'whatsapp_reply',
      message_id: 'SMreply',
      person: null,
      recipient: 'whatsapp:+3',
      level: null,
      timestamp: T + 340_000,
    }),
    // … then bob is told of carol's ack by SMS (delivered) and erin by email (bounced): notices, not pages
    row({
      event_id: 'n2',
      incident_id: 'inc_2',
      kind: 'dispatch',
      status: 'sent',
      reason: 'notice_ack',
      message_id: 'SMN',
      person: 'bob',
      recipient: '+2',
      timestamp: T + 341_000,
    }),
    row({
      event_id: 'n2r',
      incident_id: 'inc_2',
      status: 'delivered',
      message_id: 'SMN',
      person: 'bob',
      recipient: '+2',
      timestamp: T + 342_000,
      dispatched_at: T + 341_000,
    }),
    row({
      event_id: 'n3',
      incident_id: 'inc_2',
      kind: 'dispatch',
      status: 'sent',
      reason: 'notice_ack',
      channel: 'email',
      provider: 'resend',
      message_id: 're_n',
      person: 'erin',
      recipient: 'erin@x',
      timestamp: T + 341_000,
    }),
    row({
      event_id: 'n3r',
      incident_id: 'inc_2',
      status: 'bounced',
      channel: 'email',
      provider: 'resend',
      message_id: 're_n',
      person: 'erin',
      recipient: 'erin@x',
      timestamp: T + 343_000,
      dispatched_at: T + 341_000,
    }),
    // inc_7: opened inside a maintenance window (nobody paged), then flapped back after an OK
    row({
      event_id: 'a7',
      incident_id: 'inc_7',
      kind: 'alarm',
      status: 'alarm',
      level: null,
      channel: null,
      message_id: null,
    }),
    row({
      event_id: 's7',
      incident_id: 'inc_7',
      kind: 'escalation',
      status: 'escalated',
      reason: 'suppressed',
      level: 0,
      to_level: 0,
      channel: null,
      message_id: null,
      person: null,
      detail: '{"maintenance_window":"db-patching"}',
      timestamp: T + 100,
    }),
    // inc_3: erin's SMS delivered; still open, level 1 not yet due: pending.
    row({ event_id: 'a3', incident_id: 'inc_3', kind: 'alarm', status: 'alarm', level: null }),
    row({
      event_id: 'd4',
      incident_id: 'inc_3',
      kind: 'dispatch',
      status: 'sent',
      message_id: 'SM4',
      person: 'erin',
      timestamp: T + 1000,
      escalate_at: T + 60_000,
    }),
    row({
      event_id: 'r4',
      incident_id: 'inc_3',
      status: 'delivered',
      message_id: 'SM4',
      person: 'erin',
      timestamp: T + 3000,
      dispatched_at: T + 1000,
      escalate_at: T + 60_000,
    }),
    // inc_4: the same, but level 1's deadline came due without an escalation (confirmed on delivery).
    row({ event_id: 'a4', incident_id: 'inc_4', kind: 'alarm', status: 'alarm', level: null }),
    row({
      event_id: 'd5',
      incident_id: 'inc_4',
      kind: 'dispatch',
      status: 'sent',
      message_id: 'SM5',
      person: 'erin',
      timestamp: T + 1000,
      escalate_at: T + 60_000,
    }),
    row({
      event_id: 'r5',
      incident_id: 'inc_4',
      status: 'delivered',
      message_id: 'SM5',
      person: 'erin',
      timestamp: T + 3000,
      dispatched_at: T + 1000,
      escalate_at: T + 60_000,
    }),
    row({
      event_id: 'l5',
      incident_id: 'inc_4',
      kind: 'deadline',
      status: 'due',
      reason: 'level',
      level: 1,
      channel: null,
      message_id: null,
      person: null,
      recipient: null,
      timestamp: T + 60_000,
    }),
    // inc_5: dave acks by SMS reply (no read receipts on SMS): the ack proves he saw it.
    row({ event_id: 'a5', incident_id: 'inc_5', kind: 'alarm', status: 'alarm', level: null }),
    row({
      event_id: 'd6',
      incident_id: 'inc_5',
      kind: 'dispatch',
      status: 'sent',
      message_id: 'SM6',
      person: 'dave',
      recipient: '+4',
      timestamp: T + 1000,
      escalate_at: T + 60_000,
    }),
    row({
      event_id: 'k5',
      incident_id: 'inc_5',
      kind: 'ack',
      status: 'acked',
      reason: 'sms_reply',
      message_id: 'SMreply5',
      person: 'dave',
      recipient: '+4',
      level: null,
      timestamp: T + 20_000,
    }),
    // inc_6: a one-level policy exhausted (the email bounced), then resolved: no.
    row({ event_id: 'a6', incident_id: 'inc_6', kind: 'alarm', status: 'alarm', level: null }),
    row({
      event_id: 'd7',
      incident_id: 'inc_6',
      kind: 'dispatch',
      status: 'sent',
      channel: 'email',
      message_id: 're_7',
      person: 'erin',
      timestamp: T + 1000,
      escalate_at: T + 60_000,
    }),
    row({
      event_id: 'r7',
      incident_id: 'inc_6',
      status: 'bounced',
      channel: 'email',
      message_id: 're_7',
      person: 'erin',
      timestamp: T + 2000,
      dispatched_at: T + 1000,
      escalate_at: T + 60_000,
    }),
    row({
      event_id: 'x7',
      incident_id: 'inc_6',
      kind: 'escalation',
      status: 'escalated',
      reason: 'exhausted',
      level: 1,
      to_level: 1,
      channel: null,
      message_id: null,
      person: null,
      timestamp: T + 60_000,
    }),
    row({
      event_id: 'o6',
      incident_id: 'inc_6',
      kind: 'alarm',
      status: 'ok',
      level: null,
      channel: null,
      message_id: null,
      timestamp: T + 90_000,
    }),
    // inc_8: frank's SMS delivered (never opened); the alarm resolves at +20 s and frank is told by
    // email, which he opens at +30 s; it flaps back at +60 s and level 1 escalates at +300 s. The
    // opened notice is not an opened page.
    row({ event_id: 'a8', incident_id: 'inc_8', kind: 'alarm', status: 'alarm', level: null }),
    row({
      event_id: 'd8',
      incident_id: 'inc_8',
      kind: 'dispatch',
      status: 'sent',
      message_id: 'SM8',
      person: 'frank',
      recipient: '+8',
      timestamp: T + 1000,
      escalate_at: T + 300_000,
    }),
    row({
      event_id: 'r8',
      incident_id: 'inc_8',
      status: 'delivered',
      message_id: 'SM8',
      person: 'frank',
      recipient: '+8',
      timestamp: T + 2000,
      dispatched_at: T + 1000,
      escalate_at: T + 300_000,
    }),
    row({
      event_id: 'o8',
      incident_id: 'inc_8',
      kind: 'alarm',
      status: 'ok',
      level: null,
      channel: null,
      message_id: null,
      timestamp: T + 20_000,
    }),
    row({
      event_id: 'n8',
      incident_id: 'inc_8',
      kind: 'dispatch',
      status: 'sent',
      reason: 'notice_resolve',
      channel: 'email',
      provider: 'resend',
      message_id: 're_n8',
      person: 'frank',
      recipient: 'frank@x',
      timestamp: T + 21_000,
    }),
    row({
      event_id: 'n8r',
      incident_id: 'inc_8',
      status: 'opened',
      channel: 'email',
      provider: 'resend',
      message_id: 're_n8',
      person: 'frank',
      recipient: 'frank@x',
      timestamp: T + 30_000,
      dispatched_at: T + 21_000,
    }),
    row({
      event_id: 't8',
      incident_id: 'inc_8',
      kind: 'escalation',
      status: 'escalated',
      reason: 'retrigger',
      level: 1,
      to_level: 1,
      channel: null,
      message_id: null,
      person: null,
      timestamp: T + 60_000,
    }),
    row({
      event_id: 'x8',
      incident_id: 'inc_8',
      kind: 'escalation',
      status: 'escalated',
      reason: 'deadline',
      level: 1,
      to_level: 2,
      channel: null,
      message_id: null,
      person: null,
      timestamp: T + 300_000,
    }),
  ];
  conn = await eventsWithViews(rows);
});
afterAll(() => conn?.closeSync());

const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowsJson();

describe('views', () => {
  it('reads each event once, and escalation_time is the level escalation or else its deadline', async () => {
    expect(
      await q(
        "SELECT event_id, epoch(escalation_time) - epoch(timestamp '2026-11-28 10:00:00+00') FROM alert_events " +
          "WHERE kind = 'receipt' AND incident_id IN ('inc_1', 'inc_2') AND event_id NOT LIKE 'n%' ORDER BY event_id",
      ),
    ).toEqual([
      ['r1', 300],
      ['r2', 300],
      ['r3', 600],
    ]);
  });

  it('answers the seed query', async () => {
    expect((await q(SEED_QUERY)).sort()).toEqual([
      ['inc_1', 'email', 'opened'],
      ['inc_2', 'whatsapp', 'opened'],
    ]);
  });

  it('gives a notice no escalation time: an opened notice is not an opened page', async () => {
    expect(
      await q(
        'SELECT event_id, escalation_time, opened_before_this_page_escalated FROM alert_events ' +
          "WHERE incident_id = 'inc_8' AND message_id = 're_n8' ORDER BY event_id",
      ),
    ).toEqual([
      ['n8', null, null],
      ['n8r', null, null],
    ]);
    expect(
      await q(
        "SELECT first_responder_opened_before_escalation, pages, notices FROM incidents WHERE incident_id = 'inc_8'",
      ),
    ).toEqual([['no', '1', '1']]);
  });

  it('gives each page its own verdict, on every row of the page', async () => {
    expect(
      await q(
        'SELECT event_id, opened_before_this_page_escalated FROM alert_events ' +
          "WHERE incident_id IN ('inc_1', 'inc_2') AND event_id NOT LIKE 'n%' ORDER BY event_id",
      ),
    ).toEqual([
      ['d1', 'yes'],
      ['d2', 'no'], // bob's page escalated unopened
      ['d3', 'yes'], // carol read hers before level 2's deadline
      ['k2', null], // an ack by reply is no page
      ['r1', 'yes'],
      ['r2', 'no'],
      ['r3', 'yes'],
      ['x2', null],
    ]);
  });

  it('names the person of an ack by reply from the address paged', async () => {
    expect(await q("SELECT event_id, person FROM alert_events WHERE kind = 'ack' ORDER BY event_id")).toEqual([
      ['k2', 'carol'],
      ['k5', 'dave'],
    ]);
  });

  it('gives the verdicts per incident: first responder, any responder, pending while undecided', async () => {
    expect(
      await q(
        'SELECT incident_id, first_responder_opened_before_escalation, any_responder_opened_before_escalation, ' +
          'acknowledged_by, pages FROM incidents ORDER BY incident_id',
      ),
    ).toEqual([
      ['inc_1', 'yes', 'yes', null, '1'],
      ['inc_2', 'no', 'yes', 'carol', '2'], // bob never opened; carol read hers before her level escalated
      ['inc_3', 'pending', 'pending', null, '1'], // open, not escalated, level 1 not yet due
      ['inc_4', 'no (delivered, no read receipt)', 'no (delivered, no read receipt)', null, '1'],
      ['inc_5', 'yes', 'yes', 'dave', '1'],
      ['inc_6', 'no', 'no', null, '1'],
      ['inc_7', 'suppressed', 'suppressed', null, '0'],
      ['inc_8', 'no', 'no', null, '1'],
    ]);
  });

  it('keeps notices out of the pages, the verdicts and the delivery figures, and counts them', async () => {
    expect(
      await q(
        'SELECT pages, notices, failed_deliveries, epoch(first_delivered_at) - epoch(opened_at), ' +
          "suppressed, retriggers FROM incidents WHERE incident_id = 'inc_2'",
      ),
    ).toEqual([['2', '2', '0', 5, false, '0']]);
    expect(
      await q(
        'SELECT event_id, opened_before_this_page_escalated FROM alert_events ' +
          "WHERE event_id IN ('n2', 'n2r', 'n3') ORDER BY event_id",
      ),
    ).toEqual([
      ['n2', null],
      ['n2r', null],
      ['n3', null],
    ]);
    expect(await q("SELECT suppressed, pages, notices FROM incidents WHERE incident_id = 'inc_7'")).toEqual([
      [true, '0', '0'],
    ]);
  });

  it('counts an exhausted policy as an escalation', async () => {
    expect(await q("SELECT epoch(escalated_at) - epoch(opened_at) FROM incidents WHERE incident_id = 'inc_6'")).toEqual(
      [[60]],
    );
  });

  it.each(Object.keys(VIEW_COLUMNS) as (keyof typeof VIEW_COLUMNS)[])(
    'the Glue columns of %s are the columns its SQL yields',
    async (view) => {
      const described = (await q(`DESCRIBE ${view}`)).map((r) => r[0]);
      expect(described).toEqual(VIEW_COLUMNS[view].map((c) => c.name));
    },
  );
});

describe('the seed query', () => {
  it('lists each page seen before escalation once, however many times it was reported opened', async () => {
    const call = row({
      event_id: 'vd',
      incident_id: 'inc_v',
      kind: 'dispatch',
      status: 'sent',
      channel: 'voice',
      message_id: 'CA1',
      person: 'frank',
      timestamp: T + 1_000,
      escalate_at: T + 60_000,
    });
    const of = (event_id: string, sec: number, page: EventRow, status = 'opened') =>
      row({
        event_id,
        incident_id: page.incident_id,
        status,
        channel: page.channel,
        provider: page.provider,
        message_id: page.message_id,
        person: page.person,
        timestamp: T + sec * 1000,
        dispatched_at: page.timestamp,
        escalate_at: page.escalate_at,
      });
    const email = row({
      ...call,
      event_id: 'ed',
      channel: 'email',
      provider: 'resend',
      message_id: 're_1',
    });
    const notice = row({ ...email, event_id: 'nd', message_id: 're_n', reason: 'notice_ack', timestamp: T + 20_000 });
    const c = await eventsWithViews([
      row({ event_id: 'va', incident_id: 'inc_v', kind: 'alarm', status: 'alarm', channel: null, level: null }),
      call,
      of('v1', 5, call), // answered by a person
      of('v2', 15, call), // completed
      email,
      of('e1', 8, email, 'delivered'),
      of('e2', 9, email),
      of('e3', 30, email), // opened again
      notice,
      of('n1', 25, notice), // a notice opened: no page
    ]);
    try {
      const rows = (await c.runAndReadAll(SEED_QUERY)).getRowsJson();
      expect(rows.sort()).toEqual([
        ['inc_v', 'email', 'opened'],
        ['inc_v', 'voice', 'opened'],
      ]);
    } finally {
      c.closeSync();
    }
  });
});
