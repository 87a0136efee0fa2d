import { describe, expect, it } from 'vitest';
import { StreamRecord } from './envelope.js';
import { eventId, incidentId } from './ids.js';
import { ALARM_ARN, T0, alarmEvent } from '../test/fixtures/records.js';

const decode = (r: unknown) => StreamRecord.parse(r) as Extract<StreamRecord, { kind: 'alarm' }>;

describe('incident and event ids', () => {
  it('names one ALARM episode: the ALARM event and the OK event that ends it give the same incident', () => {
    const opened = decode(alarmEvent({ state: 'ALARM', at: T0 }));
    const resolved = decode(alarmEvent({ state: 'OK', at: T0 + 600_000, enteredAt: T0 }));
    expect(opened.incident_id).toBe(incidentId(ALARM_ARN, T0));
    expect(resolved.incident_id).toBe(opened.incident_id);
    expect(resolved.event_id).not.toBe(opened.event_id);
  });

  it('gives the next episode of the same alarm a new incident, and another alarm another one', () => {
    const first = decode(alarmEvent({ at: T0 }));
    const second = decode(alarmEvent({ at: T0 + 3600_000 }));
    const other = decode(alarmEvent({ at: T0, arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:rds-cpu' }));
    expect(new Set([first.incident_id, second.incident_id, other.incident_id]).size).toBe(3);
  });

  it('is the same on every replay (pure), whatever the timestamp notation', () => {
    const a = alarmEvent({ at: T0 });
    const b = structuredClone(a) as typeof a & { kind: 'alarm' };
    if (b.kind === 'alarm') b.event.detail.state.timestamp = new Date(T0).toISOString().replace('Z', '+0000');
    expect(decode(a).incident_id).toBe(decode(b).incident_id);
    expect(decode(a).event_id).toBe(decode(b).event_id);
    expect(eventId('receipt', 'SM1', 'delivered')).toBe(eventId('receipt', 'SM1', 'delivered'));
    expect(eventId('receipt', 'SM1', 'delivered')).not.toBe(eventId('receipt', 'SM1', 'read'));
  });
});
