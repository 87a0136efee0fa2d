import { z } from 'zod';
import { AlarmRecord } from './alarm-record.js';
import { DispatchRecord } from './dispatch-record.js';
import { ReceiptRecord } from './receipt-record.js';
import { AckRecord } from './ack-record.js';
import { EscalationRecord } from './escalation-record.js';
import { DeadlineRecord } from './deadline-record.js';
import { RecordDecodeError } from './errors.js';
import { decodeTrusted } from './trusted-record.js';
import { partitionKeyFor } from './partition-key.js';

/** Every record on the stream: one envelope, discriminated by `kind`. */
export const StreamRecord = z.discriminatedUnion('kind', [
  AlarmRecord,
  DispatchRecord,
  ReceiptRecord,
  AckRecord,
  EscalationRecord,
  DeadlineRecord,
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
] as const satisfies readonly RecordKind[];

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes from the stream → a validated record. Throws RecordDecodeError (with the reason and a
 * pointer to the failing field) for bytes that are not UTF-8 JSON or not a valid envelope.
 */
export function decodeRecord(data: Uint8Array): StreamRecord {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (cause) {
    throw new RecordDecodeError('not UTF-8 JSON', [], { cause });
  }
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
  return partitionKeyFor(record.kind === 'alarm' ? record.event.resources[0] : record.alarm_arn);
}
