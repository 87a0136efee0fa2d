import { describe, expect, it } from 'vitest';
import { EventJoin } from './join.js';
import { ALARM_ARN, INCIDENT, T0, alarmEvent, decoded, iso } from '../../test/fixtures/records.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';

/** The incident API's actions (schemas/action-record.ts) are kept in the lake's events, with who and how. */
const action = (act: 'resolve' | 'note', at: number, note?: string): StreamRecordIn => ({
  v: 1,
  kind: 'action',
  event_id: `evt_${act}_${at}`,
  incident_id: INCIDENT,
  alarm_arn: ALARM_ARN,
  event_time: iso(at),
  action: act,
  via: 'api',
  person: 'alice',
  ...(note ? { note } : {}),
});

describe('EventJoin: actions from the incident API', () => {
  it('keeps a resolve and a note as rows (status, via, person, the note in detail)', () => {
    const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000 });
    const records = [alarmEvent(), action('note', T0 + 5000, 'looking at it'), action('resolve', T0 + 9000)];
    records.forEach((r, i) => {
      join.push(decoded(r), { shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i), arrivalTime: T0 + i });
    });
    const rows = join.drain().filter((r) => r.kind === 'action');
    expect(rows.map((r) => [r.status, r.reason, r.person, r.detail])).toEqual([
      ['noted', 'api', 'alice', '{"note":"looking at it"}'],
      ['resolved', 'api', 'alice', null],
    ]);
  });
});

describe('EventJoin: escalate, reassign, snooze by hand', () => {
  it('keeps the asks (status, level, who, the person or minutes) and the engine decisions with by', () => {
    const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000 });
    const base = { v: 1 as const, incident_id: INCIDENT, alarm_arn: ALARM_ARN, via: 'console' as const };
    const records: StreamRecordIn[] = [
      alarmEvent(),
      {
        ...base,
        kind: 'action',
        event_id: 'evt_esc_1',
        event_time: iso(T0 + 1000),
        action: 'escalate',
        person: 'bob',
        round: 0,
        from_level: 1,
      },
      {
        v: 1,
        kind: 'escalation',
        event_id: 'evt_manual_1',
        incident_id: INCIDENT,
        alarm_arn: ALARM_ARN,
        event_time: iso(T0 + 1500),
        reason: 'manual',
        from_level: 1,
        to_level: 2,
        by: 'bob',
      },
      {
        ...base,
        kind: 'action',
        event_id: 'evt_rea_1',
        event_time: iso(T0 + 2000),
        action: 'reassign',
        person: 'bob',
        to_person: 'erin',
        from_level: 2,
      },
      {
        ...base,
        kind: 'action',
        event_id: 'evt_snz_1',
        event_time: iso(T0 + 3000),
        action: 'snooze',
        person: 'erin',
        minutes: 30,
      },
    ];
    records.forEach((r, i) => {
      join.push(decoded(r), { shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i), arrivalTime: T0 + i });
    });
    const rows = join.drain().filter((r) => r.kind === 'action' || r.kind === 'escalation');
    expect(rows.map((r) => [r.kind, r.status, r.reason, r.level, r.person, r.detail])).toEqual([
      ['action', 'escalate', 'console', 1, 'bob', null],
      ['escalation', 'escalated', 'manual', 1, null, '{"by":"bob"}'],
      ['action', 'reassign', 'console', 2, 'bob', '{"to_person":"erin"}'],
      ['action', 'snoozed', 'console', null, 'erin', '{"minutes":30}'],
    ]);
  });
});
