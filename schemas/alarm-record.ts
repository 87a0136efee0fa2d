import { z } from 'zod';
import { SCHEMA_VERSION } from './record-base.js';
import { CloudWatchAlarmEvent, alarmNamespace } from './cloudwatch-alarm.js';
import { Severity } from './status.js';
import { alarmEpisodeStart, alarmEventId, incidentIdOf } from './ids.js';
import { parseTimestamp } from './time.js';

/**
 * An alarm on the stream: the raw EventBridge event, wrapped by the rule's input transformer
 * (`{"v":1,"kind":"alarm","event":<aws.events.event.json>}`) or by the alarm endpoint, which may add the
 * severity it resolved. Ids are derived here by pure functions, never trusted from the wire.
 * Example: {"v":1,"kind":"alarm","severity":"P1","event":<fixtures/cloudwatch-alarm-state-change.json>}
 */
export const AlarmRecord = z
  .object({
    v: z.literal(SCHEMA_VERSION),
    kind: z.literal('alarm'),
    severity: Severity.optional(),
    event: CloudWatchAlarmEvent,
  })
  .transform((r) => {
    const e = r.event;
    return {
      v: r.v,
      kind: r.kind,
      event_id: alarmEventId(e),
      incident_id: incidentIdOf(e),
      alarm_arn: e.resources[0],
      event_time: parseTimestamp(e.detail.state.timestamp),
      alarm_name: e.detail.alarmName,
      state: e.detail.state.value,
      previous_state: e.detail.previousState?.value,
      reason: e.detail.state.reason,
      namespace: alarmNamespace(e),
      severity: r.severity ?? (Severity.safeParse(e.detail.alarmTags?.severity).data),
      episode_start: alarmEpisodeStart(e),
      event: e,
    };
  });
export type AlarmRecordIn = z.input<typeof AlarmRecord>;
export type AlarmRecord = z.output<typeof AlarmRecord>;
