import { AlarmRecord, type AlarmRecordIn } from '../../schemas/alarm-record.js';
import { routeAlarm } from '../../schemas/alarm-routing.js';
import { CloudWatchAlarmEvent, alarmKind, alarmNamespaces } from '../../schemas/cloudwatch-alarm.js';
import type { Severity } from '../../schemas/status.js';
import type { AlarmIntakeSettings } from './config.js';
import { parseEach } from './body-parse.js';
import { writeRecords, type StreamWriter } from './stream-write.js';

/**
 * The alarm intake: CloudWatch "Alarm State Change" events (one, or an array) of any alarm kind — metric,
 * metric-math, Metrics Insights or composite — → alarm records on the stream. One module for both ways
 * an alarm arrives: POST /events/cloudwatch (alarm-route.ts, what an EventBridge API destination sends)
 * and the EventBridge rule's function (producers/eventbridge/handler.ts). A metric alarm that names a
 * namespace outside ALARM_NAMESPACES is ignored; composite and expression-only alarms name none and
 * always pass (they are routed by their `team` tag, the on-call routes' alarm prefixes or the default
 * team). The others become `{v:1, kind:'alarm', severity, event}` records, keyed by schemas/envelope.ts
 * `partitionKeyOf` (the alarm ARN, or its hash when the ARN is over Kinesis's 256-character limit), the
 * severity resolved by schemas/alarm-routing.ts. The event is written as received (unknown fields kept).
 */

export interface IgnoredAlarm {
  id: string;
  alarm: string;
  reason: string;
}

export interface IntakeResult {
  records: AlarmRecordIn[];
  ignored: IgnoredAlarm[];
}

/** Severity of an alarm event: schemas/alarm-routing.ts `routeAlarm` (tag > SEVERITY_MAP > SEVERITY_DEFAULT). */
export function resolveSeverity(event: CloudWatchAlarmEvent, settings: AlarmIntakeSettings): Severity {
  return routeAlarm(event, settings).severity;
}

/**
 * Why an alarm is not taken, or undefined when it is: only an alarm whose metrics name namespaces,
 * none of them in ALARM_NAMESPACES, is left out (as the EventBridge rule does, infra/cdk/alarm-rule.ts).
 */
export function ignoredBecause(
  event: CloudWatchAlarmEvent,
  settings: Pick<AlarmIntakeSettings, 'ALARM_NAMESPACES'>,
): string | undefined {
  if (alarmKind(event) !== 'metric') return undefined; // composite / Metrics Insights: no namespace to filter on
  const named = alarmNamespaces(event);
  return named.some((n) => settings.ALARM_NAMESPACES.includes(n))
    ? undefined
    : `namespace ${named.join(', ')} is not in ALARM_NAMESPACES`;
}

/** A parsed JSON body (one event or an array) → alarm records and ignored alarms. All-or-nothing. */
export function alarmRecordsFrom(json: unknown, settings: AlarmIntakeSettings): IntakeResult {
  const { items, values: events } = parseEach(json, CloudWatchAlarmEvent);
  const result: IntakeResult = { records: [], ignored: [] };
  events.forEach((event, index) => {
    const alarm = event.detail.alarmName;
    const reason = ignoredBecause(event, settings);
    if (reason !== undefined) {
      result.ignored.push({ id: event.id, alarm, reason });
    } else {
      // The raw item, not the parsed one: defaults are not invented into the evidence.
      result.records.push({
        v: 1,
        kind: 'alarm',
        severity: resolveSeverity(event, settings),
        event: items[index] as AlarmRecordIn['event'],
      });
    }
  });
  return result;
}

/** What one intake wrote (per alarm record) and what it ignored. */
export interface IntakeOutcome {
  written: { event_id: string; incident_id: string; alarm: string; state: string; severity?: string }[];
  ignored: IgnoredAlarm[];
}

/**
 * A parsed JSON body → alarm records, written to the stream (all or nothing). Throws PayloadError for an
 * event that can never become a record (not an alarm event, or refused by the stream whatever we retry),
 * StreamWriteError when the stream did not acknowledge them (retry).
 */
export async function intakeAlarms(
  json: unknown,
  deps: { config: AlarmIntakeSettings; producer: StreamWriter },
): Promise<IntakeOutcome> {
  const { records, ignored } = alarmRecordsFrom(json, deps.config);
  await writeRecords(deps, records);
  const written = records.map((r) => {
    const a = AlarmRecord.parse(r);
    return {
      event_id: a.event_id,
      incident_id: a.incident_id,
      alarm: a.alarm_name,
      state: a.state,
      severity: a.severity,
    };
  });
  return { written, ignored };
}
