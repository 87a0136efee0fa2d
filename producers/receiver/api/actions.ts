import type { AckRecordIn } from '../../../schemas/ack-record.js';
import type { ActionRecordIn } from '../../../schemas/action-record.js';
import { eventId } from '../../../schemas/ids.js';
import type { IncidentStateView } from '../../../shared/incident-view.js';
import { writeRecords, type StreamWriter } from '../http.js';
import { actorOf, requireAct, type Principal } from '../auth/principal.js';
import { ConflictError, NotFoundError } from './errors.js';
import type { IncidentSource } from './incidents.js';
import type { ActionAccepted } from './schemas.js';

/**
 * The actions on an incident, shared by the API (`via: api`) and the console's forms (`via: console`): each checks
 * the principal's right on the incident's team, refuses what the incident's state does not allow (409), and writes
 * one record to the stream — nothing else. The paging engine reads it like every other ack (stops the escalation,
 * tells the people already paged) and the lake keeps it as evidence.
 *
 * The record's event id is deterministic per incident and actor: the same person acknowledging twice (a double
 * click, a retried request) writes the same record, which the engine applies once.
 */
export interface ActionDeps {
  producer: StreamWriter;
  incidents: IncidentSource;
  now: () => number;
}

const when = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The incident, or NotFoundError. */
export async function incidentOrNotFound(incidents: IncidentSource, id: string): Promise<IncidentStateView> {
  const state = await incidents.get(id);
  if (!state) throw new NotFoundError(`incident ${id}`);
  return state;
}

export async function acknowledge(
  deps: ActionDeps,
  principal: Principal,
  incidentId: string,
  via: 'api' | 'console',
): Promise<ActionAccepted> {
  const state = await incidentOrNotFound(deps.incidents, incidentId);
  requireAct(principal, 'acknowledge', state.team);
  if (state.resolvedAt !== undefined)
    throw new ConflictError(
      incidentId,
      'resolved',
      `incident ${incidentId} was resolved at ${when(state.resolvedAt)}: there is nothing to acknowledge`,
    );
  if (state.ackedAt !== undefined)
    throw new ConflictError(
      incidentId,
      'acknowledged',
      `incident ${incidentId} was already acknowledged by ${state.ackedBy ?? 'someone'} at ${when(state.ackedAt)}`,
    );
  const person = actorOf(principal);
  const record: AckRecordIn = {
    v: 1,
    kind: 'ack',
    event_id: eventId('ack', via, state.incidentId, person),
    incident_id: state.incidentId,
    alarm_arn: state.alarmArn,
    event_time: new Date(deps.now()).toISOString(),
    channel: 'other',
    via,
    person,
  };
  await writeRecords(deps, [record]);
  return {
    accepted: true,
    action: 'acknowledge',
    incident_id: state.incidentId,
    event_id: record.event_id,
    via,
    person,
  };
}

/** Resolves the incident by hand: an `action` record (resolve); 409 when it is resolved already. */
export async function resolve(
  deps: ActionDeps,
  principal: Principal,
  incidentId: string,
  via: 'api' | 'console',
  note?: string,
): Promise<ActionAccepted> {
  const state = await incidentOrNotFound(deps.incidents, incidentId);
  requireAct(principal, 'resolve', state.team);
  if (state.resolvedAt !== undefined)
    throw new ConflictError(
      incidentId,
      'resolved',
      `incident ${incidentId} was already resolved at ${when(state.resolvedAt)}`,
    );
  const person = actorOf(principal);
  const id = eventId('action', 'resolve', state.incidentId, person);
  return writeAction(deps, state, { action: 'resolve', via, person, note }, id);
}

/**
 * Adds a note to the incident's history: an `action` record (note) the lake keeps; the paging engine changes
 * nothing for it. Allowed on a resolved incident too (a note after the fact).
 */
export async function addNote(
  deps: ActionDeps,
  principal: Principal,
  incidentId: string,
  via: 'api' | 'console',
  note: string,
): Promise<ActionAccepted> {
  const state = await incidentOrNotFound(deps.incidents, incidentId);
  requireAct(principal, 'note', state.team);
  const person = actorOf(principal);
  // the same note by the same person (a retry, a double click) is the same record
  const id = eventId('action', 'note', state.incidentId, person, note);
  return writeAction(deps, state, { action: 'note', via, person, note }, id);
}

async function writeAction(
  deps: ActionDeps,
  state: IncidentStateView,
  a: { action: 'resolve' | 'note'; via: 'api' | 'console'; person: string; note?: string },
  id: string,
): Promise<ActionAccepted> {
  const record: ActionRecordIn = {
    v: 1,
    kind: 'action',
    event_id: id,
    incident_id: state.incidentId,
    alarm_arn: state.alarmArn,
    event_time: new Date(deps.now()).toISOString(),
    action: a.action,
    via: a.via,
    person: a.person,
    ...(a.note ? { note: a.note } : {}),
  };
  await writeRecords(deps, [record]);
  return {
    accepted: true,
    action: a.action,
    incident_id: state.incidentId,
    event_id: id,
    via: a.via,
    person: a.person,
  };
}
