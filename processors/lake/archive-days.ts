import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { RAW_TABLE } from '../../schemas/lake.js';

/**
 * The arrival days a backfill can replay: the raw archive's `dt=` partitions (every flush archives the
 * records it read under `raw/dt=<arrival day>/`). `make backfill` names them when a range holds nothing, or
 * when FROM/TO are missing, so a user finds the dates that have data without reading S3 by hand.
 */

const DAY = 86_400_000;

/** The archive's days, oldest first: one listing by delimiter (the partitions, not their objects). */
export async function rawArchiveDays(s3: Pick<S3Client, 'send'>, bucket: string): Promise<string[]> {
  const days: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: RAW_TABLE.prefix, Delimiter: '/', ContinuationToken: token }),
    );
    for (const p of res.CommonPrefixes ?? []) {
      const m = /dt=(\d{4}-\d\d-\d\d)\/$/.exec(p.Prefix ?? '');
      if (m) days.push(m[1]);
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return days.sort();
}

/** Where the archive's data is, with a command that replays all of it (TO is exclusive: the day after the last). */
export function archiveRangeNote(days: readonly string[], bucket: string): string {
  const where = `s3://${bucket}/${RAW_TABLE.prefix}`;
  if (days.length === 0)
    return `the raw archive ${where} is empty: nothing has been through the lake processor yet (make demo fills it)`;
  const first = days[0];
  const last = days[days.length - 1];
  const next = new Date(Date.parse(last) + DAY).toISOString().slice(0, 10);
  return (
    `the raw archive ${where} holds arrivals from dt=${first} to dt=${last} (${days.length} day(s) with data); ` +
    `to replay them all: make backfill FROM=${first} TO=${next}`
  );
}

/** The stderr note of a backfill whose range held no record: not an error (nothing to do), but said plainly. */
export function emptyRangeNote(from: Date, to: Date, days: readonly string[], bucket: string): string {
  return (
    `note: nothing arrived in [${from.toISOString()}, ${to.toISOString()}): no record in the stream or the raw ` +
    `archive, nothing replayed\n${archiveRangeNote(days, bucket)}`
  );
}
