import { maskPii } from '../../platform/logger.js';
import type { QueryResult } from '../query/result.js';
import { NOTICE_REASONS } from '../../schemas/views.js';
import { DispatchRecord } from '../../schemas/dispatch-record.js';

/**
 * An incident's timeline, built from lake rows: what `make incident` prints and what the HTML report
 * draws. Two calls:
 *
 * - `incidentRows(query, id)` reads the incident from the lake through any engine (`query` is
 *   `queryDuckDb` or `queryAthena` bound to its options): its `incidents` row and its `alert_events`
 *   rows. `id` is an incident id or an alarm name (then the alarm's latest incident). Undefined when
 *   nothing matches.
 * - `buildTimeline(rows, people)` turns them into `Timeline`: steps in time order, each with the
 *   people's names from the on-call file (`people`: OnCallConfig['people'], or {} to show ids). Pure.
 *
 * Steps: `alarm` (opened), `paged` (one person at one level at one moment, with every channel paged and
 * what each channel's provider reported: delivered, read, opened, undelivered with its code…),
 * `failover`, `escalated` (deadline | repeat | exhausted), `deadline` (a level's deadline came due
 * without an escalation: the level was confirmed or acknowledged), `acknowledged`, `told` (a notice
 * of the ack or resolve to someone already paged, with what its channel reported), `suppressed` (the
 * alarm fired inside a maintenance window: nobody paged), `retriggered` (the alarm flapped back to
 * ALARM after its OK: the incident continued), `receipt` (a provider report for a message no dispatch
 * row names), `resolved`. Times are epoch milliseconds;
 * addresses are masked (`maskPii`): a timeline never holds a phone number or an email in clear.
 */

/** A person as the timeline names them: the on-call id and the display name (the id if unknown). */
export interface PersonRef {
  id: string | null;
  name: string;
}

/** What a provider reported for one message. `word`: the provider's own word where it is clearer (WhatsApp `read`). */
export interface ChannelEvent {
  at: number;
  status: string;
  word: string;
  failed: boolean;
  errorCode: string | null;
  errorMessage: string | null;
}

/** One message of a `paged` step: one channel. */
export interface PagedChannel {
  channel: string;
  provider: string | null;
  messageId: string | null;
  /** Masked. */
  recipient: string | null;
  at: number;
  outcome: 'sent' | 'failed';
  errorCode: string | null;
  errorMessage: string | null;
  events: ChannelEvent[];
  /** `opened_before_this_page_escalated` of the page (alert_events). */
  verdict: string | null;
  /**
   * The route that carried it (`twilio`, `aws`: AWS End User Messaging, the second route for SMS and voice, `resend`),
   * and, for a page sent by the other route because the first failed, which one and how (the dispatch's
   * `detail.rerouted`); null for rows that predate routes.
   */
  route?: string | null;
  rerouted?: { from: string; cause: string } | null;
  /**
   * Why this person was paged: the on-call schedule, its layer or override (the dispatch's `detail.resolved_by`);
   * null when the policy named the person (or their team) directly, or the row predates the field.
   */
  resolvedBy: ResolvedBy | null;
}

/** A dispatch's `resolved_by` (schemas/dispatch-record.ts). */
export type ResolvedBy = NonNullable<DispatchRecord['resolved_by']>;
const ResolvedBySchema = DispatchRecord.shape.resolved_by;

export type TimelineStep =
  | { kind: 'alarm'; at: number; alarmName: string | null; severity: string | null; source?: string | null }
  | { kind: 'paged'; at: number; person: PersonRef; level: number | null; channels: PagedChannel[] }
  | {
      kind: 'failover';
      at: number;
      person: PersonRef;
      level: number | null;
      fromChannel: string | null;
      /** Failed over on silence: no delivery evidence within this long of the send (ms). */
      silenceMs?: number;
      /** To the same channel by this route (`aws`: AWS End User Messaging) instead of the next channel. */
      toRoute?: string;
    }
  | {
      kind: 'escalated';
      at: number;
      /** `manual`: escalated by hand (incident API, console); `by` who (also on a repeat or exhausted by hand). */
      reason: 'deadline' | 'repeat' | 'exhausted' | 'manual';
      fromLevel: number | null;
      toLevel: number | null;
      by?: PersonRef;
    }
  /** By hand: reassigned to `person` (paged now, the responder); a snooze asked for; a snooze ending (ack lifted). */
  | { kind: 'reassigned'; at: number; person: PersonRef; by: PersonRef | null }
  | { kind: 'snoozed'; at: number; by: PersonRef | null; minutes: number | null; via: string | null }
  | { kind: 'resumed'; at: number; level: number | null; by: PersonRef | null }
  | { kind: 'deadline'; at: number; level: number | null }
  | { kind: 'acknowledged'; at: number; person: PersonRef | null; via: string | null; channel: string | null }
  | { kind: 'told'; at: number; person: PersonRef; notice: 'ack' | 'resolve'; channels: PagedChannel[] }
  | { kind: 'suppressed'; at: number; window: string | null }
  | { kind: 'retriggered'; at: number }
  | {
      kind: 'unrouted';
      at: number;
      /** team_default | global | none (nobody paged). */
      fallback: string | null;
      team: string | null;
      severity: string | null;
      severityTag: string | null;
    }
  | {
      kind: 'receipt';
      at: number;
      channel: string | null;
      messageId: string | null;
      recipient: string | null;
      event: ChannelEvent;
    }
  /** An alert source's group (Alertmanager) changed while the incident stayed open: alerts resolved or joined it. */
  | { kind: 'members'; at: number; source: string | null; firing: number; was: number }
  | { kind: 'resolved'; at: number; source?: string | null };

export interface Verdicts {
  /** incidents.first_responder_opened_before_escalation: yes | no | pending | no (delivered, no read receipt). */
  firstResponderOpenedBeforeEscalation: string | null;
  /** incidents.any_responder_opened_before_escalation. */
  anyResponderOpenedBeforeEscalation: string | null;
  acknowledgedBy: PersonRef | null;
  /** One per page (message), in the order sent. */
  pages: { at: number; person: PersonRef; level: number | null; channel: string; verdict: string | null }[];
}

export interface Timeline {
  incidentId: string;
  alarmName: string | null;
  alarmArn: string | null;
  /** Where the alarm came from: cloudwatch | alertmanager | events-v2 (the `incidents` view's `source`). */
  source: string | null;
  severity: string | null;
  openedAt: number | null;
  acknowledgedAt: number | null;
  escalatedAt: number | null;
  resolvedAt: number | null;
  steps: TimelineStep[];
  verdicts: Verdicts;
}

/** A lake row as an engine answers it: column → value (timestamps as strings, Dates or epoch ms). */
export type LakeRow = Record<string, unknown>;

export interface IncidentRows {
  /** The `incidents` view's row. */
  incident: LakeRow;
  /** The incident's `alert_events` rows (any order). */
  events: LakeRow[];
  /**
   * The incident's ALARM rows restating an alert source's notifications (`events`: `timestamp`, `source`, `detail`
   * with the group's `firing` count), any order: alerts of the group resolving while it stays open.
   */
  updates?: LakeRow[];
}

/** `people` of the on-call file (only `name` is read). */
export type People = Record<string, { name: string }>;

export type QueryFn = (sql: string) => Promise<QueryResult>;

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Rows of a result as objects keyed by column. */
export function rowObjects(result: QueryResult): LakeRow[] {
  return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])));
}

/**
 * The incident `id` names (an incident id, else the latest incident of the alarm so named) and its
 * `alert_events` rows; undefined when the lake has neither. SQL both engines run.
 */
export async function incidentRows(query: QueryFn, id: string): Promise<IncidentRows | undefined> {
  const v = sqlString(id);
  const incidents = rowObjects(
    await query(
      `SELECT * FROM incidents WHERE incident_id = ${v} OR alarm_name = ${v} ` +
        `ORDER BY CASE WHEN incident_id = ${v} THEN 0 ELSE 1 END, opened_at DESC NULLS LAST, ` +
        `first_paged_at DESC NULLS LAST LIMIT 1`,
    ),
  );
  const incident = incidents[0];
  if (!incident) return undefined;
  const events = rowObjects(
    await query(
      `SELECT * FROM alert_events WHERE incident_id = ${sqlString(String(incident.incident_id))} ` +
        `ORDER BY "timestamp", event_id`,
    ),
  );
  // only an alert source's incident has them (one more query, not for a CloudWatch alarm's)
  if (incident.source === null || incident.source === undefined || incident.source === 'cloudwatch')
    return { incident, events };
  const updates = rowObjects(
    await query(
      `SELECT DISTINCT event_id, "timestamp", source, detail FROM events ` +
        `WHERE incident_id = ${sqlString(String(incident.incident_id))} AND kind = 'alarm' AND status = 'alarm' ` +
        `AND source = ${sqlString(String(incident.source))}`,
    ),
  );
  return { incident, events, updates };
}

/**
 * Epoch ms of a timestamp as DuckDB (`2026-11-28 10:00:00.123+00`), Athena (`2026-11-28 10:00:00.123 UTC`),
 * JSON (ISO 8601) or a driver (Date, number, bigint) gives it; null for null.
 */
export function toEpochMs(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  const s = String(v).trim();
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/.exec(s);
  if (!m) {
    const t = Date.parse(s);
    if (Number.isNaN(t)) throw new TypeError(`not a timestamp: ${s}`);
    return t;
  }
  let zone = m[3] ?? 'Z';
  if (zone === 'UTC') zone = 'Z';
  else if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const t = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(t)) throw new TypeError(`not a timestamp: ${s}`);
  return t;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const int = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));
const masked = (v: unknown): string | null => (v === null || v === undefined ? null : maskPii(String(v)));

const personRef = (people: People, id: string | null): PersonRef => ({
  id,
  name: id === null ? 'someone' : (people[id]?.name ?? id),
});

/** Receipt statuses shown on a page's channel (queued/sent/received say nothing to a reader). */
const SHOWN = new Set([
  'delivered',
  'delayed',
  'opened',
  'clicked',
  'undelivered',
  'failed',
  'bounced',
  'complained',
  'suppressed',
  'canceled',
]);
const FAILED = new Set(['undelivered', 'failed', 'bounced', 'complained', 'suppressed', 'canceled']);

/** A call's reports in the words a reader expects (the provider's CallStatus[:AnsweredBy]). */
const VOICE_WORDS: Record<string, string> = {
  ringing: 'ringing',
  'in-progress:human': 'answered by a person',
  'completed:human': 'call ended',
  completed: 'call ended',
  busy: 'busy',
  'no-answer': 'not answered',
};

function channelEvent(r: LakeRow): ChannelEvent {
  const status = String(r.status);
  const ps = str(r.provider_status);
  const voice =
    r.channel === 'voice' && ps
      ? (VOICE_WORDS[ps] ?? (/:machine|:fax/.test(ps) ? 'voicemail (not reached)' : undefined))
      : undefined;
  const word = status === 'opened' && ps === 'read' ? 'read' : (voice ?? status);
  return {
    at: toEpochMs(r.timestamp)!,
    status,
    word,
    failed: FAILED.has(status),
    errorCode: str(r.error_code),
    errorMessage: masked(r.error_message),
  };
}

type EscalatedReason = Extract<TimelineStep, { kind: 'escalated' }>['reason'];

/** Dispatches of one person at one level this close together are one `paged` step. */
const SAME_MOMENT_MS = 5000;

/** The `firing` count an alert source's restated ALARM row carries in its detail, else null. */
function firingOf(detail: unknown): number | null {
  if (typeof detail !== 'string') return null;
  try {
    const firing = (JSON.parse(detail) as { firing?: unknown }).firing;
    return typeof firing === 'number' ? firing : null;
  } catch {
    return null;
  }
}

/** A step each time the group's firing count changed between two of its notifications while the incident was open. */
function memberSteps(updates: LakeRow[]): TimelineStep[] {
  const steps: TimelineStep[] = [];
  let was: number | null = null;
  const rows = updates.map((r) => ({ r, at: toEpochMs(r.timestamp), firing: firingOf(r.detail) }));
  rows.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  for (const { r, at, firing } of rows) {
    if (at === null || firing === null) continue;
    if (was !== null && firing !== was) steps.push({ kind: 'members', at, source: str(r.source), firing, was });
    was = firing;
  }
  return steps;
}

export function buildTimeline(rows: IncidentRows, people: People): Timeline {
  const inc = rows.incident;
  const events = rows.events
    .map((r) => ({ r, at: toEpochMs(r.timestamp)! }))
    .sort((a, b) => a.at - b.at || kindOrder(a.r) - kindOrder(b.r)); // stable: ties keep the rows' order

  // Person of an address paged in this incident (an ack by reply carries the sender's address).
  const byAddress = new Map<string, string>();
  for (const { r } of events)
    if (r.kind === 'dispatch' && r.recipient && r.person) byAddress.set(String(r.recipient), String(r.person));

  const steps: TimelineStep[] = [];
  const openedAt = toEpochMs(inc.opened_at);
  if (openedAt !== null)
    steps.push({
      kind: 'alarm',
      at: openedAt,
      alarmName: str(inc.alarm_name),
      severity: str(inc.severity),
      source: str(inc.source),
    });

  // Every page first: a receipt can carry an earlier time than its dispatch (two clocks).
  const channelsByMessage = new Map<string, PagedChannel>();
  const channelOf = new Map<LakeRow, PagedChannel>();
  const personOf = new Map<LakeRow, PersonRef>();
  for (const { r, at } of events) {
    if (r.kind !== 'dispatch') continue;
    const id = str(r.person);
    const ch: PagedChannel = {
      channel: str(r.channel) ?? 'unknown channel',
      provider: str(r.provider),
      messageId: str(r.message_id),
      recipient: masked(r.recipient),
      at,
      outcome: r.status === 'failed' ? 'failed' : 'sent',
      errorCode: str(r.error_code),
      errorMessage: masked(r.error_message),
      events: [],
      verdict: str(r.opened_before_this_page_escalated),
      resolvedBy: resolvedByOf(r),
      route: str(r.route),
      rerouted: reroutedOf(r),
    };
    channelOf.set(r, ch);
    // a page to an address no person owns is named by the masked address
    personOf.set(
      r,
      id === null && r.recipient ? { id: null, name: maskPii(String(r.recipient)) } : personRef(people, id),
    );
    if (ch.messageId) channelsByMessage.set(ch.messageId, ch);
  }
  const pages: Verdicts['pages'] = [];
  let lastPaged: Extract<TimelineStep, { kind: 'paged' }> | undefined;
  let lastTold: Extract<TimelineStep, { kind: 'told' }> | undefined;
  const escalatedFrom: { level: number | null; at: number }[] = [];
  // a dispatch is one more channel of `last` when that is the latest step, to the same person, a moment ago
  const continues = <S extends TimelineStep & { person: PersonRef }>(
    last: S | undefined,
    person: PersonRef,
    at: number,
  ): last is S =>
    last !== undefined &&
    steps[steps.length - 1] === last &&
    last.person.id === person.id &&
    at - last.at <= SAME_MOMENT_MS;

  for (const { r, at } of events) {
    switch (r.kind) {
      case 'dispatch': {
        const ch = channelOf.get(r)!;
        const person = personOf.get(r)!;
        const notice = noticeOf(r);
        if (notice) {
          // a notice of the ack or resolve: not a page (no verdict), one step per person and moment
          if (continues(lastTold, person, at) && lastTold.notice === notice) lastTold.channels.push(ch);
          else {
            lastTold = { kind: 'told', at, person, notice, channels: [ch] };
            steps.push(lastTold);
          }
          break;
        }
        const level = int(r.level);
        pages.push({ at, person, level, channel: ch.channel, verdict: ch.verdict });
        if (continues(lastPaged, person, at) && lastPaged.level === level) {
          lastPaged.channels.push(ch);
        } else {
          lastPaged = { kind: 'paged', at, person, level, channels: [ch] };
          steps.push(lastPaged);
        }
        break;
      }
      case 'receipt': {
        if (!SHOWN.has(String(r.status))) break;
        const ev = channelEvent(r);
        const ch = r.message_id ? channelsByMessage.get(String(r.message_id)) : undefined;
        if (ch) ch.events.push(ev);
        else
          steps.push({
            kind: 'receipt',
            at,
            channel: str(r.channel),
            messageId: str(r.message_id),
            recipient: masked(r.recipient),
            event: ev,
          });
        break;
      }
      case 'ack': {
        const id = str(r.person) ?? (r.recipient ? (byAddress.get(String(r.recipient)) ?? null) : null);
        steps.push({
          kind: 'acknowledged',
          at,
          person: id === null ? null : personRef(people, id),
          via: str(r.reason),
          channel: str(r.channel),
        });
        break;
      }
      case 'escalation': {
        const reason = String(r.reason);
        if (reason === 'failover') {
          const detail = detailOf(r);
          steps.push({
            kind: 'failover',
            at,
            person: personRef(people, str(r.person)),
            level: int(r.level),
            fromChannel: str(r.channel),
            ...(detail.cause === 'no_receipt' ? { silenceMs: Number(detail.silence_ms ?? 0) } : {}),
            ...(typeof detail.to_route === 'string' ? { toRoute: detail.to_route } : {}),
          });
        } else if (reason === 'deadline' || reason === 'repeat' || reason === 'exhausted' || reason === 'manual') {
          const by = str(detailOf(r).by);
          const step = {
            kind: 'escalated' as const,
            at,
            reason: reason as EscalatedReason,
            fromLevel: int(r.level),
            toLevel: int(r.to_level),
          };
          steps.push({ ...step, ...(by ? { by: personRef(people, by) } : {}) });
          escalatedFrom.push({ level: int(r.level), at });
        } else if (reason === 'reassign') {
          const by = str(detailOf(r).by);
          steps.push({
            kind: 'reassigned',
            at,
            person: personRef(people, str(r.person)),
            by: by ? personRef(people, by) : null,
          });
        } else if (reason === 'resume') {
          const by = str(detailOf(r).by);
          steps.push({ kind: 'resumed', at, level: int(r.level), by: by ? personRef(people, by) : null });
        } else if (reason === 'suppressed') {
          steps.push({ kind: 'suppressed', at, window: str(detailOf(r).maintenance_window) });
        } else if (reason === 'retrigger') {
          steps.push({ kind: 'retriggered', at });
        } else if (reason === 'unrouted') {
          const d = detailOf(r);
          steps.push({
            kind: 'unrouted',
            at,
            fallback: str(d.fallback),
            team: str(d.team),
            severity: str(r.severity),
            severityTag: str(d.severity_tag),
          });
        }
        break;
      }
      case 'action': {
        // by hand: a snooze asked for (escalate and reassign are said by the engine's escalation record)
        if (r.status !== 'snoozed') break;
        const minutes = Number(detailOf(r).minutes);
        const by = str(r.person);
        const via = str(r.reason);
        steps.push({ kind: 'snoozed', at, by: by ? personRef(people, by) : null, minutes: minutes || null, via });
        break;
      }
      case 'deadline': {
        if (r.reason !== 'level') break; // `settle` wakes the handler for an unsettled send: not a step
        steps.push({ kind: 'deadline', at, level: int(r.level) });
        break;
      }
    }
  }
  steps.push(...memberSteps(rows.updates ?? []));
  // A deadline that led to an escalation is said by the escalation.
  const shown = steps.filter(
    (s) =>
      s.kind !== 'deadline' || !escalatedFrom.some((e) => e.level === s.level && e.at >= s.at && e.at - s.at < 120_000),
  );
  const resolvedAt = toEpochMs(inc.resolved_at);
  const source = str(inc.source);
  if (resolvedAt !== null)
    shown.push({ kind: 'resolved', at: resolvedAt, ...(source && source !== 'cloudwatch' ? { source } : {}) });
  shown.sort((a, b) => a.at - b.at);
  for (const ch of channelsByMessage.values()) ch.events.sort((a, b) => a.at - b.at);

  const ackBy = str(inc.acknowledged_by);
  return {
    incidentId: String(inc.incident_id),
    alarmName: str(inc.alarm_name),
    alarmArn: str(inc.alarm_arn),
    source: str(inc.source),
    severity: str(inc.severity),
    openedAt,
    acknowledgedAt: toEpochMs(inc.acknowledged_at),
    escalatedAt: toEpochMs(inc.escalated_at),
    resolvedAt,
    steps: shown,
    verdicts: {
      firstResponderOpenedBeforeEscalation: str(inc.first_responder_opened_before_escalation),
      anyResponderOpenedBeforeEscalation: str(inc.any_responder_opened_before_escalation),
      acknowledgedBy: ackBy === null ? null : personRef(people, ackBy),
      pages,
    },
  };
}

/** A dispatch row's notice (`reason` notice_ack / notice_resolve: schemas/views.ts `NOTICE_REASONS`), if it is one. */
function noticeOf(r: LakeRow): 'ack' | 'resolve' | undefined {
  return r.kind === 'dispatch' && Object.hasOwn(NOTICE_REASONS, String(r.reason))
    ? NOTICE_REASONS[r.reason as keyof typeof NOTICE_REASONS]
    : undefined;
}

/** A row's `detail` JSON as an object ({} when absent or not an object). */
function detailOf(r: LakeRow): Record<string, unknown> {
  try {
    const v = typeof r.detail === 'string' ? JSON.parse(r.detail) : null;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A dispatch row's `detail.resolved_by`, if it is there and well formed (else null: never a guess). */
function resolvedByOf(r: LakeRow): ResolvedBy | null {
  const parsed = ResolvedBySchema.safeParse(detailOf(r).resolved_by);
  return parsed.success ? (parsed.data ?? null) : null;
}

/** A dispatch row's `detail.rerouted` ({from, cause}), if it is there and well formed. */
function reroutedOf(r: LakeRow): { from: string; cause: string } | null {
  const v = detailOf(r).rerouted as { from?: unknown; cause?: unknown } | undefined;
  return v && typeof v.from === 'string' && typeof v.cause === 'string' ? { from: v.from, cause: v.cause } : null;
}

/** At the same millisecond: dispatches before what they cause or answer. */
function kindOrder(r: LakeRow): number {
  return { dispatch: 0, receipt: 1, escalation: 2, deadline: 2, ack: 3 }[String(r.kind)] ?? 4;
}
