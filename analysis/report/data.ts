import { CloudWatchAlarmEvent, alarmNamespace } from '../../schemas/cloudwatch-alarm.js';
import { routeAlarm } from '../../schemas/alarm-routing.js';
import { teamFor, type OnCallConfig } from '../../schemas/oncall/config.js';
import { noticeMessagesSql, partOfNoNoticeSql } from '../../schemas/views.js';
import { records, toMs, toNum, toStr } from './values.js';

/** SQL over the lake (DuckDB locally, Athena on AWS): `queryDuckDb` or `queryAthena` bound to their options. */
export type { QueryFn } from './timeline.js';
import type { QueryFn } from './timeline.js';

/** One incident of the `incidents` view, with its team. */
export interface IncidentSummary {
  incident_id: string;
  alarm_name?: string;
  alarm_arn?: string;
  /** cloudwatch | alertmanager | events-v2 (the `incidents` view's `source`). */
  source?: string;
  severity?: string;
  team: string;
  opened_at?: number;
  first_paged_at?: number;
  acknowledged_at?: number;
  acknowledged_by?: string;
  escalated_at?: number;
  resolved_at?: number;
  /** Pages sent or tried (never a notice): the `incidents` view's count. */
  pages: number;
  /** Acks and resolves told to people: not pages. */
  notices: number;
  failed_deliveries: number;
  /** Pages failed over on silence (no delivery receipt by their delivery deadline): not failures. */
  silent_failovers: number;
  max_level?: number;
  first_responder_opened_before_escalation?: string;
  any_responder_opened_before_escalation?: string;
}

/** One page (message) and how far it got. Notices (schemas/views.ts `NOTICE_REASONS`) are not pages: never listed. */
export interface PageFact {
  incident_id: string;
  message_id: string;
  channel: string;
  provider?: string;
  person?: string;
  severity?: string;
  level?: number;
  sent_at?: number;
  delivered_at?: number;
  opened_at?: number;
  acked_at?: number;
  opened_before_this_page_escalated?: string;
}

/** A page the provider did not get through (failed dispatch, undelivered, bounced, suppressed…); never a notice. */
export interface Failure {
  incident_id: string;
  message_id?: string;
  provider?: string;
  channel?: string;
  person?: string;
  status: string;
  error_code?: string;
  error_message?: string;
  at?: number;
}

export interface LakeData {
  incidents: IncidentSummary[];
  pages: PageFact[];
  failures: Failure[];
}

const FAILED = "('undelivered', 'failed', 'bounced', 'suppressed', 'canceled', 'complained')";

/** The notices' messages: every query below keeps only the rows of no notice (a notice is never a page). */
const NOTICE_MESSAGES = `nm AS (${noticeMessagesSql('alert_events')})`;

const PAGES_SQL = `WITH ${NOTICE_MESSAGES},
p AS (
  SELECT incident_id, message_id, MAX(channel) AS channel, MAX(provider) AS provider, MAX(person) AS person,
    MAX(severity) AS severity, MAX("level") AS page_level, MIN("timestamp") AS sent_at
  FROM alert_events e
  WHERE kind = 'dispatch' AND status = 'sent' AND message_id IS NOT NULL AND ${partOfNoNoticeSql('e', 'nm')}
  GROUP BY incident_id, message_id
),
r AS (
  SELECT incident_id, message_id,
    MIN(CASE WHEN status IN ('delivered', 'opened', 'clicked') THEN "timestamp" END) AS delivered_at,
    MIN(CASE WHEN status IN ('opened', 'clicked') THEN "timestamp" END) AS opened_at,
    MAX(opened_before_this_page_escalated) AS verdict
  FROM alert_events WHERE message_id IS NOT NULL
  GROUP BY incident_id, message_id
),
a AS (
  SELECT incident_id, message_id, person, channel, "timestamp" FROM alert_events WHERE kind = 'ack'
),
pa AS (
  SELECT p.incident_id, p.message_id, MIN(a."timestamp") AS acked_at
  FROM p JOIN a ON a.incident_id = p.incident_id AND a."timestamp" >= p.sent_at
    AND (a.message_id = p.message_id OR (a.person = p.person AND a.channel = p.channel))
  GROUP BY p.incident_id, p.message_id
)
SELECT p.incident_id, p.message_id, p.channel, p.provider, p.person, p.severity, p.page_level, p.sent_at,
  r.delivered_at, r.opened_at, pa.acked_at, r.verdict
FROM p
LEFT JOIN r ON r.incident_id = p.incident_id AND r.message_id = p.message_id
LEFT JOIN pa ON pa.incident_id = p.incident_id AND pa.message_id = p.message_id`;

const FAILURES_SQL = `WITH ${NOTICE_MESSAGES}
SELECT incident_id, message_id, provider, channel, person, status, error_code, error_message, "timestamp"
FROM alert_events e
WHERE ((kind = 'receipt' AND status IN ${FAILED}) OR (kind = 'dispatch' AND status = 'failed'))
  AND ${partOfNoNoticeSql('e', 'nm')}`;

const ALARMS_SQL = `SELECT incident_id, alarm_name, detail FROM events WHERE kind = 'alarm' AND status = 'alarm'`;

/**
 * The team of each incident: the lake has no team column, so it is routed again from the alarm event and the on-call
 * file.
 */
function teamsOf(alarms: Record<string, unknown>[], oncall: OnCallConfig | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of alarms) {
    const id = String(a.incident_id);
    if (out.has(id)) continue;
    let namespace: string | undefined;
    let tag: string | undefined;
    try {
      const detail: unknown = JSON.parse(String(a.detail ?? 'null'));
      const parsed = CloudWatchAlarmEvent.safeParse(detail);
      if (parsed.success) {
        namespace = alarmNamespace(parsed.data);
        tag = routeAlarm(parsed.data).team;
      } else if (typeof (detail as { restates?: unknown } | null)?.restates === 'string') {
        // an alert source's alarm (Alertmanager, Events API v2): the paging engine recorded the team it paged
        const team = (detail as { team?: unknown }).team;
        if (typeof team === 'string') {
          out.set(id, team);
          continue;
        }
      }
    } catch {
      // evidence that is not JSON: route by name only
    }
    const alarmName = toStr(a.alarm_name) ?? '';
    out.set(
      id,
      oncall ? teamFor(oncall, { alarmName, namespace, tags: tag ? { team: tag } : undefined }) : (tag ?? 'unknown'),
    );
  }
  return out;
}

/** An `incidents` view row as the report reads it, with its team. */
export function summaryOfRow(r: Record<string, unknown>, team: string): IncidentSummary {
  return {
    incident_id: String(r.incident_id),
    alarm_name: toStr(r.alarm_name),
    alarm_arn: toStr(r.alarm_arn),
    source: toStr(r.source),
    severity: toStr(r.severity),
    team,
    opened_at: toMs(r.opened_at),
    first_paged_at: toMs(r.first_paged_at),
    acknowledged_at: toMs(r.acknowledged_at),
    acknowledged_by: toStr(r.acknowledged_by),
    escalated_at: toMs(r.escalated_at),
    resolved_at: toMs(r.resolved_at),
    pages: toNum(r.pages) ?? 0,
    notices: toNum(r.notices) ?? 0,
    failed_deliveries: toNum(r.failed_deliveries) ?? 0,
    silent_failovers: toNum(r.silent_failovers) ?? 0,
    max_level: toNum(r.max_level),
    first_responder_opened_before_escalation: toStr(r.first_responder_opened_before_escalation),
    any_responder_opened_before_escalation: toStr(r.any_responder_opened_before_escalation),
  };
}

/** The team of one incident (its alarm routed again, as loadLakeIncidents does): one query. */
export async function lakeIncidentTeam(query: QueryFn, incidentId: string, oncall?: OnCallConfig): Promise<string> {
  const alarms = await query(`${ALARMS_SQL} AND incident_id = '${incidentId.replaceAll("'", "''")}'`);
  return teamsOf(records(alarms), oncall).get(incidentId) ?? oncall?.default_team ?? 'unknown';
}

/**
 * The incidents that opened in [from, to) (by the alarm's time, else the first page), oldest first, each routed to
 * its team by `oncall` (without it: the alarm's tag, or `unknown`). Two queries: the `incidents` view and the alarms.
 */
export async function loadLakeIncidents(
  query: QueryFn,
  opts: { from: number; to: number; oncall?: OnCallConfig },
): Promise<IncidentSummary[]> {
  // One after another: each query may sync the same local cache.
  const inc = await query('SELECT * FROM incidents');
  const alarms = await query(ALARMS_SQL);
  const teams = teamsOf(records(alarms), opts.oncall);
  return records(inc)
    .map((r) => summaryOfRow(r, teams.get(String(r.incident_id)) ?? opts.oncall?.default_team ?? 'unknown'))
    .filter((i) => {
      const at = i.opened_at ?? i.first_paged_at;
      return at !== undefined && at >= opts.from && at < opts.to;
    })
    .sort((a, b) => (a.opened_at ?? a.first_paged_at ?? 0) - (b.opened_at ?? b.first_paged_at ?? 0));
}

/** The incidents that opened in [from, to) (loadLakeIncidents), their pages and their failures. */
export async function loadLakeData(
  query: QueryFn,
  opts: { from: number; to: number; oncall?: OnCallConfig },
): Promise<LakeData> {
  const incidents = await loadLakeIncidents(query, opts);
  const pages = await query(PAGES_SQL);
  const failures = await query(FAILURES_SQL);
  const ids = new Set(incidents.map((i) => i.incident_id));
  return {
    incidents,
    pages: records(pages)
      .filter((r) => ids.has(String(r.incident_id)))
      .map((r) => ({
        incident_id: String(r.incident_id),
        message_id: String(r.message_id),
        channel: toStr(r.channel) ?? 'other',
        provider: toStr(r.provider),
        person: toStr(r.person),
        severity: toStr(r.severity),
        level: toNum(r.page_level),
        sent_at: toMs(r.sent_at),
        delivered_at: toMs(r.delivered_at),
        opened_at: toMs(r.opened_at),
        acked_at: toMs(r.acked_at),
        opened_before_this_page_escalated: toStr(r.verdict),
      })),
    failures: records(failures)
      .filter((r) => ids.has(String(r.incident_id)))
      .map((r) => ({
        incident_id: String(r.incident_id),
        message_id: toStr(r.message_id),
        provider: toStr(r.provider),
        channel: toStr(r.channel),
        person: toStr(r.person),
        status: String(r.status),
        error_code: toStr(r.error_code),
        error_message: toStr(r.error_message),
        at: toMs(r.timestamp),
      }))
      .sort((a, b) => (a.at ?? 0) - (b.at ?? 0)),
  };
}
