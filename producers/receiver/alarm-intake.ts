import type { Hono } from 'hono';
import { AlarmRecord, type AlarmRecordIn } from '../../schemas/alarm-record.js';
import { CloudWatchAlarmEvent, alarmNamespace } from '../../schemas/cloudwatch-alarm.js';
import { Severity } from '../../schemas/status.js';
import type { AlarmIntakeSettings } from './config.js';
import { PayloadError, type PayloadIssue } from './errors.js';
import { guarded, requireApiKey, jsonBody, writeRecords, type RouteDeps } from './http.js';

/**
 * POST /events/cloudwatch (x-api-key) — what an EventBridge API destination sends: one CloudWatch
 * "Alarm State Change" event, or an array of them. Alarms of namespaces outside ALARM_NAMESPACES are
 * acknowledged and ignored (202); the others become `{v:1, kind:'alarm', severity, event}` records
 * keyed by the alarm ARN. The event is written as received (unknown fields kept).
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

/** Severity: the alarm's `severity` tag > SEVERITY_MAP (exact name, then the longest prefix) > SEVERITY_DEFAULT. */
export function resolveSeverity(event: CloudWatchAlarmEvent, settings: AlarmIntakeSettings): Severity {
  const tagged = Severity.safeParse(event.detail.alarmTags?.severity?.trim().toUpperCase());
  if (tagged.success) return tagged.data;
  const name = event.detail.alarmName;
  if (Object.hasOwn(settings.SEVERITY_MAP, name)) return settings.SEVERITY_MAP[name];
  const prefix = Object.keys(settings.SEVERITY_MAP)
    .filter((k) => name.startsWith(k))
    .sort((a, b) => b.length - a.length)[0];
  return prefix !== undefined ? settings.SEVERITY_MAP[prefix] : settings.SEVERITY_DEFAULT;
}

/** A parsed JSON body (one event or an array) → alarm records and ignored alarms. All-or-nothing. */
export function alarmRecordsFrom(json: unknown, settings: AlarmIntakeSettings): IntakeResult {
  const batch = Array.isArray(json);
  const items: unknown[] = batch ? json : [json];
  if (items.length === 0) throw new PayloadError('no events', []);
  const issues: PayloadIssue[] = [];
  const events: CloudWatchAlarmEvent[] = [];
  items.forEach((item, index) => {
    const parsed = CloudWatchAlarmEvent.safeParse(item);
    if (parsed.success) events.push(parsed.data);
    else for (const i of parsed.error.issues) issues.push({ ...(batch ? { index } : {}), path: i.path.map(String).join('.'), message: i.message });
  });
  if (issues.length > 0) throw PayloadError.ofIssues(issues);
  const result: IntakeResult = { records: [], ignored: [] };
  events.forEach((event, index) => {
    const namespace = alarmNamespace(event);
    const alarm = event.detail.alarmName;
    if (namespace === undefined) {
      result.ignored.push({ id: event.id, alarm, reason: 'the alarm names no metric namespace' });
    } else if (!settings.ALARM_NAMESPACES.includes(namespace)) {
      result.ignored.push({ id: event.id, alarm, reason: `namespace ${namespace} is not in ALARM_NAMESPACES` });
    } else {
      // The raw item, not the parsed one: defaults are not invented into the evidence.
      result.records.push({ v: 1, kind: 'alarm', severity: resolveSeverity(event, settings), event: items[index] as AlarmRecordIn['event'] });
    }
  });
  return result;
}

export function alarmRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/events/cloudwatch';
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      requireApiKey(c, deps.config.API_KEY);
      const json = jsonBody(body);
      const { records, ignored } = alarmRecordsFrom(json, deps.config);
      for (const i of ignored) deps.logger.info({ route, alarm: i.alarm, reason: i.reason }, 'alarm ignored');
      if (records.length === 0) {
        return c.json({ ignored: Array.isArray(json) ? ignored : ignored[0].reason }, 202);
      }
      await writeRecords(deps, records);
      const written = records.map((r) => {
        const a = AlarmRecord.parse(r);
        return { event_id: a.event_id, incident_id: a.incident_id, alarm: a.alarm_name, state: a.state, severity: a.severity };
      });
      deps.logger.info({ route, written: written.length, ignored: ignored.length }, 'alarms written');
      return c.json({ written, ...(ignored.length ? { ignored } : {}) }, 200);
    }),
  );
}
