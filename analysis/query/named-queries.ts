/**
 * The named queries, one text each, in the SQL both engines run: Athena (Trino) SQL, which the local
 * DuckDB engine also runs through the dialect macros (dialect.ts). The Athena named queries
 * (infra/cdk/queries.ts), `make demo` (infra/local/demo-run.ts) and `make query NAME=…` all read them
 * from here.
 */
import { SEED_QUERY } from '../../schemas/views.js';

export interface NamedQuery {
  /** The Athena named query's name, and `make query NAME=<name>`. */
  name: string;
  description: string;
  sql: string;
}

/** Pages opened before their level escalated, one row per page (the seed query of `make demo`; schemas/views.ts). */
export { SEED_QUERY };

/**
 * Who acked and the verdicts: the audit's last columns, as select items over `incidents i`
 * (schemas/views.ts names them; keep this list in step with it).
 */
export const AUDIT_VERDICT_COLUMNS: readonly string[] = [
  'i.acknowledged_by AS acked_by',
  'i.first_responder_opened_before_escalation',
  'i.any_responder_opened_before_escalation',
];

/**
 * `+<seconds>s` after the incident opened, or NULL when it never happened: NULL is the one spelling of "none"
 * in every column (as the engines print it; text-table.ts), not a `-` of our own.
 */
const after = (col: string) =>
  `'+' || CAST(CAST(round(to_unixtime(${col}) - to_unixtime(i.opened_at)) AS INTEGER) AS VARCHAR) || 's'`;

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * The per-incident post-mortem audit: who was paged (person:channel@Llevel), when the first page was
 * delivered, opened, acked and the incident escalated (seconds after it opened), failed deliveries, pages
 * failed over on silence (no delivery receipt by their delivery deadline),
 * who was told of the ack or resolve (person:channel:ack|resolve), the verdicts; NULL where there is none. Every
 * incident, or only `incidentIds`.
 */
export function auditQuery(opts: { incidentIds?: readonly string[] } = {}): string {
  const where = opts.incidentIds
    ? `\nWHERE i.incident_id IN (${opts.incidentIds.map(sqlString).join(', ') || 'NULL'})`
    : '';
  return `SELECT i.incident_id, i.alarm_name AS alarm, i.severity AS sev,
  (SELECT array_join(array_sort(array_distinct(array_agg(
       e.person || ':' || e.channel || '@L' || CAST(e."level" AS VARCHAR)))), ' ')
     FROM alert_events e
     WHERE e.incident_id = i.incident_id AND e.kind = 'dispatch'
       AND COALESCE(e.reason, '') NOT LIKE 'notice%') AS paged,
  ${after('i.first_delivered_at')} AS delivered,
  ${after('i.first_opened_at')} AS opened,
  ${after('i.acknowledged_at')} AS acked,
  ${after('i.escalated_at')} AS escalated,
  i.failed_deliveries AS failed,
  i.silent_failovers AS silent,
  (SELECT array_join(array_sort(array_distinct(array_agg(
       e.person || ':' || e.channel || ':' || substr(e.reason, 8)))), ' ')
     FROM alert_events e
     WHERE e.incident_id = i.incident_id AND e.kind = 'dispatch' AND e.reason LIKE 'notice%') AS told,
  ${AUDIT_VERDICT_COLUMNS.join(',\n  ')}
FROM incidents i${where}
ORDER BY i.opened_at`;
}

export const AUDIT_QUERY = auditQuery();

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: 'opened-before-escalation',
    description: 'Pages opened before the loop escalated (the seed query of make demo)',
    sql: SEED_QUERY,
  },
  {
    name: 'incident-audit',
    description: 'Per-incident post-mortem audit: who was paged, delivered/opened/acked/escalated offsets, verdict',
    sql: AUDIT_QUERY,
  },
];

/** The named query called `name`, or undefined. */
export const namedQuery = (name: string): NamedQuery | undefined => NAMED_QUERIES.find((q) => q.name === name);
