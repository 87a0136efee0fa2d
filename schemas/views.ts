import { isDrillSql } from './drill-record.js';
import { EVENTS_TABLE } from './lake.js';

/**
 * The lake's views, in SQL that DuckDB (local) and Athena/Trino (AWS) both run, over the `events`
 * table (schemas/lake.ts). Both views read each event once (by event id) even while a backfill's
 * rewritten object and the object it replaces are both present.
 *
 * Reachability drills (schemas/drill-record.ts) are never pages: every row of a drill (its test pages, their receipts,
 * the answers, its result) is left out of both views, so of the pages, verdicts, MTTA and the report; the `events`
 * table keeps them (`kind = 'drill'`, dispatch `reason` drill / drill_notice).
 *
 * Vocabulary (README "What the verdicts mean"):
 * - a *page* is one message (incident_id, message_id) sent to one person on one channel at one level;
 *   a *notice* (a dispatch whose `reason` is `notice_ack` / `notice_resolve`: telling someone already
 *   paged that the incident was acknowledged or resolved) is not a page: it and its receipts are left
 *   out of the pages, the verdicts and the incident's delivery figures, and counted as `notices`;
 * - a page *escalated* when its level's deadline passed unconfirmed: the first escalation from that
 *   level (reason `deadline`, `repeat` or `exhausted`; never `failover`) at or after the page was sent;
 * - a page was *opened* when the provider reported it opened/read/clicked, or the person acknowledged
 *   on the page's channel (an SMS/WhatsApp reply or the email's link proves the page was seen);
 * - a verdict is `pending` while it can still change: the incident is neither acknowledged nor
 *   resolved, and the page's level has neither escalated nor come to its deadline (a `deadline` row).
 *
 * `alert_events.escalation_time`: when the page's level escalated or, if it never did, the level's
 * deadline (`escalate_at`, set at dispatch). For rows without a level (an ack that names no message):
 * the incident's first escalation. For the rows of a notice (an ack or resolve told to people): NULL:
 * a notice is no page and never escalates. So `status = 'opened' AND timestamp < escalation_time` reads "seen
 * before the loop escalated (or would have)"; `SEED_QUERY` (below) lists those pages, one row per page.
 */
const eventColumns = EVENTS_TABLE.columns
  .map((c) => (c.name === 'person' ? 'COALESCE(d.person, ap.person) AS person' : `d."${c.name}"`))
  .join(', ');

export const DEDUPED_EVENTS = `SELECT * FROM (
    SELECT e.*, row_number() OVER (PARTITION BY e.event_id ORDER BY e.arrival_time, e.sequence_number) AS rn__
    FROM events e WHERE NOT ${isDrillSql('e')}
  ) t WHERE rn__ = 1`;

/**
 * The one definition of a *notice*: a dispatch whose `reason` is one of these (README "Notices"). A notice is
 * never a page: the views, the report's counts and the incident timeline all leave it (and its receipts) out.
 */
export const NOTICE_REASONS = { notice_ack: 'ack', notice_resolve: 'resolve' } as const;

/** SQL: row `r` (or the unqualified row) is a notice's dispatch. */
export const isNoticeSql = (r?: string) => {
  const c = r ? `${r}.` : '';
  const reasons = Object.keys(NOTICE_REASONS)
    .map((x) => `'${x}'`)
    .join(', ');
  return `(${c}kind = 'dispatch' AND COALESCE(${c}reason, '') IN (${reasons}))`;
};

/** SQL: the notices' messages (incident_id, message_id) among the rows of `source` (`events`, `alert_events`…). */
export const noticeMessagesSql = (source: string) =>
  `SELECT DISTINCT incident_id, message_id FROM ${source} WHERE ${isNoticeSql()} AND message_id IS NOT NULL`;

/**
 * SQL: row `r` belongs to no notice: it is not a notice's dispatch, nor a row (a receipt) of a notice's message
 * listed in `noticeMessages` (a relation of `noticeMessagesSql`). Every count of pages, deliveries and failures
 * (the `incidents` view, the report's header, funnel and failures) keeps only these rows.
 */
export const partOfNoNoticeSql = (r: string, noticeMessages: string) =>
  `NOT ${isNoticeSql(r)} AND NOT EXISTS (SELECT 1 FROM ${noticeMessages} n__ ` +
  `WHERE n__.incident_id = ${r}.incident_id AND n__.message_id = ${r}.message_id)`;

const NOTICE = isNoticeSql();

/**
 * An alert source's intake row (schemas/alert-record.ts): evidence under a provisional incident id, its status the
 * source's word (firing, trigger…). The incident's own alarm rows are the paging engine's restatements (alarm|ok).
 */
const INTAKE_ROW = "(kind = 'alarm' AND status NOT IN ('alarm', 'ok', 'insufficient_data'))";

/** Reasons of an escalation that means "the level's deadline passed unconfirmed". */
const LEVEL_ESCALATION = "kind = 'escalation' AND reason IN ('deadline', 'repeat', 'exhausted')";

/**
 * CTEs shared by both views (after `d`, the deduplicated events): `notice_messages` (the messages
 * that told people of an ack or resolve: no page, no escalation), `pages` (one row per message),
 * `acks` (each ack with the person it names: the record's, else the page of its message, else the
 * page sent to its sender's address), `page_verdicts` (one verdict per page).
 */
const PAGE_CTES = `notice_messages AS (${noticeMessagesSql('d')}),
pages AS (
  SELECT incident_id, message_id,
    MAX(person) AS person, MAX("level") AS page_level, MAX(channel) AS channel, MAX(recipient) AS recipient,
    COALESCE(MIN(dispatched_at), MIN(CASE WHEN kind = 'dispatch' THEN "timestamp" END), MIN("timestamp")) AS sent_at,
    MIN(CASE WHEN kind = 'receipt' AND status IN ('opened', 'clicked') THEN "timestamp" END) AS read_at,
    MAX(CASE WHEN kind = 'receipt' AND status IN ('delivered', 'opened', 'clicked') THEN 1 ELSE 0 END) AS delivered
  FROM d
  WHERE kind IN ('dispatch', 'receipt') AND message_id IS NOT NULL AND ${partOfNoNoticeSql('d', 'notice_messages')}
  GROUP BY incident_id, message_id
),
addresses AS (
  SELECT DISTINCT incident_id, recipient, person FROM pages WHERE recipient IS NOT NULL AND person IS NOT NULL
),
acks AS (
  SELECT a.incident_id, a.message_id, a.channel, a."timestamp", a.event_id,
    COALESCE(a.person, pm.person, pr.person) AS person
  FROM d a
  LEFT JOIN pages pm ON pm.incident_id = a.incident_id AND pm.message_id = a.message_id
  LEFT JOIN addresses pr ON pr.incident_id = a.incident_id AND pr.recipient = a.recipient
  WHERE a.kind = 'ack'
),
incident_state AS (
  SELECT incident_id,
    MIN(CASE WHEN kind = 'ack' THEN "timestamp" END) AS acked_at,
    MIN(CASE WHEN kind = 'alarm' AND status = 'ok' THEN "timestamp" END) AS ok_at,
    MIN(CASE WHEN ${LEVEL_ESCALATION} THEN "timestamp" END) AS first_escalated_at
  FROM d GROUP BY incident_id
),
page_facts AS (
  SELECT p.incident_id, p.message_id, p.person, p.page_level, p.channel, p.sent_at, p.read_at, p.delivered,
    MIN(CASE WHEN x.kind = 'escalation' AND x.reason IN ('deadline', 'repeat', 'exhausted') THEN x."timestamp" END)
      AS escalated_at,
    MIN(CASE WHEN x.kind = 'deadline' AND x.reason = 'level' THEN x."timestamp" END) AS due_at
  FROM pages p
  LEFT JOIN d x ON x.incident_id = p.incident_id AND x."level" = p.page_level AND x."timestamp" >= p.sent_at
    AND x.kind IN ('escalation', 'deadline')
  GROUP BY p.incident_id, p.message_id, p.person, p.page_level, p.channel, p.sent_at, p.read_at, p.delivered
),
page_seen AS (
  SELECT f.incident_id, f.message_id, f.person, f.page_level, f.channel, f.sent_at, f.read_at, f.delivered,
    f.escalated_at, f.due_at,
    MIN(a."timestamp") AS acked_at
  FROM page_facts f
  LEFT JOIN acks a ON a.incident_id = f.incident_id AND a."timestamp" >= f.sent_at
    AND (a.message_id = f.message_id OR (a.person = f.person AND a.channel = f.channel))
  GROUP BY f.incident_id, f.message_id, f.person, f.page_level, f.channel, f.sent_at, f.read_at, f.delivered,
    f.escalated_at, f.due_at
),
page_verdicts AS (
  SELECT s.*, LEAST(COALESCE(s.read_at, s.acked_at), COALESCE(s.acked_at, s.read_at)) AS seen_at,
    CASE WHEN COALESCE(s.read_at, s.acked_at) IS NOT NULL
              AND (s.escalated_at IS NULL OR s.read_at < s.escalated_at OR s.acked_at < s.escalated_at) THEN 'yes'
         WHEN s.escalated_at IS NOT NULL THEN 'no'
         WHEN st.acked_at IS NULL AND st.ok_at IS NULL AND s.due_at IS NULL THEN 'pending'
         WHEN s.delivered = 1 THEN 'no (delivered, no read receipt)'
         ELSE 'no' END AS verdict
  FROM page_seen s JOIN incident_state st ON st.incident_id = s.incident_id
)`;

/** Orders verdicts: the best answer of a set of pages wins (yes, then pending, then delivered, then no). */
const RANK =
  `CASE verdict WHEN 'yes' THEN 1 WHEN 'pending' THEN 2 ` + `WHEN 'no (delivered, no read receipt)' THEN 3 ELSE 4 END`;
const UNRANK = (x: string) =>
  `CASE ${x} WHEN 1 THEN 'yes' WHEN 2 THEN 'pending' ` +
  `WHEN 3 THEN 'no (delivered, no read receipt)' WHEN 4 THEN 'no' END`;

/**
 * `opened_before_this_page_escalated` (per page: every row of a message carries its page's verdict;
 * rows of no page, such as deadlines or an ack by reply, carry NULL).
 */
export const ALERT_EVENTS_VIEW = `CREATE OR REPLACE VIEW alert_events AS
WITH d AS (${DEDUPED_EVENTS}),
${PAGE_CTES},
level_esc AS (
  SELECT incident_id, "level", MIN("timestamp") AS escalated_at
  FROM d WHERE ${LEVEL_ESCALATION} GROUP BY incident_id, "level"
),
ack_person AS (
  SELECT event_id, MAX(person) AS person FROM acks GROUP BY event_id
)
SELECT ${eventColumns},
  CASE WHEN nm.message_id IS NOT NULL THEN NULL
       WHEN d."level" IS NULL THEN st.first_escalated_at
       WHEN pv.message_id IS NOT NULL THEN COALESCE(pv.escalated_at, d.escalate_at)
       ELSE COALESCE(l.escalated_at, d.escalate_at) END AS escalation_time,
  pv.verdict AS opened_before_this_page_escalated,
  d.dt
FROM d
LEFT JOIN level_esc l ON l.incident_id = d.incident_id AND l."level" = d."level"
LEFT JOIN incident_state st ON st.incident_id = d.incident_id
LEFT JOIN page_verdicts pv ON pv.incident_id = d.incident_id AND pv.message_id = d.message_id
LEFT JOIN ack_person ap ON ap.event_id = d.event_id AND d.kind = 'ack'
LEFT JOIN notice_messages nm ON nm.incident_id = d.incident_id AND nm.message_id = d.message_id
WHERE d.kind <> 'alarm'`;

/** The verdict of an incident with no page: `suppressed` (a maintenance window), `pending` while open, else `no`. */
const NO_PAGE_VERDICT =
  "CASE WHEN agg.suppressed THEN 'suppressed' " +
  "WHEN agg.acknowledged_at IS NULL AND agg.resolved_at IS NULL AND agg.escalated_at IS NULL THEN 'pending' " +
  "ELSE 'no' END";

/**
 * One row per incident, with the central question answered twice:
 * - `first_responder_opened_before_escalation`: did a level-1 target open their page before the
 *   incident escalated (the first escalation, which is always level 1's)? The best verdict over the
 *   level-1 pages sent before that escalation.
 * - `any_responder_opened_before_escalation`: did anyone paged open their page before *that page's*
 *   level escalated? The best verdict over every page. (billing-db in the demo: bob, level 1, never
 *   opened (`no`); carol, level 2, read hers before level 2's deadline (`yes`).)
 * An incident with no page yet is `pending` while open, else `no`; one opened inside a maintenance
 * window is `suppressed` (`suppressed` true: nobody was paged, by design). `notices`: the acks and
 * resolves told to people (not pages); `retriggers`: ALARMs that continued it after an OK (flapping).
 * `acknowledged_by`: the person of the first ack (an SMS/WhatsApp reply is mapped to the person paged at the
 * replying address).
 * `escalated_at`: the first time a level's deadline passed unconfirmed (deadline, repeat or exhausted).
 * `source`: where its alarm came from (cloudwatch, alertmanager, events-v2; rows from before the column: cloudwatch).
 * An alert source's intake rows (provisional ids: `INTAKE_ROW`) make no incident.
 */
export const INCIDENTS_VIEW = `CREATE OR REPLACE VIEW incidents AS
WITH d AS (${DEDUPED_EVENTS}),
${PAGE_CTES},
dp AS (
  SELECT x.* FROM d x WHERE ${partOfNoNoticeSql('x', 'notice_messages')} AND NOT ${INTAKE_ROW}
),
told AS (
  SELECT incident_id, COUNT(*) AS notices FROM d WHERE ${NOTICE} GROUP BY incident_id
),
agg AS (
  SELECT
    incident_id,
    MAX(alarm_arn) AS alarm_arn,
    MAX(alarm_name) AS alarm_name,
    MAX(severity) AS severity,
    MIN(CASE WHEN kind = 'alarm' AND status = 'alarm' THEN "timestamp" END) AS opened_at,
    MIN(CASE WHEN kind = 'dispatch' AND status = 'sent' THEN "timestamp" END) AS first_paged_at,
    MIN(CASE WHEN kind = 'receipt' AND status IN ('delivered', 'opened', 'clicked') THEN "timestamp" END)
      AS first_delivered_at,
    MIN(CASE WHEN kind = 'receipt' AND status IN ('opened', 'clicked') THEN "timestamp" END) AS first_opened_at,
    MIN(CASE WHEN kind = 'ack' THEN "timestamp" END) AS acknowledged_at,
    MIN(CASE WHEN ${LEVEL_ESCALATION} THEN "timestamp" END) AS escalated_at,
    MIN(CASE WHEN kind = 'alarm' AND status = 'ok' THEN "timestamp" END) AS resolved_at,
    COUNT(CASE WHEN kind = 'dispatch' THEN 1 END) AS pages,
    COUNT(CASE WHEN kind = 'receipt'
      AND status IN ('undelivered', 'failed', 'bounced', 'suppressed', 'canceled') THEN 1 END) AS failed_deliveries,
    MAX(CASE WHEN kind = 'escalation' THEN to_level END) AS max_level,
    MAX(CASE WHEN kind = 'escalation' AND reason = 'suppressed' THEN 1 ELSE 0 END) = 1 AS suppressed,
    COUNT(CASE WHEN kind = 'escalation' AND reason = 'retrigger' THEN 1 END) AS retriggers,
    COUNT(CASE WHEN kind = 'escalation' AND reason = 'failover' AND detail LIKE '%"cause":"no_receipt"%' THEN 1 END)
      AS silent_failovers,
    MAX(CASE WHEN kind = 'alarm' THEN COALESCE(source, 'cloudwatch') END) AS source
  FROM dp
  GROUP BY incident_id
),
ack_by AS (
  SELECT incident_id, min_by(person, "timestamp") AS acknowledged_by FROM acks GROUP BY incident_id
),
first_rank AS (
  SELECT v.incident_id, MIN(${RANK}) AS r
  FROM page_verdicts v JOIN agg a ON a.incident_id = v.incident_id
  WHERE v.page_level = 1 AND (a.escalated_at IS NULL OR v.sent_at < a.escalated_at)
  GROUP BY v.incident_id
),
any_rank AS (
  SELECT incident_id, MIN(${RANK}) AS r FROM page_verdicts GROUP BY incident_id
)
SELECT agg.*, COALESCE(told.notices, 0) AS notices, ack_by.acknowledged_by,
  COALESCE(${UNRANK('fr.r')}, ${NO_PAGE_VERDICT}) AS first_responder_opened_before_escalation,
  COALESCE(${UNRANK('ar.r')}, ${NO_PAGE_VERDICT}) AS any_responder_opened_before_escalation
FROM agg
LEFT JOIN told ON told.incident_id = agg.incident_id
LEFT JOIN ack_by ON ack_by.incident_id = agg.incident_id
LEFT JOIN first_rank fr ON fr.incident_id = agg.incident_id
LEFT JOIN any_rank ar ON ar.incident_id = agg.incident_id`;

/**
 * The seed query: the pages seen before the loop escalated (or would have), one row per page however many
 * `opened` reports it had (a call reports `opened` when answered and again when completed; an email may be
 * opened twice). `make demo`, `make query NAME=opened-before-escalation` and the Athena named query run it.
 */
export const SEED_QUERY =
  "SELECT incident_id, channel, status FROM alert_events WHERE status = 'opened' AND timestamp < escalation_time " +
  'GROUP BY incident_id, message_id, channel, status';

export const VIEWS = { alert_events: ALERT_EVENTS_VIEW, incidents: INCIDENTS_VIEW } as const;
