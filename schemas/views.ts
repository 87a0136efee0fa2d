import { EVENTS_TABLE } from './lake.js';

/**
 * The lake's views, in SQL that DuckDB (local) and Athena/Trino (AWS) both run, over the `events`
 * table (schemas/lake.ts). Both views read each event once (by event id) even while a backfill's
 * rewritten object and the object it replaces are both present.
 *
 * `alert_events.escalation_time`: when the page's level escalated (the `deadline` escalation from that
 * level), or, if it never did, the level's deadline (`escalate_at`, set at dispatch). For rows without
 * a level (an ack that names no message): the incident's first escalation. So
 * `status = 'opened' AND timestamp < escalation_time` reads "seen before the loop escalated (or would have)".
 */
const eventColumns = EVENTS_TABLE.columns.map((c) => `d."${c.name}"`).join(', ');

export const DEDUPED_EVENTS = `SELECT * FROM (
    SELECT e.*, row_number() OVER (PARTITION BY e.event_id ORDER BY e.arrival_time, e.sequence_number) AS rn__
    FROM events e
  ) t WHERE rn__ = 1`;

export const ALERT_EVENTS_VIEW = `CREATE OR REPLACE VIEW alert_events AS
WITH d AS (${DEDUPED_EVENTS}),
level_esc AS (
  SELECT incident_id, "level", MIN("timestamp") AS escalated_at
  FROM d WHERE kind = 'escalation' AND reason = 'deadline' GROUP BY incident_id, "level"
),
first_esc AS (
  SELECT incident_id, MIN("timestamp") AS escalated_at
  FROM d WHERE kind = 'escalation' AND reason = 'deadline' GROUP BY incident_id
)
SELECT ${eventColumns},
  CASE WHEN d."level" IS NULL THEN f.escalated_at ELSE COALESCE(l.escalated_at, d.escalate_at) END AS escalation_time,
  d.dt
FROM d
LEFT JOIN level_esc l ON l.incident_id = d.incident_id AND l."level" = d."level"
LEFT JOIN first_esc f ON f.incident_id = d.incident_id
WHERE d.kind <> 'alarm'`;

/**
 * `opened_before_escalation`, the product's question per incident: `yes` when a page was opened/read
 * before the incident escalated (or it never had to); `no (delivered, no read receipt)` when it was
 * delivered on channels that report no reads (SMS) and never escalated; else `no`.
 */
export const INCIDENTS_VIEW = `CREATE OR REPLACE VIEW incidents AS
WITH d AS (${DEDUPED_EVENTS}),
agg AS (
  SELECT
    incident_id,
    MAX(alarm_arn) AS alarm_arn,
    MAX(alarm_name) AS alarm_name,
    MAX(severity) AS severity,
    MIN(CASE WHEN kind = 'alarm' AND status = 'alarm' THEN "timestamp" END) AS opened_at,
    MIN(CASE WHEN kind = 'dispatch' AND status = 'sent' THEN "timestamp" END) AS first_paged_at,
    MIN(CASE WHEN kind = 'receipt' AND status IN ('delivered', 'opened', 'clicked') THEN "timestamp" END) AS first_delivered_at,
    MIN(CASE WHEN kind = 'receipt' AND status IN ('opened', 'clicked') THEN "timestamp" END) AS first_opened_at,
    MIN(CASE WHEN kind = 'ack' THEN "timestamp" END) AS acknowledged_at,
    MIN(CASE WHEN kind = 'escalation' AND reason = 'deadline' THEN "timestamp" END) AS escalated_at,
    MIN(CASE WHEN kind = 'alarm' AND status = 'ok' THEN "timestamp" END) AS resolved_at,
    COUNT(CASE WHEN kind = 'dispatch' THEN 1 END) AS pages,
    COUNT(CASE WHEN kind = 'receipt' AND status IN ('undelivered', 'failed', 'bounced', 'suppressed', 'canceled') THEN 1 END) AS failed_deliveries,
    MAX(CASE WHEN kind = 'escalation' THEN to_level END) AS max_level
  FROM d
  GROUP BY incident_id
)
SELECT agg.*,
  CASE WHEN first_opened_at IS NOT NULL AND (escalated_at IS NULL OR first_opened_at < escalated_at) THEN 'yes'
       WHEN first_opened_at IS NULL AND escalated_at IS NULL AND first_delivered_at IS NOT NULL THEN 'no (delivered, no read receipt)'
       ELSE 'no' END AS opened_before_escalation
FROM agg`;

export const VIEWS = { alert_events: ALERT_EVENTS_VIEW, incidents: INCIDENTS_VIEW } as const;
