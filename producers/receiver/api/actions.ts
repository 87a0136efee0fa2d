import type { AckRecordIn } from '../../../schemas/ack-record.js';
import type { ActionRecordIn } from '../../../schemas/action-record.js';
import { eventId } from '../../../schemas/ids.js';
import type { OnCallConfig } from '../../../schemas/oncall/config.js';
import type { IncidentStateView } from '../../../shared/incident-view.js';
import { writeRecords, type StreamWriter } from '../http.js';
import { actorOf, requireAct, type Principal } from '../auth/principal.js';
import { ApiInputError, ConflictError, NotFoundError } from './errors.js';
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
  /** The on-call file: `reassign` checks the person is in it (without it, the paging engine ignores a stranger). */
  oncall?: () => Pick<OnCallConfig, 'people'>;
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
    // an ack lifted since (an escalate or reassign by hand, a snooze's end) is acknowledged again by a new record
    event_id: eventId('ack', via, state.incidentId, person, ...(state.reopens ? [`reopen${state.reopens}`] : [])),
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

type Via = 'api' | 'console';

/** 409 unless the incident can still escalate: resolved, exhausted, or running no policy (suppressed, unrouted). */
function requireEscalating(state: IncidentStateView, what: string): void {
  const id = state.incidentId;
  if (state.resolvedAt !== undefined)
    throw new ConflictError(id, 'resolved', `incident ${id} was resolved at ${when(state.resolvedAt)}: ${what}`);
  if (state.exhaustedAt !== undefined)
    throw new ConflictError(
      id,
      'exhausted',
      `incident ${id}'s escalation policy ran out at ${when(state.exhaustedAt)}: ${what} (reassign pages a person)`,
    );
  if (state.suppressedBy !== undefined || state.level === 0)
    throw new ConflictError(id, 'not_escalating', `incident ${id} runs no escalation policy: ${what}`);
}

/**
 * Escalates by hand: an `action` record (escalate) naming the level the incident is at; the paging engine goes to
 * the next level now, as the level's deadline would (past the last level: the policy's repeat, then exhausted), and
 * records it `manual` with the person. An acknowledged incident is reopened at the next level. The same person
 * escalating the same level twice writes one record; 409 when resolved, exhausted or not escalating.
 */
export async function escalate(
  deps: ActionDeps,
  principal: Principal,
  incidentId: string,
  via: Via,
  note?: string,
): Promise<ActionAccepted> {
  const state = await incidentOrNotFound(deps.incidents, incidentId);
  requireAct(principal, 'escalate', state.team);
  requireEscalating(state, 'there is nothing to escalate');
  const person = actorOf(principal);
  const round = state.round ?? 0;
  const id = eventId('action', 'escalate', state.incidentId, person, `r${round}`, `L${state.level}`);
  return writeAction(deps, state, { action: 'escalate', via, person, note, round, from_level: state.level }, id);
}

/**
 * Reassigns by hand: an `action` record (reassign) naming `to` (a person of the on-call file, else 400 naming
 * `person`); the paging engine pages them now on the level's channels, makes them the responder and restarts the
 * level's deadline (then the escalation goes on per policy). 409 when resolved.
 */
export async function reassign(
  deps: ActionDeps,
  principal: Principal,
  incidentId: string,
  via: Via,
  to: string,
  note?: string,
): Promise<ActionAccepted> {
  const state = await incidentOrNotFound(deps.incidents, incidentId);
  requireAct(principal, 'reassign', state.team);
  if (deps.oncall && !Object.hasOwn(deps.oncall().people, to))
    throw new ApiInputError('body', [{ path: 'person', message: `${to} is not a person in the on-call file` }]);
  if (state.resolvedAt !== undefined)
    throw new ConflictError(
      incidentId,
      'resolved',
      `incident ${incidentId} was resolved at ${when(state.resolvedAt)}: there is nobody to reassign it to`,
    );
  const person = actorOf(principal);
  const round = state.round ?? 0;
  const n = `a${countOf(state, 'reassigns')}`;
  const id = eventId('action', 'reassign', state.incidentId, person, to, `r${round}`, `L${state.level}`, n);
  const a = { action: 'reassign' as const, via, person, note, to_person: to, round, from_level: state.level };
  return writeAction(deps, state, a, id);
}

/**
 * Snoozes by hand for `minutes` (5..1440): an `action` record (snooze). Open: the escalation pauses (no page) and
 * the level's deadline moves by the snooze; acknowledged: at its end the ack is lifted and the level paged again.
 * An ack or resolve meanwhile wins. 409 when resolved, exhausted or not escalating.
 */
export async function snooze(
  deps: ActionDeps,
  principal: Principal,
  incidentId: string,
  via: Via,
  minutes: number,
  note?: string,
): Promise<ActionAccepted> {
  const state = await incidentOrNotFound(deps.incidents, incidentId);
  requireAct(principal, 'snooze', state.team);
  if (!Number.isInteger(minutes) || minutes < 5 || minutes > 1440)
    throw new ApiInputError('body', [{ path: 'minutes', message: 'a whole number of minutes, 5..1440' }]);
  requireEscalating(state, 'there is nothing to snooze');
  const person = actorOf(principal);
  const n = `s${countOf(state, 'snoozes')}`;
  const id = eventId('action', 'snooze', state.incidentId, person, String(minutes), n);
  return writeAction(deps, state, { action: 'snooze', via, person, note, minutes }, id);
}

/** A counter the paging state keeps (passed through the view): 0 when absent. */
function countOf(state: IncidentStateView, key: 'reassigns' | 'snoozes'): number {
  const v = (state as Record<string, unknown>)[key];
  return typeof v === 'number' ? v : 0;
}

async function writeAction(
  deps: ActionDeps,
  state: IncidentStateView,
  a: {
    action: 'resolve' | 'note' | 'escalate' | 'reassign' | 'snooze';
    via: Via;
    person: string;
    note?: string;
    to_person?: string;
    minutes?: number;
    round?: number;
    from_level?: number;
  },
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
    ...(a.to_person !== undefined ? { to_person: a.to_person } : {}),
    ...(a.minutes !== undefined ? { minutes: a.minutes } : {}),
    ...(a.round !== undefined ? { round: a.round } : {}),
    ...(a.from_level !== undefined ? { from_level: a.from_level } : {}),
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
