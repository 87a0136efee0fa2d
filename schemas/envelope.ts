import { z } from 'zod';
import { AnyAlarmRecord } from './alarm-record.js';
import { DispatchRecord } from './dispatch-record.js';
import { ReceiptRecord } from './receipt-record.js';
import { AckRecord } from './ack-record.js';
import { EscalationRecord } from './escalation-record.js';
import { DeadlineRecord } from './deadline-record.js';
import { DrillRecord } from './drill-record.js';
import { ActionRecord } from './action-record.js';
import { TickRecord, type TickRecordIn } from './tick-record.js';
import { RecordDecodeError } from './errors.js';
import { decodeTrusted } from './trusted-record.js';
import { partitionKeyFor } from './partition-key.js';

/** Every record on the stream: one envelope, discriminated by `kind`. */
export const StreamRecord = z.discriminatedUnion('kind', [
  AnyAlarmRecord,
  DispatchRecord,
  ReceiptRecord,
  AckRecord,
  EscalationRecord,
  DeadlineRecord,
  DrillRecord,
  ActionRecord,
]);
export type StreamRecord = z.output<typeof StreamRecord>;
export type StreamRecordIn = z.input<typeof StreamRecord>;
export type RecordKind = StreamRecord['kind'];
export const RECORD_KINDS = [
  'alarm',
  'dispatch',
  'receipt',
  'ack',
  'escalation',
  'deadline',
  'drill',
  'action',
] as const satisfies readonly RecordKind[];

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes from the stream → a validated record. Throws RecordDecodeError (with the reason and a
 * pointer to the failing field) for bytes that are not UTF-8 JSON or not a valid envelope.
 */
export function decodeRecord(data: Uint8Array): StreamRecord {
  return recordOf(jsonOf(data));
}

/** A record or a tick (schemas/tick-record.ts: the lake's clock signal, no incident's): what stream readers take. */
export type RecordOrTick = StreamRecord | TickRecord;

/**
 * As `decodeRecord`, but a tick is returned (kind `tick`) instead of refused: the stream's consumers read
 * with this and skip ticks (the lake's join takes their arrival time). Throws RecordDecodeError as it does.
 */
export function decodeRecordOrTick(data: Uint8Array): RecordOrTick {
  const json = jsonOf(data);
  if (typeof json !== 'object' || json === null || (json as { kind?: unknown }).kind !== 'tick') return recordOf(json);
  const parsed = TickRecord.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RecordDecodeError(issue.message, issue.path, { cause: parsed.error });
  }
  return parsed.data;
}

/** A tick (input form, ISO time) → bytes for PutRecords; validated first. */
export function encodeTick(tick: TickRecordIn): Uint8Array {
  const parsed = TickRecord.safeParse(tick);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RecordDecodeError(issue.message, issue.path, { cause: parsed.error });
  }
  return new TextEncoder().encode(JSON.stringify(tick));
}

function jsonOf(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch (cause) {
    throw new RecordDecodeError('not UTF-8 JSON', [], { cause });
  }
}

function recordOf(json: unknown): StreamRecord {
  // Records in the form our producers write pass hand-written checks of every field (schemas/trusted-record.ts);
  // anything those cannot vouch for takes the full schema, which accepts it or names the reason.
  const trusted = decodeTrusted(json);
  if (trusted !== undefined) return trusted as StreamRecord;
  const parsed = StreamRecord.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RecordDecodeError(issue.message, issue.path, { cause: parsed.error });
  }
  return parsed.data;
}

/** A record (input form, ISO times) → bytes for PutRecords; validated first so nothing bad is written. */
export function encodeRecord(record: StreamRecordIn): Uint8Array {
  const parsed = StreamRecord.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RecordDecodeError(issue.message, issue.path, { cause: parsed.error });
  }
  return new TextEncoder().encode(JSON.stringify(record));
}

/**
 * The stream partition key of a record: derived from its alarm ARN (schemas/partition-key.ts: the ARN
 * itself when it fits Kinesis's 256-character limit, else a hash of it), the same for every record of
 * the incident.
 */
export function partitionKeyOf(record: StreamRecordIn): string {
  return partitionKeyFor(record.kind === 'alarm' && 'event' in record ? record.event.resources[0] : record.alarm_arn);
}
