import type { Hono } from 'hono';
import { AlarmRecord, type AlarmRecordIn } from '../../schemas/alarm-record.js';
import { routeAlarm } from '../../schemas/alarm-routing.js';
import { CloudWatchAlarmEvent, alarmKind, alarmNamespaces } from '../../schemas/cloudwatch-alarm.js';
import type { Severity } from '../../schemas/status.js';
import type { AlarmIntakeSettings } from './config.js';
import { parseEach } from './body-parse.js';
import { apiRoute, writeRecords, type RouteDeps } from './http.js';

/**
 * POST /events/cloudwatch (x-api-key) — what an EventBridge API destination sends: one CloudWatch
 * "Alarm State Change" event, or an array of them, of any alarm kind: metric, metric-math, Metrics
 * Insights or composite. A metric alarm that names a namespace outside ALARM_NAMESPACES is
 * acknowledged and ignored (202); composite and expression-only alarms name none and always pass
 * (they are routed by their `team` tag, the on-call routes' alarm prefixes or the default team). The
 * others become `{v:1, kind:'alarm', severity, event}` records keyed by the alarm ARN, the severity
 * resolved by schemas/alarm-routing.ts (the same function the paging engine applies to records the
 * EventBridge rule writes). The event is written as received (unknown fields kept).
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

export function alarmRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/events/cloudwatch';
  apiRoute(app, deps, route, async (c, json) => {
    const { records, ignored } = alarmRecordsFrom(json, deps.config);
    for (const i of ignored) deps.logger.info({ route, alarm: i.alarm, reason: i.reason }, 'alarm ignored');
    if (records.length === 0) {
      return c.json({ ignored: Array.isArray(json) ? ignored : ignored[0].reason }, 202);
    }
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
    deps.logger.info({ route, written: written.length, ignored: ignored.length }, 'alarms written');
    return c.json({ written, ...(ignored.length ? { ignored } : {}) }, 200);
  });
}
