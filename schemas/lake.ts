/**
 * The lake's tables, defined once. The Arrow schema the processor writes (processors/lake/parquet.ts)
 * and the Glue columns the infrastructure declares (infra/) are both generated from these lists, so
 * they cannot drift apart. Every table is Hive-partitioned by `dt=YYYY-MM-DD` (UTC) in its prefix;
 * `dt` is a path column, not stored in the files.
 */
export type ColumnType = 'string' | 'int' | 'bigint' | 'timestamp' | 'binary';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly comment: string;
  /**
   * How the Parquet writer stores it (processors/lake/parquet.ts; default: dictionary-encoded, with
   * min/max statistics). `plain`: nearly every value is distinct (ids, times, payloads), so the
   * values are written PLAIN, without a dictionary (one would only grow the file, and building it
   * was ~30 % of the writer's time). `blob`: also PLAIN, and no min/max statistics (large payloads
   * nobody filters by range).
   */
  readonly storage?: 'plain' | 'blob';
}

export interface TableDef<Name extends string = string> {
  readonly name: Name;
  /** Key prefix in the lake bucket (ends with '/'). */
  readonly prefix: string;
  readonly columns: readonly ColumnDef[];
  readonly comment: string;
}

const c = <const N extends string, const T extends ColumnType, const B extends boolean>(
  name: N,
  type: T,
  nullable: B,
  comment: string,
  storage?: 'plain' | 'blob',
): {
  readonly name: N;
  readonly type: T;
  readonly nullable: B;
  readonly comment: string;
  readonly storage?: 'plain' | 'blob';
} => (storage ? { name, type, nullable, comment, storage } : { name, type, nullable, comment });

/** One row per stream event of an incident (alarm, dispatch, receipt, ack, escalation), enriched by the join. */
export const EVENTS_TABLE = {
  name: 'events',
  prefix: 'tables/events/',
  comment: 'Every alarm, dispatch, receipt, ack and escalation, enriched by the dispatch/receipt join.',
  columns: [
    c('event_id', 'string', false, 'deterministic event id (dedupe key)', 'plain'),
    c('kind', 'string', false, 'alarm | dispatch | receipt | ack | escalation | deadline | drill'),
    c('incident_id', 'string', false, 'one ALARM episode of one alarm'),
    c('alarm_arn', 'string', false, 'CloudWatch alarm ARN (stream partition key)'),
    c('alarm_name', 'string', true, 'alarm name (from the alarm, or joined from the dispatch)'),
    c(
      'source',
      'string',
      true,
      'alarm rows: where the alarm came from: cloudwatch | alertmanager | events-v2 | heartbeat ' +
        '(schemas/alert-record.ts)',
    ),
    c('severity', 'string', true, 'P1..P4'),
    c('channel', 'string', true, 'sms | whatsapp | email | ...'),
    c('provider', 'string', true, 'twilio | resend | aws (AWS End User Messaging SMS and Voice) | external'),
    c(
      'route',
      'string',
      true,
      'route that carried the page: twilio | aws (the second route for SMS and voice) | resend; receipts, acks and ' +
        'escalations about a page: joined from its dispatch',
    ),
    c('message_id', 'string', true, 'Twilio MessageSid or Resend email id', 'plain'),
    c('recipient', 'string', true, 'address paged (phone, whatsapp:, email)'),
    c('person', 'string', true, 'on-call person id from the rota'),
    c('level', 'int', true, 'escalation level of the page (escalations: the level escalated from)'),
    c(
      'status',
      'string',
      false,
      'normalized status (receipts: schemas/status.ts; dispatch: sent|failed; ack: acked; escalation: escalated; ' +
        "deadline: due; alarm: alarm|ok|insufficient_data; an alert source's intake record, not an incident's: " +
        'firing|resolved (alertmanager), trigger|acknowledge|resolve (events-v2), checkin|missed (heartbeat))',
    ),
    c('provider_status', 'string', true, "the provider's own status word"),
    c('error_code', 'string', true, 'provider error code (Twilio ErrorCode, bounce type)'),
    c('error_message', 'string', true, 'provider error text or bounce reason'),
    c(
      'reason',
      'string',
      true,
      'alarm state reason, escalation reason (deadline | failover | repeat | exhausted | suppressed | retrigger | ' +
        'unrouted), ' +
        'deadline purpose (level | settle), dispatch: notice_ack | notice_resolve for a notice (not a page), ' +
        'receipt: dispatch_wait when written unmatched after waiting RECEIPT_WAIT_S for its dispatch; ' +
        'drills: dispatch drill | drill_notice, drill record drill_<phase> or the result why',
    ),
    c('timestamp', 'timestamp', false, 'event time (UTC)', 'plain'),
    c(
      'dispatched_at',
      'timestamp',
      true,
      'when the page this row is about was sent (joined from the dispatch)',
      'plain',
    ),
    c('escalate_at', 'timestamp', true, "deadline of the page's level (joined from the dispatch)", 'plain'),
    c('to_level', 'int', true, 'escalations: the level escalated to'),
    c('join_status', 'string', false, 'matched | unmatched | late | none (rows that join nothing)'),
    c(
      'detail',
      'string',
      true,
      "verified provider payload or alarm event, JSON (evidence; an alert source's intake row: its payload; the " +
        "incident's alarm rows from it: {restates, key, service, firing, truncated, team}); " +
        'dispatches: {resolved_by: {schedule, layer, source, override}, possible_duplicate, quiet_hours, notice, ' +
        'rerouted: {from, cause}}; ' +
        'escalations: {maintenance_window, alarm_event_id; unrouted: fallback, team, severity_tag; ' +
        'failover on silence: cause no_receipt, silence_ms; failover to the other route: to_route}',
      'blob',
    ),
    c('shard_id', 'string', false, 'Kinesis shard the record came from'),
    c('sequence_number', 'string', false, 'Kinesis sequence number', 'plain'),
    c('arrival_time', 'timestamp', false, 'Kinesis approximate arrival time (UTC)', 'plain'),
  ],
} as const satisfies TableDef<'events'>;

/** Every stream record as it was read, for replays past the stream's retention. dt = arrival day. */
export const RAW_TABLE = {
  name: 'raw_records',
  prefix: 'raw/',
  comment: 'Raw archive of every stream record (bytes as written), partitioned by arrival day.',
  columns: [
    c('shard_id', 'string', false, 'Kinesis shard'),
    c('sequence_number', 'string', false, 'Kinesis sequence number', 'plain'),
    c('partition_key', 'string', false, 'Kinesis partition key'),
    c('arrival_time', 'timestamp', false, 'approximate arrival time (UTC)', 'plain'),
    c('data', 'binary', false, 'record bytes', 'blob'),
  ],
} as const satisfies TableDef<'raw_records'>;

export const LAKE_TABLES = [EVENTS_TABLE, RAW_TABLE] as const;

/** Key prefix of records that failed validation (JSON Lines with the reason and the raw bytes). */
export const ERROR_PREFIX = 'errors/';

type Value<T extends ColumnType, N extends boolean> =
  | (T extends 'string'
      ? string
      : T extends 'int'
        ? number
        : T extends 'bigint'
          ? bigint
          : T extends 'timestamp'
            ? number
            : Uint8Array)
  | (N extends true ? null : never);

/** The row type of a table (timestamps are epoch milliseconds). */
export type RowOf<T extends TableDef> = {
  [C in T['columns'][number] as C['name']]: Value<C['type'], C['nullable']>;
};

export type EventRow = RowOf<typeof EVENTS_TABLE>;
export type RawRow = RowOf<typeof RAW_TABLE>;

/** Glue/Hive column type of a column. */
export function glueType(type: ColumnType): string {
  return { string: 'string', int: 'int', bigint: 'bigint', timestamp: 'timestamp', binary: 'binary' }[type];
}
