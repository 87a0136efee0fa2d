import type { StreamRecord } from '../../schemas/envelope.js';
import type { EventRow } from '../../schemas/lake.js';
import type { DispatchRecord } from '../../schemas/dispatch-record.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import { partitionKeyFor } from '../../schemas/partition-key.js';
import { isDrillId } from '../../schemas/drill-record.js';
import { parseTimestamp } from '../../schemas/time.js';
import { MinHeap } from './min-heap.js';

/**
 * The windowed join of dispatches and receipts, in event time, for one shard (every record of an
 * incident is on one shard: the partition key is the alarm ARN). Semantics (README "Join semantics"):
 *
 * - Watermark = the largest event time seen − `allowedLatenessMs`. A record whose event time is below
 *   the watermark when it arrives is *late*. Nothing is dropped for being late.
 * - Event times are bounded by the record's arrival time (ApproximateArrivalTimestamp): more than
 *   `maxAheadMs` after it or more than `maxBehindMs` before it, the record is rejected to the error
 *   lines with the reason (`eventTimeError`, applied by the shard pipeline), so one bad clock cannot
 *   drag the watermark years ahead. The rule reads only the record: a replay rejects the same ones.
 * - Duplicates: a record whose `event_id` is remembered is dropped (counted). Ids are remembered for
 *   `dedupeWindowMs` of *arrival* time past their first arrival, whatever their event times: an
 *   event time far ahead or far behind can neither expire the memory nor slip past it.
 * - A dispatch is emitted at once and stays joinable for `windowMs` past its event time.
 * - A receipt (or ack, or escalation naming a message) whose dispatch is known is emitted at once,
 *   enriched (`join_status = matched`). A receipt whose dispatch is not known yet waits, in event-time
 *   order, until its dispatch arrives (matched) or the watermark passes its event time, when every
 *   dispatch that could precede it has arrived (`unmatched`). A late receipt that finds no dispatch is
 *   emitted at once as `late`. Acks and escalations never wait.
 * - The wait is also bounded in wall-clock time: once a record arrives on the shard `maxWaitMs` or more
 *   after the waiting receipt did (both ApproximateArrivalTimestamps), the receipt is emitted
 *   `unmatched` with `reason = dispatch_wait` (the watermark's release keeps `reason` null). Its dispatch,
 *   arriving later, is written as any dispatch is (as after a `late` receipt); the views join them by
 *   message id. The clock is the shard's newest arrival time, never the process's clock: a redo, a
 *   restart or a backfill of the same records releases the same receipts in the same rows.
 * - Ticks (schemas/tick-record.ts) keep that clock going on a shard with no other traffic: the live
 *   handler puts one, keyed by a waiting receipt's partition key, after each committed flush that leaves
 *   receipts waiting (processors/lake/ticks.ts). A tick is an arrival (`tick()`: it advances the newest
 *   arrival time and releases what is overdue by it) and nothing else: no row, no remembered id, no event
 *   time. Ticks are records of the stream and of the raw archive, so a replay meets them at the same
 *   places and releases the same receipts in the same rows; a backfill or replay never puts any.
 * - State is bounded: entries past the window are dropped (counted as `expired`); above
 *   `maxStateEntries` the oldest are evicted first (counted as `evicted`; a pending receipt evicted is
 *   emitted `unmatched`, never lost).
 *
 * The output is a pure function of the record sequence: batch boundaries do not change it, which is
 * what makes a replay or a restart rewrite the same objects.
 */
export interface JoinOptions {
  /** Event-time span a dispatch stays joinable and an event id is remembered. Default 24 h. */
  windowMs?: number;
  /** How far behind the newest event time the watermark trails. Default 5 min. */
  allowedLatenessMs?: number;
  /** Bound on remembered ids + indexed dispatches + incidents + waiting receipts. Default 200,000. */
  maxStateEntries?: number;
  /** Arrival-time span an event id is remembered for deduplication. Default: `windowMs`. */
  dedupeWindowMs?: number;
  /** Reject a record whose event time is more than this after its arrival time. Default 1 day. */
  maxAheadMs?: number;
  /**
   * Arrival-time span a receipt waits for its dispatch before it is written `unmatched` (reason `dispatch_wait`),
   * measured by the arrival times of the shard's records. Default 10 s; `Infinity`: wait for the watermark only.
   */
  maxWaitMs?: number;
  /**
   * Reject a record whose event time is more than this before its arrival time. Default: the stream's 7-day retention +
   * `windowMs`.
   */
  maxBehindMs?: number;
}

/**
 * The stream's retention (infra/cdk/storage.ts): no record can honestly be older than this when read, plus the join
 * window.
 */
export const STREAM_RETENTION_MS = 7 * 24 * 3600_000;

export const JOIN_DEFAULTS: Omit<Required<JoinOptions>, 'dedupeWindowMs' | 'maxBehindMs'> = {
  windowMs: 24 * 3600_000,
  allowedLatenessMs: 5 * 60_000,
  maxStateEntries: 200_000,
  maxAheadMs: 24 * 3600_000,
  maxWaitMs: 10_000,
};

/** The options with every default filled in. */
export function joinOptions(options: JoinOptions = {}): Required<JoinOptions> {
  const o = { ...JOIN_DEFAULTS, ...options };
  return {
    ...o,
    dedupeWindowMs: options.dedupeWindowMs ?? o.windowMs,
    maxBehindMs: options.maxBehindMs ?? STREAM_RETENTION_MS + o.windowMs,
  };
}

/**
 * Why a record's event time is out of bounds relative to its arrival time, or undefined when it is
 * within them. Pure: reads only the record, so a replay rejects exactly the records the live path did.
 */
export function eventTimeError(
  eventTime: number,
  arrivalTime: number,
  options: Pick<Required<JoinOptions>, 'maxAheadMs' | 'maxBehindMs'>,
): string | undefined {
  if (!Number.isFinite(eventTime)) return `event_time ${String(eventTime)} is not a finite time`;
  if (eventTime - arrivalTime > options.maxAheadMs) {
    return (
      `event_time ${iso(eventTime)} is ${hours(eventTime - arrivalTime)} after the record's arrival ` +
      `${iso(arrivalTime)} (more than ${hours(options.maxAheadMs)} ahead)`
    );
  }
  if (arrivalTime - eventTime > options.maxBehindMs) {
    return (
      `event_time ${iso(eventTime)} is ${hours(arrivalTime - eventTime)} before the record's arrival ` +
      `${iso(arrivalTime)} (more than ${hours(options.maxBehindMs)} behind)`
    );
  }
  return undefined;
}

// Module-level (not closures per call): eventTimeError runs for every record.
/** An action record's row status (action-record.ts): what the person did or asked for. */
const ACTION_STATUS = {
  resolve: 'resolved',
  note: 'noted',
  escalate: 'escalate',
  reassign: 'reassign',
  snooze: 'snoozed',
} as const;

const iso = (t: number) => (Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : String(t));
const hours = (ms: number) => `${(ms / 3600_000).toFixed(1)} h`;

export interface RecordMeta {
  shardId: string;
  sequenceNumber: string;
  arrivalTime: number;
  /** The record's Kinesis partition key: kept with a waiting receipt, so a reshard hands it to one child. */
  partitionKey?: string;
}

export interface JoinCounters {
  records: number;
  duplicates: number;
  matched: number;
  unmatched: number;
  late: number;
  expired: number;
  evicted: number;
  /** Receipts written `unmatched` because their wait hit `maxWaitMs` (also counted in `unmatched`). */
  waitTimeouts: number;
  /** Ticks read (not in `records`): schemas/tick-record.ts. */
  ticks: number;
}

interface DispatchInfo {
  t: number;
  alarm_name: string | null;
  severity: string | null;
  channel: string;
  provider: string;
  /** Absent in snapshots saved before routes were recorded. */
  route?: string | null;
  recipient: string;
  person: string | null;
  level: number;
  escalate_at: number | null;
}

/** An alarm's open incident in the join's view (`incidentOfAlarm`). */
interface OpenAlarm {
  id: string;
  t: number;
}

/**
 * Open alarms the join remembers at most (the oldest opened is forgotten first; its later re-evaluations and OK then
 * land under their own ids, as before the join remembered any). Not tied to the window: an incident may stay open
 * for days.
 */
const MAX_OPEN_ALARMS = 50_000;

interface IncidentInfo {
  t: number;
  alarm_name: string | null;
  severity: string | null;
}

interface Pending {
  key: string;
  row: EventRow;
  /** Partition key of the record (snapshot v2; absent in v1, where the alarm ARN stands in for it). */
  pk?: string;
}

/**
 * Serializable join state (JSON-safe), carried across flushes, restarts and reshards.
 * v1: waiting receipts without their partition key. v2: each waiting receipt carries `pk`, its
 * record's partition key. v3 (written now): `seen` holds each id's first *arrival* time (v1/v2: its
 * event time) and `maxArrivalTime` the newest arrival. All three are read (a v1/v2 `seen` time is
 * taken as an arrival time, ordered, and expires once arrivals pass it by the dedupe window).
 */
export interface JoinSnapshot {
  v: 1 | 2 | 3;
  maxEventTime: number | null;
  /** v3: the newest arrival time seen (absent before v3). */
  maxArrivalTime?: number | null;
  seen: [string, number][];
  dispatches: [string, DispatchInfo][];
  incidents: [string, IncidentInfo][];
  /** Each CloudWatch alarm's open incident (absent in snapshots before it was kept: none known). */
  openAlarms?: [string, OpenAlarm][];
  pending: Pending[];
  counters: JoinCounters;
}

/** Which waiting receipts a restore keeps, by their record's partition key (a reshard child: its hash range). */
export type PartitionKeyFilter = (partitionKey: string) => boolean;

/** The partition key of a waiting receipt: recorded (v2), else the producers' key of its alarm ARN. */
const pendingPartitionKey = (p: Pending): string => p.pk ?? partitionKeyFor(p.row.alarm_arn);

const joinKey = (incidentId: string, messageId: string) => `${incidentId}\u0000${messageId}`;

/** Arrival order of waiting receipts (then shard order): the order the wall-clock bound releases them in. */
const byArrival = (a: Pending, b: Pending) =>
  a.row.arrival_time < b.row.arrival_time ||
  (a.row.arrival_time === b.row.arrival_time &&
    (a.row.shard_id < b.row.shard_id ||
      (a.row.shard_id === b.row.shard_id && compareSequenceNumbers(a.row.sequence_number, b.row.sequence_number) < 0)));

/** The `reason` of a receipt written unmatched because it waited `maxWaitMs` for its dispatch. */
export const DISPATCH_WAIT_REASON = 'dispatch_wait';

const byEventTime = (a: Pending, b: Pending) =>
  a.row.timestamp < b.row.timestamp ||
  (a.row.timestamp === b.row.timestamp && compareSequenceNumbers(a.row.sequence_number, b.row.sequence_number) < 0);

function baseRow(r: StreamRecord, meta: RecordMeta): EventRow {
  return {
    event_id: r.event_id,
    kind: r.kind,
    incident_id: r.incident_id,
    alarm_arn: r.alarm_arn,
    alarm_name: null,
    source: null,
    severity: null,
    channel: null,
    provider: null,
    route: null,
    message_id: null,
    recipient: null,
    person: null,
    level: null,
    status: '',
    provider_status: null,
    error_code: null,
    error_message: null,
    reason: null,
    timestamp: r.event_time,
    dispatched_at: null,
    escalate_at: null,
    to_level: null,
    join_status: 'none',
    detail: null,
    shard_id: meta.shardId,
    sequence_number: meta.sequenceNumber,
    arrival_time: meta.arrivalTime,
  };
}

/** The source's own word for an intake record's state (the lake's `status`: never an incident's alarm|ok). */
const INTAKE_STATUS = {
  alertmanager: { ALARM: 'firing', OK: 'resolved', ACK: 'acknowledge' },
  'events-v2': { ALARM: 'trigger', OK: 'resolve', ACK: 'acknowledge' },
  heartbeat: { ALARM: 'missed', OK: 'checkin', ACK: 'acknowledge' },
} as const;

/**
 * An alert source's alarm row (schemas/alert-record.ts): the intake record keeps its payload and the source's word
 * for its state; the paging engine's restatement (the incident's alarm row) a small summary.
 */
function alertRow(
  record: Extract<StreamRecord, { kind: 'alarm'; source: 'alertmanager' | 'events-v2' | 'heartbeat' }>,
  row: EventRow,
) {
  if (record.restates === undefined) {
    row.status = INTAKE_STATUS[record.source][record.state];
    row.detail = record.raw ?? null;
    return;
  }
  row.detail = JSON.stringify({
    restates: record.restates,
    key: record.key,
    ...(record.service !== undefined ? { service: record.service } : {}),
    ...(record.firing !== undefined ? { firing: record.firing } : {}),
    ...(record.truncated !== undefined ? { truncated: record.truncated } : {}),
    ...(record.labels.team !== undefined ? { team: record.labels.team } : {}),
  });
}

export class EventJoin {
  readonly options: Required<JoinOptions>;
  /** Event id → arrival time of its first sighting, in arrival order. */
  readonly counters: JoinCounters = {
    records: 0,
    duplicates: 0,
    matched: 0,
    unmatched: 0,
    late: 0,
    expired: 0,
    evicted: 0,
    waitTimeouts: 0,
    ticks: 0,
  };
  private readonly seen = new Map<string, number>();
  private readonly dispatches = new Map<string, DispatchInfo>();
  private readonly incidents = new Map<string, IncidentInfo>();
  /** Each CloudWatch alarm's open incident (its id and opening time), by alarm ARN: `incidentOfAlarm`. */
  private readonly openByAlarm = new Map<string, OpenAlarm>();
  private readonly pending = new MinHeap<Pending>(byEventTime);
  /** The same waiting receipts in arrival order, for the wall-clock bound. */
  private readonly pendingByArrival = new MinHeap<Pending>(byArrival);
  private readonly pendingByKey = new Map<string, Pending[]>();
  private maxEventTime = -Infinity;
  private maxArrivalTime = -Infinity;
  private out: EventRow[] = [];

  constructor(options: JoinOptions = {}) {
    this.options = joinOptions(options);
  }

  get watermark(): number {
    return this.maxEventTime - this.options.allowedLatenessMs;
  }

  /** Entries held: remembered ids, dispatches, incidents and waiting receipts. */
  get stateSize(): number {
    return this.seen.size + this.dispatches.size + this.incidents.size + this.pending.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Feeds one decoded record. Rows that are ready collect until `drain()`. */
  push(record: StreamRecord, meta: RecordMeta): void {
    this.counters.records++;
    this.arrive(meta.arrivalTime);
    const wm = this.watermark;
    if (this.seen.has(record.event_id)) {
      this.counters.duplicates++;
      return;
    }
    // The newest arrival so far (≥ this record's): the map stays in arrival order even if arrival times step back.
    this.seen.set(record.event_id, this.maxArrivalTime);
    const late = record.event_time < wm;
    if (record.event_time > this.maxEventTime) this.maxEventTime = record.event_time;

    const row = baseRow(record, meta);
    switch (record.kind) {
      case 'alarm':
        row.status = record.state.toLowerCase();
        row.alarm_name = record.alarm_name;
        row.source = record.source;
        row.severity = record.severity ?? null;
        row.reason = record.reason || null;
        if (record.source !== 'cloudwatch') {
          alertRow(record, row);
          if (record.restates === undefined) {
            this.out.push(row); // the intake record: evidence under its provisional id, no incident's
            break;
          }
        } else {
          row.detail = JSON.stringify(record.event);
          row.incident_id = this.incidentOfAlarm(record);
        }
        this.rememberIncident(row.incident_id, record.event_time, record.alarm_name, record.severity ?? null);
        this.out.push(row);
        break;
      case 'dispatch':
        this.onDispatch(record, row);
        break;
      case 'receipt':
        row.status = record.status;
        row.provider_status = record.provider_status;
        row.channel = record.channel;
        row.provider = record.provider;
        row.route = record.provider === 'external' ? null : record.provider;
        row.message_id = record.message_id;
        row.recipient = record.recipient ?? null;
        row.error_code = record.error_code ?? null;
        row.error_message = record.error_message ?? null;
        row.detail = record.raw ?? null;
        this.onReceipt(row, late, meta.partitionKey);
        break;
      case 'ack':
        row.status = 'acked';
        row.channel = record.channel;
        row.reason = record.via;
        row.person = record.person ?? null;
        row.recipient = record.recipient ?? null;
        row.message_id = record.message_id ?? null;
        this.emitEnriched(row);
        break;
      case 'escalation':
        row.status = 'escalated';
        row.reason = record.reason;
        row.level = record.from_level;
        row.to_level = record.to_level;
        row.channel = record.from_channel ?? null;
        row.person = record.person ?? null;
        row.message_id = record.message_id ?? null;
        if (record.severity) row.severity = record.severity;
        // suppressed / retrigger: the maintenance window and the alarm record behind it; unrouted: the fallback
        // paged instead of the missing (team, severity) policy, and an ignored severity tag; failover on silence:
        // its cause and how long the page was silent
        // by hand (manual, reassign, resume; a repeat or exhausted by hand): who
        if (
          record.maintenance_window ||
          record.alarm_event_id ||
          record.fallback ||
          record.cause ||
          record.to_route ||
          record.by
        )
          row.detail = JSON.stringify({
            ...(record.by ? { by: record.by } : {}),
            ...(record.cause ? { cause: record.cause, silence_ms: record.silence_ms } : {}),
            ...(record.to_route ? { to_route: record.to_route } : {}),
            ...(record.maintenance_window ? { maintenance_window: record.maintenance_window } : {}),
            ...(record.alarm_event_id ? { alarm_event_id: record.alarm_event_id } : {}),
            ...(record.fallback ? { fallback: record.fallback } : {}),
            ...(record.team ? { team: record.team } : {}),
            ...(record.severity_tag ? { severity_tag: record.severity_tag } : {}),
          });
        this.emitEnriched(row);
        break;
      case 'deadline':
        row.status = 'due';
        row.reason = record.purpose;
        row.level = record.level;
        this.out.push(row);
        break;
      case 'drill':
        // a reachability drill (never a page): its phase, or its result's outcome with each channel's evidence
        row.status = record.phase === 'result' ? (record.outcome ?? 'result') : record.phase;
        row.reason = record.phase === 'result' ? (record.why ?? 'drill_result') : `drill_${record.phase}`;
        row.person = record.person ?? null;
        if (record.phase !== 'plan')
          row.detail = JSON.stringify({
            schedule: record.schedule,
            shift_start: record.shift_start === undefined ? undefined : new Date(record.shift_start).toISOString(),
            ...(record.channels ? { channels: record.channels } : {}),
            ...(record.summary ? { summary: record.summary } : {}),
          });
        this.out.push(row);
        break;
      case 'action':
        // by hand on the incident API or the console (schemas/action-record.ts): resolved, a note, or an escalate /
        // reassign / snooze asked for (the engine's decision is its escalation record)
        row.status = ACTION_STATUS[record.action];
        row.reason = record.via;
        row.person = record.person;
        if (record.from_level !== undefined) row.level = record.from_level;
        if (record.note || record.to_person || record.minutes)
          row.detail = JSON.stringify({
            ...(record.note ? { note: record.note } : {}),
            ...(record.to_person ? { to_person: record.to_person } : {}),
            ...(record.minutes ? { minutes: record.minutes } : {}),
          });
        this.out.push(row);
        break;
    }
    if (this.maxEventTime - this.options.allowedLatenessMs > wm) this.advance();
    this.releaseOverdue();
    this.enforceBound();
  }

  /**
   * A tick arrived (schemas/tick-record.ts): the shard's clock moves to its arrival time and the receipts that have
   * waited `maxWaitMs` by it are written `unmatched` (`dispatch_wait`). Nothing else: no row, no remembered id, and
   * its event time (the putter's clock) is not read. A duplicate tick changes nothing.
   */
  tick(meta: Pick<RecordMeta, 'arrivalTime'>): void {
    this.counters.ticks++;
    this.arrive(meta.arrivalTime);
    this.releaseOverdue();
  }

  /**
   * The partition keys of the waiting receipts, each once, at most `max`, the longest-waiting receipt's first: where a
   * tick must go to reach them (the shard holding them, after a reshard the child). Empty when nothing waits or the
   * wall-clock bound is off (`maxWaitMs` Infinity: a tick would release nothing).
   */
  waitingPartitionKeys(max: number): string[] {
    if (!Number.isFinite(this.options.maxWaitMs) || max < 1) return [];
    const keys = new Set<string>();
    const first = this.pendingByArrival.peek();
    if (first) keys.add(pendingPartitionKey(first));
    for (const p of this.pendingByArrival.toArray()) {
      if (keys.size >= max) break;
      keys.add(pendingPartitionKey(p));
    }
    return [...keys];
  }

  /** Waiting receipts whose row satisfies `which` (default: all). */
  waiting(which: (row: EventRow) => boolean = () => true): number {
    return this.pending.toArray().filter((p) => which(p.row)).length;
  }

  /**
   * Releases the waiting receipts whose row satisfies `which` now, as `unmatched` (in event-time
   * order): for a replay that ends where no later record will come to release them.
   */
  releaseWaiting(which: (row: EventRow) => boolean = () => true): void {
    const release = this.pending
      .toArray()
      .filter((p) => which(p.row))
      .sort((a, b) => (byEventTime(a, b) ? -1 : byEventTime(b, a) ? 1 : 0));
    const set = new Set(release);
    this.pending.removeWhere((p) => set.has(p));
    this.pendingByArrival.removeWhere((p) => set.has(p));
    for (const p of release) this.releaseUnmatched(p);
  }

  /** Rows ready since the last drain, in emission order. */
  drain(): EventRow[] {
    const rows = this.out;
    this.out = [];
    return rows;
  }

  private onDispatch(d: DispatchRecord, row: EventRow): void {
    row.status = d.outcome;
    row.message_id = d.message_id;
    row.channel = d.channel;
    row.provider = d.provider;
    // records written before routes were recorded: the provider was the route
    row.route = d.route ?? (d.provider === 'external' ? null : d.provider);
    row.recipient = d.recipient;
    row.person = d.person ?? null;
    row.level = d.level;
    row.alarm_name = d.alarm_name ?? null;
    row.severity = d.severity ?? null;
    row.error_code = d.error_code ?? null;
    row.error_message = d.error_message ?? null;
    row.dispatched_at = d.event_time;
    row.escalate_at = d.escalate_at ?? null;
    // a notice of the ack or resolve (not a page): `reason` notice_ack / notice_resolve (the views leave it out
    // of the pages)
    if (d.notice) row.reason = `notice_${d.notice}`;
    // a reachability drill's test page (level 1) or its failure told to the person and the owner (level 2): never a
    // page (the views leave every row of a drill out)
    if (isDrillId(d.incident_id)) row.reason = d.level === 1 ? 'drill' : 'drill_notice';
    // why this person (the on-call schedule, layer, override), whether the page may be a duplicate, quiet
    // hours, the notice
    if (d.resolved_by || d.possible_duplicate || d.quiet_hours || d.notice || d.rerouted) {
      row.detail = JSON.stringify({
        ...(d.resolved_by ? { resolved_by: d.resolved_by } : {}),
        ...(d.possible_duplicate ? { possible_duplicate: true } : {}),
        ...(d.quiet_hours ? { quiet_hours: true } : {}),
        ...(d.notice ? { notice: d.notice } : {}),
        // sent by the second route because the first failed (from which route, and why)
        ...(d.rerouted ? { rerouted: d.rerouted } : {}),
      });
    }
    this.rememberIncident(d.incident_id, d.event_time, row.alarm_name, row.severity);
    this.out.push(row);
    if (d.message_id === null) return;
    const key = joinKey(d.incident_id, d.message_id);
    const info: DispatchInfo = {
      t: d.event_time,
      alarm_name: row.alarm_name,
      severity: row.severity,
      channel: d.channel,
      provider: d.provider,
      route: row.route,
      recipient: d.recipient,
      person: row.person,
      level: d.level,
      escalate_at: row.escalate_at,
    };
    this.dispatches.delete(key);
    this.dispatches.set(key, info);
    const waiting = this.pendingByKey.get(key);
    if (waiting) {
      this.pendingByKey.delete(key);
      const ids = new Set(waiting);
      this.pending.removeWhere((p) => ids.has(p));
      this.pendingByArrival.removeWhere((p) => ids.has(p));
      for (const p of waiting) {
        this.enrich(p.row, info);
        p.row.join_status = 'matched';
        this.counters.matched++;
        this.out.push(p.row);
      }
    }
  }

  private onReceipt(row: EventRow, late: boolean, pk: string | undefined): void {
    const key = joinKey(row.incident_id, row.message_id!);
    const info = this.liveDispatch(key);
    if (info) {
      this.enrich(row, info);
      row.join_status = 'matched';
      this.counters.matched++;
      this.out.push(row);
    } else if (late) {
      this.enrichFromIncident(row);
      row.join_status = 'late';
      this.counters.late++;
      this.out.push(row);
    } else {
      const p: Pending = pk === undefined ? { key, row } : { key, row, pk };
      this.pending.push(p);
      this.pendingByArrival.push(p);
      const list = this.pendingByKey.get(key);
      if (list) list.push(p);
      else this.pendingByKey.set(key, [p]);
    }
  }

  /** Acks and escalations: joined to their message's dispatch when they name one, never held. */
  private emitEnriched(row: EventRow): void {
    const info = row.message_id !== null ? this.liveDispatch(joinKey(row.incident_id, row.message_id)) : undefined;
    if (info) {
      const level = row.level;
      this.enrich(row, info);
      if (level !== null) row.level = level;
      row.join_status = 'matched';
      this.counters.matched++;
    } else {
      this.enrichFromIncident(row);
    }
    this.out.push(row);
  }

  private liveDispatch(key: string): DispatchInfo | undefined {
    const info = this.dispatches.get(key);
    return info && info.t + this.options.windowMs >= this.watermark ? info : undefined;
  }

  private enrich(row: EventRow, d: DispatchInfo): void {
    row.alarm_name = d.alarm_name;
    row.severity = d.severity;
    row.channel ??= d.channel;
    row.provider ??= d.provider;
    row.route ??= d.route ?? null;
    row.recipient ??= d.recipient;
    row.person ??= d.person;
    row.level = d.level;
    row.dispatched_at = d.t;
    row.escalate_at = d.escalate_at;
  }

  private enrichFromIncident(row: EventRow): void {
    const inc = this.incidents.get(row.incident_id);
    if (inc && inc.t + this.options.windowMs >= this.watermark) {
      row.alarm_name ??= inc.alarm_name;
      row.severity ??= inc.severity;
    }
  }

  /**
   * The incident a CloudWatch alarm record belongs to, as the paging handler decides it (processors/paging/handler.ts):
   * its own id, except for a record that continues the alarm's open episode (an ALARM → ALARM re-evaluation, or
   * the OK after one, or an OK by SNS, whose message has no time for the old state) and derives another id: it
   * belongs to the alarm's open incident, if that opened no later than the record's previous state. Without this
   * the lake would keep the incident open and count a second one (the engine aliases the id; the lake sees only
   * the record). A pure function of the records, like the rest of the join.
   */
  private incidentOfAlarm(record: Extract<StreamRecord, { kind: 'alarm'; source: 'cloudwatch' }>): string {
    const arn = record.alarm_arn;
    const previous = record.event.detail.previousState;
    const open = this.openByAlarm.get(arn);
    let id = record.incident_id;
    if (previous?.value === 'ALARM') {
      if (open && open.id !== id && open.t <= parseTimestamp(previous.timestamp)) id = open.id;
    }
    if (record.state === 'OK') {
      if (open?.id === id) this.openByAlarm.delete(arn);
    } else if (record.state === 'ALARM' && open?.id !== id) {
      this.openByAlarm.delete(arn); // insertion order = age, for the bound
      this.openByAlarm.set(arn, { id, t: record.event_time });
      if (this.openByAlarm.size > MAX_OPEN_ALARMS) this.openByAlarm.delete(this.openByAlarm.keys().next().value!);
    }
    return id;
  }

  private rememberIncident(id: string, t: number, alarmName: string | null, severity: string | null): void {
    const prev = this.incidents.get(id);
    if (prev && prev.alarm_name && prev.severity) return;
    this.incidents.delete(id);
    this.incidents.set(id, {
      t: Math.max(t, prev?.t ?? t),
      alarm_name: alarmName ?? prev?.alarm_name ?? null,
      severity: severity ?? prev?.severity ?? null,
    });
  }

  /** A record or tick arrived: the shard's newest arrival time, and the remembered ids it expires. */
  private arrive(arrivalTime: number): void {
    if (!(arrivalTime > this.maxArrivalTime)) return;
    // First record after restoring a v1/v2 snapshot (ids by event time, maybe far ahead): none later than now.
    if (this.maxArrivalTime === -Infinity)
      for (const [k, t] of this.seen) if (t > arrivalTime) this.seen.set(k, arrivalTime);
    this.maxArrivalTime = arrivalTime;
    const horizon = this.maxArrivalTime - this.options.dedupeWindowMs;
    this.counters.expired += expireOldest(this.seen, (t) => t < horizon);
  }

  /** The watermark moved: release receipts it passed, drop state it expired. */
  private advance(): void {
    const wm = this.watermark;
    const released = new Set<Pending>();
    for (let p = this.pending.peek(); p && p.row.timestamp < wm; p = this.pending.peek()) {
      this.pending.pop();
      released.add(p);
      this.releaseUnmatched(p);
    }
    if (released.size > 0) this.pendingByArrival.removeWhere((p) => released.has(p));
    const horizon = wm - this.options.windowMs;
    this.counters.expired += expireOldest(this.dispatches, (d) => d.t < horizon);
    this.counters.expired += expireOldest(this.incidents, (d) => d.t < horizon);
  }

  /**
   * The wall-clock bound: writes `unmatched` (reason `dispatch_wait`) every waiting receipt that arrived `maxWaitMs`
   * or more before the newest arrival on the shard, in arrival order. Reads only arrival times of records.
   */
  private releaseOverdue(): void {
    const due = this.maxArrivalTime - this.options.maxWaitMs;
    const released = new Set<Pending>();
    for (let p = this.pendingByArrival.peek(); p && p.row.arrival_time <= due; p = this.pendingByArrival.peek()) {
      this.pendingByArrival.pop();
      released.add(p);
    }
    if (released.size === 0) return;
    this.pending.removeWhere((p) => released.has(p));
    for (const p of released) {
      p.row.reason = DISPATCH_WAIT_REASON;
      this.counters.waitTimeouts++;
      this.releaseUnmatched(p);
    }
  }

  private releaseUnmatched(p: Pending): void {
    const list = this.pendingByKey.get(p.key);
    if (list) {
      const i = list.indexOf(p);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.pendingByKey.delete(p.key);
    }
    this.enrichFromIncident(p.row);
    p.row.join_status = 'unmatched';
    this.counters.unmatched++;
    this.out.push(p.row);
  }

  private enforceBound(): void {
    let over = this.stateSize - this.options.maxStateEntries;
    while (over > 0) {
      // Oldest first: remembered ids, then dispatches and incidents, then waiting receipts (emitted, never lost).
      const map =
        this.seen.size > 0
          ? this.seen
          : this.dispatches.size > 0
            ? this.dispatches
            : this.incidents.size > 0
              ? this.incidents
              : null;
      if (map) {
        map.delete(map.keys().next().value!);
      } else {
        const p = this.pending.pop();
        if (!p) break;
        this.pendingByArrival.removeWhere((q) => q === p);
        this.releaseUnmatched(p);
      }
      this.counters.evicted++;
      over--;
    }
  }

  snapshot(): JoinSnapshot {
    return {
      v: 3,
      maxEventTime: Number.isFinite(this.maxEventTime) ? this.maxEventTime : null,
      maxArrivalTime: Number.isFinite(this.maxArrivalTime) ? this.maxArrivalTime : null,
      seen: [...this.seen],
      dispatches: [...this.dispatches],
      incidents: [...this.incidents],
      openAlarms: [...this.openByAlarm],
      pending: this.pending.toArray().sort((a, b) => (byEventTime(a, b) ? -1 : byEventTime(b, a) ? 1 : 0)),
      counters: { ...this.counters },
    };
  }

  /**
   * Rebuilds a join from snapshots: one on restart, several when a shard's parents (split or merge)
   * hand their state to it. Rows not drained before the snapshot are not part of it (drain first).
   *
   * `keepPending` (a reshard child) keeps only the waiting receipts whose partition key it will read:
   * each waiting receipt goes to exactly one child, the one that reads its dispatch, so it is written
   * once. The rest of the state (seen ids, dispatches, incidents) is looked up only by records of its
   * own partition key, so a copy in the other child is never used and expires with the window.
   */
  static restore(
    snapshots: readonly JoinSnapshot[],
    options: JoinOptions = {},
    keepPending?: PartitionKeyFilter,
  ): EventJoin {
    const join = new EventJoin(options);
    const seen = new Map<string, number>();
    for (const s of snapshots) {
      if (s.v !== 1 && s.v !== 2 && s.v !== 3) throw new RangeError(`unknown join snapshot version ${String(s.v)}`);
      if (s.maxEventTime !== null && s.maxEventTime > join.maxEventTime) join.maxEventTime = s.maxEventTime;
      if (s.v === 3 && s.maxArrivalTime != null && s.maxArrivalTime > join.maxArrivalTime)
        join.maxArrivalTime = s.maxArrivalTime;
      for (const [k, v] of s.seen) seen.set(k, Math.min(v, seen.get(k) ?? v));
      for (const [k, v] of s.dispatches) join.dispatches.set(k, v);
      for (const [k, v] of s.incidents) join.incidents.set(k, v);
      for (const [k, v] of s.openAlarms ?? []) join.openByAlarm.set(k, v);
      for (const p of s.pending) {
        if (keepPending && !keepPending(pendingPartitionKey(p))) continue;
        join.pending.push(p);
        join.pendingByArrival.push(p);
        const list = join.pendingByKey.get(p.key);
        if (list) list.push(p);
        else join.pendingByKey.set(p.key, [p]);
      }
      if (snapshots.length === 1) Object.assign(join.counters, s.counters);
      join.counters.waitTimeouts ??= 0; // snapshots before the wall-clock bound
      join.counters.ticks ??= 0; // snapshots before ticks
    }
    // Arrival order, so expiry from the front works (several parents interleave; v1/v2 held event times).
    for (const [k, v] of [...seen].sort((a, b) => a[1] - b[1])) join.seen.set(k, v);
    return join;
  }
}

/** Deletes entries from the front of an insertion-ordered map while they are expired. */
function expireOldest<V>(map: Map<string, V>, expired: (v: V) => boolean): number {
  let n = 0;
  for (const [k, v] of map) {
    if (!expired(v)) break;
    map.delete(k);
    n++;
  }
  return n;
}
