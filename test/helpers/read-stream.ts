import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { listShards } from '../../processors/consumer/shards.js';
import { ShardReader } from '../../processors/consumer/shard-reader.js';
import { decodeRecordOrTick, type StreamRecord } from '../../schemas/envelope.js';

export interface StreamEntry {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  valid: boolean;
  /** Absent for a tick (valid, no incident's, never a lake row) and an invalid record. */
  eventId?: string;
  kind?: string;
  record?: StreamRecord;
}

/**
 * Every record of every shard (closed parents included) from TRIM_HORIZON to the tip, decoded where valid. A tick
 * (schemas/tick-record.ts) is valid, of kind `tick`, without `eventId` or `record`.
 */
export async function readStream(kinesis: Pick<KinesisClient, 'send'>, streamName: string): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  for (const shard of await listShards(kinesis, streamName)) {
    const reader = new ShardReader({
      kinesis,
      streamName,
      shardId: shard.ShardId!,
      start: { type: 'TRIM_HORIZON' },
      minCallIntervalMs: 0,
      idleDelayMs: 0,
    });
    for (;;) {
      const batch = await reader.next();
      for (const r of batch.records) {
        try {
          const rec = decodeRecordOrTick(r.data);
          if (rec.kind === 'tick') {
            out.push({
              shardId: r.shardId,
              sequenceNumber: r.sequenceNumber,
              partitionKey: r.partitionKey,
              valid: true,
              kind: 'tick',
            });
            continue;
          }
          out.push({
            shardId: r.shardId,
            sequenceNumber: r.sequenceNumber,
            partitionKey: r.partitionKey,
            valid: true,
            eventId: rec.event_id,
            kind: rec.kind,
            record: rec,
          });
        } catch {
          out.push({
            shardId: r.shardId,
            sequenceNumber: r.sequenceNumber,
            partitionKey: r.partitionKey,
            valid: false,
          });
        }
      }
      if (batch.ended || (batch.records.length === 0 && (batch.millisBehindLatest ?? 0) === 0)) break;
    }
  }
  return out;
}
