/**
 * Athena (Trino) versions of the queries `make demo` runs (infra/local/demo-run.ts). The seed query is
 * engine-neutral and imported as is; the verdict query uses DuckDB functions (epoch, string_agg), so
 * the per-incident audit is restated here in Trino SQL, without the incident-id filter (the named
 * query lists every incident; add `WHERE i.incident_id = '…'` for one).
 */
export { SEED_QUERY } from '../local/demo-run.js';

const after = (col: string) =>
  `COALESCE('+' || CAST(CAST(round(to_unixtime(${col}) - to_unixtime(i.opened_at)) AS INTEGER) AS VARCHAR) || 's', '-')`;

export const AUDIT_QUERY = `SELECT i.incident_id, i.alarm_name AS alarm, i.severity AS sev,
  (SELECT array_join(array_sort(array_distinct(array_agg(e.person || ':' || e.channel || '@L' || CAST(e."level" AS VARCHAR)))), ' ')
     FROM alert_events e WHERE e.incident_id = i.incident_id AND e.kind = 'dispatch') AS paged,
  ${after('i.first_delivered_at')} AS delivered,
  ${after('i.first_opened_at')} AS opened,
  ${after('i.acknowledged_at')} AS acked,
  ${after('i.escalated_at')} AS escalated,
  i.failed_deliveries AS failed,
  i.opened_before_escalation
FROM incidents i
ORDER BY i.opened_at`;
