import { describe, expect, it } from 'vitest';
import { EscalationEngine } from './escalation.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { StreamRecord } from '../../schemas/envelope.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { alarmEvent, iso } from '../../test/fixtures/records.js';
import { IncidentStateView } from '../../shared/incident-view.js';
import { acknowledge, addNote, resolve } from '../../producers/receiver/api/actions.js';
import { MemoryIncidents } from '../../producers/receiver/api/testing.js';
import { FakeProducer } from '../../producers/receiver/testing.js';

/**
 * An acknowledgement made on the incident API (or a console form) is an ack record like any other: the paging engine
 * applies the very record the API writes and stops the escalation.
 */
const cfg = loadOnCallConfig(new URL('../../infra/local/oncall/demo.json', import.meta.url).pathname);
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const RDS_ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-db-connections';
/** Level 1's deadline of the incident (round 0), falling at T0 + 8 s. */
const levelOneDeadline = (incident: string) =>
  StreamRecord.parse({
    v: 1,
    kind: 'deadline',
    event_id: eventId('deadline', incident, '0', '1'),
    incident_id: incident,
    alarm_arn: RDS_ARN,
    event_time: iso(T0 + 8000),
    purpose: 'level',
    round: 0,
    level: 1,
  });

describe('an ack from the incident API', () => {
  it.each(['api', 'console'] as const)(
    'via %s: stops the escalation, names the person, is applied once',
    async (via) => {
      const engine = new EscalationEngine(cfg);
      const alarm = alarmEvent({ arn: RDS_ARN, at: T0, namespace: 'AWS/RDS' });
      if (alarm.kind === 'alarm') alarm.severity = 'P1';
      let state = engine.apply(undefined, StreamRecord.parse(alarm), T0).state!;
      const paged = state.outbox.filter((e) => e.type === 'page').map((e) => (e as { person: string }).person);
      expect(paged).toContain('bob');
      state.outbox = [];

      // the API reads the paging state (as stored), checks carol's right on team db, and writes the record
      const producer = new FakeProducer();
      const view = IncidentStateView.parse(JSON.parse(JSON.stringify(state)));
      const principal = {
        kind: 'person' as const,
        person: 'carol',
        role: 'responder' as const,
        teams: ['db'],
        sessionId: 's',
      };
      await acknowledge(
        { producer, incidents: new MemoryIncidents([view]), now: () => T0 + 5000 },
        principal,
        state.incidentId,
        via,
      );
      const record = StreamRecord.parse(producer.records[0]);

      const applied = engine.apply(state, record, T0 + 5000);
      expect(applied.changed).toBe(true);
      expect(applied.note).toContain(`acknowledged by carol via ${via}`);
      state = applied.state!;
      expect(state.ackedAt).toBe(T0 + 5000);
      expect(state.ackedBy).toBe('carol');
      // nobody more is paged (this policy has no `notify`: no notice either)
      expect(state.outbox.filter((e) => e.type === 'page')).toEqual([]);
      state.outbox = [];
      // the level's deadline is now a no-op, and the same record again changes nothing
      state = engine.apply(state, levelOneDeadline(state.incidentId), T0 + 8000).state!;
      expect(state.outbox).toEqual([]);
      expect(engine.apply(state, record, T0 + 9000).changed).toBe(false);
      expect(state.incidentId).toBe(incidentId(RDS_ARN, T0));
    },
  );
});

describe('a resolve and a note from the incident API', () => {
  it('a resolve stops the incident as an OK would (later deadlines no-ops); a note changes nothing', async () => {
    const engine = new EscalationEngine(cfg);
    const alarm = alarmEvent({ arn: RDS_ARN, at: T0, namespace: 'AWS/RDS' });
    if (alarm.kind === 'alarm') alarm.severity = 'P1';
    let state = engine.apply(undefined, StreamRecord.parse(alarm), T0).state!;
    state.outbox = [];
    const producer = new FakeProducer();
    const view = IncidentStateView.parse(JSON.parse(JSON.stringify(state)));
    const deps = { producer, incidents: new MemoryIncidents([view]), now: () => T0 + 5000 };
    const ada = { kind: 'person' as const, person: 'ada', role: 'admin' as const, teams: [], sessionId: 's' };
    await addNote(deps, ada, state.incidentId, 'console', 'looking at the replica lag');
    await resolve(deps, ada, state.incidentId, 'api', 'failed over the database');
    const [note, resolved] = producer.records.map((r) => StreamRecord.parse(r));

    expect(engine.apply(state, note, T0 + 5000).changed).toBe(false);
    const applied = engine.apply(state, resolved, T0 + 5000);
    expect(applied.note).toBe('resolved by ada via api');
    state = applied.state!;
    expect(state.resolvedAt).toBe(T0 + 5000);
    state.outbox = [];
    state = engine.apply(state, levelOneDeadline(state.incidentId), T0 + 8000).state!;
    expect(state.outbox).toEqual([]);
    expect(engine.apply(state, resolved, T0 + 9000).changed).toBe(false);
  });
});
