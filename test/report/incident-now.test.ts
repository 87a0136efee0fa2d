import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmPointer, IncidentStateView } from '../../shared/incident-view.js';
import { eventRowBuilder, eventsWithViews, type DuckConnection } from '../helpers/events-duckdb.js';
import { LakeUnreachableError } from '../../analysis/query/errors.js';
import type { QueryResult } from '../../analysis/query/result.js';
import type { DataAge } from '../../analysis/report/data-age.js';
import { IncidentNotFoundError } from '../../analysis/report/errors.js';
import { incidentCommand } from '../../analysis/report/incident-cli.js';

/**
 * `make incident` when the lake is behind the paging state: an incident the lake has nothing of yet is
 * shown from the paging state (found by its alarm's name through the alarm's pointer), a newer incident
 * of an alarm wins over the lake's older one, and every answer says how old the lake part is. The lake
 * is the real views on DuckDB; the paging state an in-process table of states and pointers; the clock fixed.
 */
const T = Date.parse('2026-11-28T12:00:00.000Z');
const s = (sec: number) => T + sec * 1000;
const PEOPLE = { bob: { name: 'Bob Diaz' }, carol: { name: 'Carol Otieno' } };
const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:';

const row = eventRowBuilder({
  incident_id: 'inc_lake',
  alarm_arn: `${ARN}billing-db-connections`,
  alarm_name: 'billing-db-connections',
  timestamp: s(-600),
});

let conn: DuckConnection;
const query = async (sql: string): Promise<QueryResult> => {
  const r = await conn.runAndReadAll(sql);
  return { columns: r.columnNames(), rows: r.getRowsJson() as unknown[][] };
};
beforeAll(async () => {
  conn = await eventsWithViews([
    row({ kind: 'alarm', status: 'alarm', channel: null, provider: null, timestamp: s(-600) }),
    row({
      kind: 'dispatch',
      status: 'sent',
      timestamp: s(-597),
      person: 'bob',
      level: 1,
      channel: 'sms',
      provider: 'twilio',
      message_id: 'SM0',
      recipient: '+15551230002',
      escalate_at: s(-590),
    }),
  ]);
});
afterAll(() => conn?.closeSync());

function liveState(incidentId: string, alarmName: string, openedAt: number, extra: object = {}): IncidentStateView {
  return {
    incidentId,
    alarmArn: `${ARN}${alarmName}`,
    alarmName,
    severity: 'P1',
    openedAt,
    level: 2,
    pages: {
      a: { person: 'bob', level: 1, channel: 'sms', status: 'delivered', claimedAt: openedAt + 2000 },
      b: { person: 'carol', level: 2, channel: 'whatsapp', status: 'sent', claimedAt: openedAt + 12_000 },
      n: { person: 'bob', level: 1, channel: 'sms', status: 'sent', claimedAt: openedAt + 25_000, notice: 'ack' },
    },
    ...extra,
  };
}

/** The paging state in-process: incidents by id, the alarms' pointers by name. */
function pagingOf(states: IncidentStateView[]) {
  const lookedUp: string[] = [];
  return {
    lookedUp,
    incident: async (id: string) => {
      lookedUp.push(id);
      return states.find((x) => x.incidentId === id);
    },
    latestByAlarmName: async (name: string): Promise<AlarmPointer | undefined> => {
      const mine = states.filter((x) => x.alarmName === name).sort((a, b) => b.openedAt - a.openedAt)[0];
      return mine && { alarmArn: mine.alarmArn, incidentId: mine.incidentId, openedAt: mine.openedAt };
    },
  };
}

/** The lake flushed last at 12:00:04; it is 12:00:30. */
const dataAge = async (): Promise<DataAge> => ({ asOf: s(4), now: s(30) });

describe('make incident, the lake behind the paging state', () => {
  it('shows an incident the lake has nothing of yet from the paging state, found by its alarm name', async () => {
    const paging = pagingOf([liveState('inc_now', 'orders-db-cpu-high', s(0), { ackedAt: s(24), ackedBy: 'carol' })]);
    const out = await incidentCommand({ id: 'orders-db-cpu-high', query, people: PEOPLE, paging, dataAge });
    expect(out.split('\n')).toEqual([
      'Incident inc_now · alarm orders-db-cpu-high · P1 · opened 2026-11-28 12:00:00 UTC · not in the lake yet',
      '',
      'Paging state now (DynamoDB, ahead of the lake): level 2 · acknowledged by Carol Otieno at 12:00:24',
      '  12:00:02  Bob Diaz (level 1) by SMS: delivered',
      '  12:00:12  Carol Otieno (level 2) by WhatsApp: sent',
      '  + 1 notice (acked/resolved, told; not pages)',
      '',
      'lake data as of 12:00:04 UTC, 26 s ago',
    ]);
  });

  it("a newer incident of the alarm wins over the lake's older one, and says so", async () => {
    const paging = pagingOf([liveState('inc_newer', 'billing-db-connections', s(0))]);
    const out = await incidentCommand({ id: 'billing-db-connections', query, people: PEOPLE, paging, dataAge });
    expect(out.split('\n').slice(0, 3)).toEqual([
      'Incident inc_newer · alarm billing-db-connections · P1 · opened 2026-11-28 12:00:00 UTC · ' +
        'not in the lake yet',
      "the lake's latest incident of this alarm is an older one: inc_lake",
      '',
    ]);
    expect(out).toContain('level 2 · open, not acknowledged');
  });

  it('an incident in both: the lake timeline, then what the paging state knows now, then the age', async () => {
    const paging = pagingOf([liveState('inc_lake', 'billing-db-connections', s(-600), { resolvedAt: s(10) })]);
    const out = await incidentCommand({ id: 'inc_lake', query, people: PEOPLE, paging, dataAge });
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^Incident inc_lake · alarm billing-db-connections/);
    expect(lines).toContain('11:50:03  paged Bob Diaz (level 1) by SMS → sent, no report yet');
    expect(lines).toContain('Paging state now (DynamoDB, ahead of the lake): level 2 · resolved at 12:00:10');
    expect(lines.at(-1)).toBe('lake data as of 12:00:04 UTC, 26 s ago');
    expect(lines.indexOf('Verdicts (README: "What the verdicts mean")')).toBeLessThan(
      lines.findIndex((l) => l.startsWith('Paging state now')),
    );
  });

  it('neither has it: not found, naming both places and the lake’s age', async () => {
    const err = await incidentCommand({ id: 'nope', query, people: PEOPLE, paging: pagingOf([]), dataAge }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IncidentNotFoundError);
    expect((err as Error).message).toContain(
      'no incident "nope" in the lake (neither an incident id nor an alarm name); nor in the paging state; ' +
        'lake data as of 12:00:04 UTC, 26 s ago',
    );
  });

  it('a paging state that cannot be read still gives the lake part, and says why', async () => {
    const paging = {
      incident: async () => {
        throw new Error('ECONNREFUSED');
      },
      latestByAlarmName: async () => undefined,
    };
    const out = await incidentCommand({ id: 'inc_lake', query, people: PEOPLE, paging, dataAge });
    expect(out).toContain('paged Bob Diaz (level 1) by SMS');
    expect(out).toContain('paging state not readable (ECONNREFUSED)');
  });

  it('S3 down with no cache to answer from: the paging state still, and why the lake part is missing', async () => {
    const down = async (): Promise<QueryResult> => {
      throw new LakeUnreachableError('lake', 'tables/events/', '.cache/query');
    };
    const paging = pagingOf([liveState('inc_now', 'orders-db-cpu-high', s(0))]);
    const out = await incidentCommand({ id: 'orders-db-cpu-high', query: down, people: PEOPLE, paging, dataAge });
    expect(out).toContain('Incident inc_now · alarm orders-db-cpu-high');
    expect(out).toContain('  12:00:12  Carol Otieno (level 2) by WhatsApp: sent');
    expect(out.split('\n').at(-1)).toMatch(/^lake not readable: S3 unreachable for s3:\/\/lake\/tables\/events\//);
    await expect(
      incidentCommand({ id: 'nope', query: down, people: PEOPLE, paging: pagingOf([]), dataAge }),
    ).rejects.toBeInstanceOf(LakeUnreachableError);
  });

  it('FORMAT=json: the paging state and the lake data age as fields', async () => {
    const paging = pagingOf([liveState('inc_now', 'orders-db-cpu-high', s(0))]);
    const j = JSON.parse(
      await incidentCommand({ id: 'orders-db-cpu-high', format: 'json', query, people: PEOPLE, paging, dataAge }),
    );
    expect(j).toMatchObject({
      incidentId: 'inc_now',
      inLake: false,
      pagingNow: {
        level: 2,
        acknowledged: null,
        pages: [
          { person: { id: 'bob', name: 'Bob Diaz' }, channel: 'sms', status: 'delivered' },
          { person: { id: 'carol', name: 'Carol Otieno' }, channel: 'whatsapp', status: 'sent' },
        ],
        notices: 1,
      },
      lakeData: { asOf: '2026-11-28T12:00:04.000+00:00', ageSeconds: 26 },
    });
  });
});
