import { createHash } from 'node:crypto';

/**
 * The stream's partition key of everything about one alarm: its ARN when the ARN fits the Kinesis
 * limit, else a stable short key derived from it. Every record of an incident (alarm, dispatch, receipt,
 * ack, escalation, deadline: schemas/envelope.ts `partitionKeyOf`, the Scheduler's deadline targets)
 * takes its key from here, so they all hash to one shard; the ARN itself stays in the record.
 *
 * Kinesis allows 1–256 Unicode characters; AWS counts code points, kinesalite UTF-16 code units, so the
 * limit is counted in UTF-16 units (JavaScript's `length`), the stricter count: a key that fits it fits
 * both. CloudWatch alarm names may be 255 characters (emoji included), so an alarm ARN can be longer.
 */

/** The most UTF-16 code units a partition key may have (256: what every engine accepts). */
export const MAX_PARTITION_KEY_UNITS = 256;

/** Prefix of a derived key: never the start of an ARN (`arn:`), so a derived key cannot equal a real one. */
export const HASHED_KEY_PREFIX = 'arn-sha256:';

/** Whether `key` is a partition key every engine accepts: 1..256 UTF-16 code units. */
export function fitsPartitionKey(key: string): boolean {
  return key.length >= 1 && key.length <= MAX_PARTITION_KEY_UNITS;
}

/**
 * The partition key of an alarm's records: the ARN when it fits (as before, so keys of existing
 * incidents do not move), else `arn-sha256:` + the SHA-256 of its UTF-8 bytes in hex (75 characters).
 */
export function partitionKeyFor(alarmArn: string): string {
  if (fitsPartitionKey(alarmArn)) return alarmArn;
  return HASHED_KEY_PREFIX + createHash('sha256').update(alarmArn, 'utf8').digest('hex');
}
