import { hash } from 'node:crypto';
import { parseTimestamp } from './time.js';
import type { CloudWatchAlarmEvent } from './cloudwatch-alarm.js';

/** sha256 hex of the parts, each followed by U+001F (unit separator), truncated. One-shot: hot path. */
function digest(parts: readonly string[], length: number): string {
  let joined = '';
  for (const p of parts) joined += p + '\u001f';
  return hash('sha256', joined, 'hex').slice(0, length);
}

/** Deterministic event id: the same provider event always yields the same id (the dedupe key). */
export function eventId(kind: string, ...parts: string[]): string {
  return `evt_${digest([kind, ...parts], 32)}`;
}

/**
 * The time an alarm entered ALARM for this episode: the new state's timestamp when it goes to ALARM,
 * the previous state's timestamp when it leaves ALARM (so the OK event names the same incident),
 * otherwise the new state's timestamp (a transition that opens no incident still gets a stable id).
 */
export function alarmEpisodeStart(event: CloudWatchAlarmEvent): number {
  const { state, previousState } = event.detail;
  if (state.value !== 'ALARM' && previousState?.value === 'ALARM') return parseTimestamp(previousState.timestamp);
  return parseTimestamp(state.timestamp);
}

/**
 * Incident id: one ALARM episode of one alarm, from the alarm ARN and the time it entered ALARM.
 * Pure: the same on every replay of the same event, and for the ALARM and the OK event of an episode.
 */
export function incidentId(alarmArn: string, enteredAlarmAtMs: number): string {
  return `inc_${digest([alarmArn, new Date(enteredAlarmAtMs).toISOString()], 20)}`;
}

export function incidentIdOf(event: CloudWatchAlarmEvent): string {
  return incidentId(event.resources[0], alarmEpisodeStart(event));
}

/** Alarm record event id: the alarm, the state it entered and when (EventBridge retries keep these). */
export function alarmEventId(event: CloudWatchAlarmEvent): string {
  return eventId(
    'alarm',
    event.resources[0],
    event.detail.state.value,
    new Date(parseTimestamp(event.detail.state.timestamp)).toISOString(),
  );
}

/**
 * The alarm id of an alert source's incident key (schemas/alert-record.ts): ARN-shaped, so it stands where an alarm
 * ARN stands (records, links, the lake's `alarm_arn`); its partition key is its hash when over 256 characters.
 */
export function alertAlarmId(source: string, key: string): string {
  return `arn:pagetrail:${source}:::${key}`;
}

/**
 * The provisional incident id of an alert-source record: from its event id and the time it was received, so a
 * resend (same event id) received later is a record of its own that the paging handler puts on the open incident,
 * and the same payload after the incident resolved opens a new one.
 */
export function alertIncidentId(alarmId: string, eventId: string, receivedAtMs: number): string {
  return `inc_${digest([alarmId, eventId, new Date(receivedAtMs).toISOString()], 20)}`;
}
