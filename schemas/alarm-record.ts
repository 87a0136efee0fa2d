import { z } from 'zod';
import { SCHEMA_VERSION } from './record-base.js';
import { CloudWatchAlarmEvent, alarmNamespace } from './cloudwatch-alarm.js';
import { Severity } from './status.js';
import { taggedSeverity } from './alarm-routing.js';
import { alarmEpisodeStart, alarmEventId, incidentIdOf } from './ids.js';
import { parseTimestamp } from './time.js';
import { AlertRecord } from './alert-record.js';

/**
 * An alarm on the stream: the raw EventBridge event, wrapped by the alarm intake (the receiver's alarm
 * endpoint or the EventBridge rule's function; older records: the rule's input transformer,
 * `{"v":1,"kind":"alarm","event":<aws.events.event.json>}`), which may add the severity it resolved
 * (schemas/alarm-routing.ts). Ids are derived here by pure functions, never trusted
 * from the wire. `severity` here is the record's own or the alarm's `severity` tag (case-insensitive);
 * a record with neither gets its severity when the paging engine opens the incident (SEVERITY_MAP,
 * SEVERITY_DEFAULT: the same `resolveSeverity` the intake uses).
 * Example: {"v":1,"kind":"alarm","severity":"P1","event":<fixtures/cloudwatch-alarm-state-change.json>}
 */
export const AlarmRecord = z
  .object({
    v: z.literal(SCHEMA_VERSION),
    kind: z.literal('alarm'),
    /** Absent on CloudWatch records (every record written before other sources existed). */
    source: z.literal('cloudwatch').optional(),
    /**
     * `sns`: the alarm came as its SNS notification (POST /events/sns), `event` built from it (cloudwatch-alarm-sns.ts)
     * with the ids the EventBridge event gives. Absent: EventBridge.
     */
    via: z.literal('sns').optional(),
    severity: Severity.optional(),
    event: CloudWatchAlarmEvent,
  })
  .transform((r) => {
    const e = r.event;
    return {
      v: r.v,
      kind: r.kind,
      source: 'cloudwatch' as const,
      ...(r.via ? { via: r.via } : {}),
      event_id: alarmEventId(e),
      incident_id: incidentIdOf(e),
      alarm_arn: e.resources[0],
      event_time: parseTimestamp(e.detail.state.timestamp),
      alarm_name: e.detail.alarmName,
      state: e.detail.state.value,
      previous_state: e.detail.previousState?.value,
      reason: e.detail.state.reason,
      namespace: alarmNamespace(e),
      severity: r.severity ?? taggedSeverity(e.detail.alarmTags),
      episode_start: alarmEpisodeStart(e),
      event: e,
    };
  });
export type AlarmRecordIn = z.input<typeof AlarmRecord>;
export type AlarmRecord = z.output<typeof AlarmRecord>;

/**
 * Every alarm record (the stream's `alarm` kind), by `source`: CloudWatch's (no `source`, or `cloudwatch`: records
 * on the stream today read as before) or an alert source's (schemas/alert-record.ts: `alertmanager`, `events-v2`).
 * The output names its `source` in both forms; `event` (the EventBridge event) is CloudWatch's only.
 */
export const AnyAlarmRecord = z.discriminatedUnion('source', [AlarmRecord, AlertRecord]);
export type AnyAlarmRecordIn = z.input<typeof AnyAlarmRecord>;
export type AnyAlarmRecord = z.output<typeof AnyAlarmRecord>;
