import { createHash } from 'node:crypto';
import { MAX_MEMBERS, type AlertMemberIn, type AlertRecordIn } from '../../schemas/alert-record.js';
import type { AlertmanagerWebhook } from '../../schemas/alertmanager-webhook.js';
import type { EventsV2Action, EventsV2Event } from '../../schemas/events-v2.js';
import { alertAlarmId, alertIncidentId, eventId } from '../../schemas/ids.js';
import { parseTimestamp } from '../../schemas/time.js';

/**
 * Alert sources → alarm records (schemas/alert-record.ts), pure: an Alertmanager webhook notification or an Events
 * API v2 event in, the record the receiver writes out (alert-routes.ts). The record's ids are deterministic: the
 * alarm from the source's incident key, the event id from the payload (a resend is the same event), the provisional
 * incident id from the event id and the time received.
 */

const iso = (ms: number) => new Date(ms).toISOString();
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

/** Go's zero time: what Alertmanager writes as a firing alert's `endsAt`. */
const GO_ZERO = Date.parse('0001-01-01T00:00:00Z');

/** At most this many labels, each name and value clipped, are kept as routing hints (the payload keeps them all). */
const MAX_LABELS = 64;
function hints(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort().slice(0, MAX_LABELS)) out[clip(k, 128)] = clip(labels[k], 256);
  return out;
}

/** JSON with object keys sorted (the same value, the same text: an event id input). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * One Alertmanager notification → one alarm record. The group (`receiver` + `groupKey`) is the alarm; its alerts are
 * the members by fingerprint; ALARM while any member fires, OK when the notification is `resolved` (Alertmanager's
 * status: every alert resolved). The event id hashes the group's state (status, members with their status and
 * times, truncatedAlerts): a retry or a repeat notification of an unchanged group is the same event.
 */
export function alertmanagerRecord(msg: AlertmanagerWebhook, raw: string, receivedAt: number): AlertRecordIn {
  const key = `${msg.receiver}/${msg.groupKey}`;
  const alarmArn = alertAlarmId('alertmanager', key);
  const members: AlertMemberIn[] = msg.alerts
    .map((a) => {
      const ends = a.endsAt === undefined ? undefined : parseTimestamp(a.endsAt);
      const name = a.labels.alertname;
      return {
        fingerprint: a.fingerprint,
        status: a.status,
        ...(name ? { name: clip(name, 256) } : {}),
        starts_at: iso(parseTimestamp(a.startsAt)),
        ...(a.status === 'resolved' && ends !== undefined && ends !== GO_ZERO ? { ends_at: iso(ends) } : {}),
      };
    })
    .sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : x.fingerprint > y.fingerprint ? 1 : 0));
  const firing = members.filter((m) => m.status === 'firing').length;
  const state = msg.status === 'resolved' && firing === 0 ? 'OK' : 'ALARM';
  const id = eventId(
    'alertmanager',
    alarmArn,
    state,
    String(msg.truncatedAlerts),
    ...members.map((m) => `${m.fingerprint}|${m.status}|${m.starts_at}|${m.ends_at ?? ''}`),
  );
  const first = msg.alerts[0];
  const name =
    msg.commonLabels.alertname ?? msg.groupLabels.alertname ?? first.labels.alertname ?? clip(msg.groupKey, 1024);
  const summary =
    msg.commonAnnotations.summary ??
    msg.commonAnnotations.description ??
    first.annotations.summary ??
    first.annotations.description ??
    '';
  const kept = members.slice(0, MAX_MEMBERS);
  return {
    v: 1,
    kind: 'alarm',
    source: 'alertmanager',
    event_id: id,
    incident_id: alertIncidentId(alarmArn, id, receivedAt),
    alarm_arn: alarmArn,
    event_time: iso(receivedAt),
    key: clip(key, 2048),
    alarm_name: clip(name, 1024),
    state,
    labels: hints(msg.commonLabels),
    reason: clip(summary, 4096),
    members: kept,
    truncated: msg.truncatedAlerts + (members.length - kept.length),
    firing,
    raw,
  };
}

const STATE_OF: Record<EventsV2Action, AlertRecordIn['state']> = {
  trigger: 'ALARM',
  resolve: 'OK',
  acknowledge: 'ACK',
};

/**
 * The dedup_key of a trigger sent without one (PagerDuty generates one and returns it): derived from the event, so a
 * client's retry of the same trigger gets the same key and the same incident. 32 hex characters.
 */
export function generatedDedupKey(event: EventsV2Event): string {
  const { routing_key: _key, ...rest } = event;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex').slice(0, 32);
}

/**
 * One Events API v2 event → one alarm record. `service` is the name its routing key maps to (the routing key itself
 * is a credential: never written). The alarm is `<service>/<dedup_key>`; trigger → ALARM, resolve → OK,
 * acknowledge → ACK. The event id hashes the event without its routing key: a client's retry is the same event.
 */
export function eventsV2Record(
  event: EventsV2Event,
  service: string,
  dedupKey: string,
  receivedAt: number,
): AlertRecordIn {
  const key = `${service}/${dedupKey}`;
  const alarmArn = alertAlarmId('events-v2', key);
  const { routing_key: _secret, ...evidence } = event;
  const withKey = { ...evidence, dedup_key: dedupKey };
  const id = eventId('events-v2', alarmArn, canonicalJson(withKey));
  const p = event.payload;
  const labels: Record<string, string> = {};
  if (p) {
    labels.severity = p.severity;
    for (const f of ['component', 'group', 'class'] as const) if (p[f]) labels[f] = clip(p[f], 256);
    labels.source = clip(p.source, 256);
  }
  return {
    v: 1,
    kind: 'alarm',
    source: 'events-v2',
    event_id: id,
    incident_id: alertIncidentId(alarmArn, id, receivedAt),
    alarm_arn: alarmArn,
    event_time: iso(receivedAt),
    key: clip(key, 2048),
    alarm_name: clip(p?.summary ?? dedupKey, 1024),
    state: STATE_OF[event.event_action],
    labels,
    service,
    reason: clip(p?.summary ?? '', 4096),
    raw: JSON.stringify(withKey),
  };
}
