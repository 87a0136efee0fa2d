import { z } from 'zod';
import { SCHEMA_VERSION } from './record-base.js';
import { Severity } from './status.js';
import { Timestamp } from './time.js';

/**
 * An alarm from a source other than CloudWatch, on the stream as `kind: 'alarm'` with its `source`
 * (schemas/alarm-record.ts holds both forms; docs/design/closed-loop.md "Alarm intake"):
 *
 * - `alertmanager`: one Alertmanager webhook (v4) notification of one group (`groupKey`); its alerts are the
 *   members (by `fingerprint`); `state` ALARM while any member fires, OK when the notification says `resolved`;
 * - `events-v2`: one PagerDuty Events API v2 event; `routing_key` names a service or team, `dedup_key` the
 *   incident; `state` ALARM for `trigger`, OK for `resolve`, ACK for `acknowledge`;
 * - `heartbeat`: a check of the on-call file's `heartbeats` (schemas/oncall/heartbeats.ts; `key` the check id):
 *   `phase: checkin` (state OK) is one check-in, written by `GET|POST /heartbeat/<token>`; `phase: due` (state ALARM)
 *   is its "next due" deadline, put by the Scheduler `period + grace` after the check-in `after` (the paging engine
 *   opens an incident from it unless a newer check-in came first: processors/paging/heartbeats.ts).
 *
 * The alarm is the source's incident key (`key`: receiver + groupKey; service + dedup_key), as an ARN-shaped id
 * (`alertAlarmId`: `arn:pagetrail:<source>:::<key>`), so every record of its incidents shares one partition key
 * (schemas/partition-key.ts: its hash when over 256 characters). The receiver is stateless, so its record's
 * `incident_id` is provisional (`alertIncidentId`, from the event id and the time it was received); the paging
 * handler puts the record on the alarm's open incident (else it opens one with that id) and *restates* it: an
 * alarm record with `restates` (the intake record's event id) and the incident's real id, which the lake counts
 * (opened, resolved) and the paging handler skips. `event_id` is a hash of the payload, not of the time: a resend
 * of the same notification (Alertmanager retries; a PagerDuty client retries) has the same id and pages nobody
 * twice. `raw` keeps the verified payload (the lake's `detail`).
 *
 * Example (Alertmanager; the payloads: fixtures/alertmanager-*.json):
 * {"v":1,"kind":"alarm","source":"alertmanager","event_id":"evt_…","incident_id":"inc_…",
 *  "alarm_arn":"arn:pagetrail:alertmanager:::web-hook/{}:{alertname=\"test1\"}",
 *  "event_time":"2026-12-07T22:00:00.000Z","key":"web-hook/{}:{alertname=\"test1\"}","alarm_name":"TestAlert",
 *  "state":"ALARM","labels":{"alertname":"TestAlert"},"truncated":0,"raw":"{…}",
 *  "members":[{"fingerprint":"dab43189276e5f48","status":"firing","starts_at":"2020-01-01T00:00:00.000Z"}]}
 */
export const AlertSource = z.enum(['alertmanager', 'events-v2', 'heartbeat']);
export type AlertSource = z.infer<typeof AlertSource>;

/** Every source an alarm record can have: CloudWatch's (the EventBridge event) and the others. */
export const AlarmSource = z.enum(['cloudwatch', 'alertmanager', 'events-v2', 'heartbeat']);
export type AlarmSource = z.infer<typeof AlarmSource>;

/** ALARM: firing / trigger; OK: every member resolved / resolve; ACK: an events-v2 `acknowledge`. */
export const AlertState = z.enum(['ALARM', 'OK', 'ACK']);
export type AlertState = z.infer<typeof AlertState>;

/** One alert of an Alertmanager group, as the notification reported it. */
export const AlertMember = z.object({
  fingerprint: z.string().min(1).max(64),
  status: z.enum(['firing', 'resolved']),
  name: z.string().max(256).optional(),
  starts_at: Timestamp.optional(),
  /** Resolved members only (a firing alert's endsAt is Go's zero time: not kept). */
  ends_at: Timestamp.optional(),
});
export type AlertMemberIn = z.input<typeof AlertMember>;

/** At most this many members are kept on a record (the rest are counted in `truncated`; `raw` has them all). */
export const MAX_MEMBERS = 100;

export const AlertRecord = z
  .object({
    v: z.literal(SCHEMA_VERSION),
    kind: z.literal('alarm'),
    source: AlertSource,
    event_id: z.string().min(8).max(128),
    incident_id: z.string().min(4).max(128),
    /** `alertAlarmId(source, key)`: the partition key derives from it. */
    alarm_arn: z.string().startsWith('arn:pagetrail:'),
    /** When the receiver took it (the sources' own times are the members'). */
    event_time: Timestamp,
    /** The source's incident key: `<receiver>/<groupKey>` or `<service>/<dedup_key>`. */
    key: z.string().min(1).max(2048),
    alarm_name: z.string().min(1).max(1024),
    state: AlertState,
    /** The source's severity mapped (events-v2 `payload.severity`); else the engine maps the labels. */
    severity: Severity.optional(),
    /** Routing hints: Alertmanager's common labels; events-v2's severity, component, group, class. */
    labels: z.record(z.string(), z.string()).default({}),
    /** events-v2: the name the routing key maps to (a team or an on-call `sources.services` entry). */
    service: z.string().min(1).max(128).optional(),
    /** The summary (Alertmanager: the `summary` or `description` annotation; events-v2: `payload.summary`). */
    reason: z.string().max(4096).default(''),
    members: z.array(AlertMember).max(MAX_MEMBERS).optional(),
    /** Alerts not listed: Alertmanager's `truncatedAlerts` plus members over MAX_MEMBERS. */
    truncated: z.number().int().min(0).optional(),
    firing: z.number().int().min(0).optional(),
    /** The verified payload as received, JSON text (intake records only). */
    raw: z.string().optional(),
    /** heartbeat: a check-in (`checkin`) or the deadline that follows one (`due`). */
    phase: z.enum(['checkin', 'due']).optional(),
    /** heartbeat `due`: the time of the check-in it follows (the last one the engine knew when it was armed). */
    after: Timestamp.optional(),
    /** Set on the paging engine's restatement: the intake record's event id (the handler skips these). */
    restates: z.string().min(8).max(128).optional(),
  })
  .transform((r) => ({
    ...r,
    previous_state: undefined,
    namespace: undefined,
    episode_start: r.event_time,
  }));
export type AlertRecordIn = z.input<typeof AlertRecord>;
export type AlertRecord = z.output<typeof AlertRecord>;
