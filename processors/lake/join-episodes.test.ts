import { describe, expect, it } from 'vitest';
import { EventJoin } from './join.js';
import { ALARM_ARN, T0, alarmEvent, decoded } from '../../test/fixtures/records.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import type { AlarmRecordIn } from '../../schemas/alarm-record.js';

/**
 * A CloudWatch alarm record that continues the alarm's open episode but derives another incident id — an ALARM →
 * ALARM re-evaluation (its id comes from its own time), the OK after one, an OK by SNS (no time for the old state:
 * producers/receiver/sns-events.ts) — lands on the open incident in the lake, as the paging handler puts it there
 * (processors/paging/handler.ts), so the incidents view resolves the incident and counts no second one.
 */
const iso = (t: number) => new Date(t).toISOString();
const meta = (i: number) => ({
  shardId: 'shardId-000000000000',
  sequenceNumber: String(1000 + i),
  arrivalTime: T0 + i,
});

/** An alarm record whose previous state is ALARM since `previousAt` (a re-evaluation, or the OK that ends it). */
function continuing(state: 'ALARM' | 'OK', at: number, previousAt: number): AlarmRecordIn {
  const r = alarmEvent({ state, at });
  r.event.detail.previousState = { ...r.event.detail.previousState!, value: 'ALARM', timestamp: iso(previousAt) };
  return r;
}

function rowsOf(records: StreamRecordIn[], join = new EventJoin({ windowMs: 3600_000 })) {
  records.forEach((r, i) => {
    join.push(decoded(r), meta(i));
  });
  return { join, rows: join.drain().map((r) => [r.status, r.incident_id]) };
}

const idOf = (r: StreamRecordIn) => StreamRecord.parse(r).incident_id;

describe('CloudWatch records of one episode, whatever incident id they derive', () => {
  const open = alarmEvent({ at: T0 }); // ALARM since T0 (previous OK)
  const incident = idOf(open);

  it('a re-evaluation and the OK after it land on the open incident', () => {
    const reevaluation = continuing('ALARM', T0 + 300_000, T0);
    const ok = continuing('OK', T0 + 600_000, T0 + 300_000);
    expect(idOf(reevaluation)).not.toBe(incident);
    expect(idOf(ok)).not.toBe(incident);
    expect(rowsOf([open, reevaluation, ok]).rows).toEqual([
      ['alarm', incident],
      ['alarm', incident],
      ['ok', incident],
    ]);
  });

  it('an OK whose previous state starts at its own time (SNS) resolves the open incident', () => {
    const ok = continuing('OK', T0 + 600_000, T0 + 600_000);
    expect(rowsOf([open, ok]).rows).toEqual([
      ['alarm', incident],
      ['ok', incident],
    ]);
  });

  it('a stale OK (its episode began before the open one) and records after the OK keep their own ids', () => {
    const stale = continuing('OK', T0 + 60_000, T0 - 600_000);
    const ok = continuing('OK', T0 + 600_000, T0 + 600_000);
    const next = alarmEvent({ at: T0 + 900_000 });
    const lateReevaluation = continuing('ALARM', T0 + 1_000_000, T0 + 900_000);
    expect(rowsOf([open, stale, ok, next, lateReevaluation]).rows).toEqual([
      ['alarm', incident],
      ['ok', idOf(stale)],
      ['ok', incident],
      ['alarm', idOf(next)],
      ['alarm', idOf(next)],
    ]);
  });

  it('other alarms are not touched, and the open incident survives a snapshot (a restart, a reshard)', () => {
    const other = alarmEvent({ arn: `${ALARM_ARN}-other`, at: T0 + 1000 });
    const first = rowsOf([open, other]);
    const restored = EventJoin.restore([first.join.snapshot()], { windowMs: 3600_000 });
    const ok = continuing('OK', T0 + 600_000, T0 + 600_000);
    expect(rowsOf([ok], restored).rows).toEqual([['ok', incident]]);
    // a snapshot from before open alarms were kept: none known, the OK keeps its own id
    const { openAlarms: _, ...older } = first.join.snapshot();
    expect(rowsOf([ok], EventJoin.restore([older], { windowMs: 3600_000 })).rows).toEqual([['ok', idOf(ok)]]);
  });
});
