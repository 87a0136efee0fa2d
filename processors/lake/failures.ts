import { z } from 'zod';
import type { OnFailureRecord } from '../runtime/on-failure.js';
import { FailureRecordError } from './errors.js';
import type { LakeStore } from './lake-store.js';

/** Where the lake's on-failure records go in the lake bucket (locally; on AWS: the mapping's S3 destination). */
export const FAILURE_PREFIX = 'failures/lake/';

/** The record's key: one per shard + sequence range, so a repeated failure of the same batch overwrites it. */
export function failureKey(
  info: Pick<OnFailureRecord['KinesisBatchInfo'], 'shardId' | 'startSequenceNumber' | 'endSequenceNumber'>,
  prefix = FAILURE_PREFIX,
): string {
  return `${prefix}${info.shardId}-${info.startSequenceNumber}-${info.endSequenceNumber}.json`;
}

/** The on-failure destination of the local mapping: AWS's on-failure JSON, one object per failed batch. */
export function s3FailureDestination(
  store: LakeStore,
  prefix = FAILURE_PREFIX,
): (record: OnFailureRecord) => Promise<void> {
  return async (record) => {
    const body = new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n');
    await store.putAll([
      { key: failureKey(record.KinesisBatchInfo, prefix), body, contentType: 'application/json', rows: 1 },
    ]);
  };
}

/** The part of AWS's Kinesis on-failure record a replay needs (the rest may vary and is kept as is). */
const FailureRecordSchema = z.object({
  timestamp: z.string().optional(),
  KinesisBatchInfo: z.object({
    shardId: z.string().min(1),
    startSequenceNumber: z.string().regex(/^\d+$/),
    endSequenceNumber: z.string().regex(/^\d+$/),
    approximateArrivalOfFirstRecord: z.string().optional(),
    approximateArrivalOfLastRecord: z.string().optional(),
    batchSize: z.number().int().nonnegative().optional(),
    streamArn: z.string().optional(),
  }),
});

export interface FailedRange {
  /** The record's S3 key. */
  key: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  /** Epoch ms, when the record has them. */
  firstArrival?: number;
  lastArrival?: number;
  batchSize?: number;
}

/** Every on-failure record under `prefix` (any key layout: AWS's S3 destination names them itself). */
export async function readFailures(store: LakeStore, prefix = FAILURE_PREFIX): Promise<FailedRange[]> {
  const out: FailedRange[] = [];
  for (const { key } of await store.list(prefix)) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(await store.getBytes(key)));
    } catch (cause) {
      throw new FailureRecordError(key, 'not JSON', { cause });
    }
    const parsed = FailureRecordSchema.safeParse(json);
    if (!parsed.success) throw new FailureRecordError(key, parsed.error.message);
    const b = parsed.data.KinesisBatchInfo;
    const ms = (s: string | undefined) => (s && Number.isFinite(Date.parse(s)) ? Date.parse(s) : undefined);
    out.push({
      key,
      shardId: b.shardId,
      startSequenceNumber: b.startSequenceNumber,
      endSequenceNumber: b.endSequenceNumber,
      firstArrival: ms(b.approximateArrivalOfFirstRecord),
      lastArrival: ms(b.approximateArrivalOfLastRecord),
      batchSize: b.batchSize,
    });
  }
  return out;
}
