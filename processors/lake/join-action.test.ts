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
