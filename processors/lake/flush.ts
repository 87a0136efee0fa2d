import type { EventJoin } from './join.js';
import { objectsOf, type LakeObject } from './objects.js';
import { ShardPipeline, type FlushBatch, type LakeInputRecord } from './shard-pipeline.js';

export interface Flush {
  batch: FlushBatch;
  objects: LakeObject[];
}

/**
 * One flush of one shard, without I/O: the records (in shard order, non-empty) through `join` (which
 * then holds the state as of the last record) to the objects to write. The same records from the same
 * state (and `epoch`: see `objectName`) give the same keys and bytes. The live handler, the backfill
 * and the failure replay all flush through here.
 */
export function flushRecords(shardId: string, join: EventJoin, records: readonly LakeInputRecord[], epoch = 0): Flush {
  const pipeline = new ShardPipeline(shardId, join);
  for (const r of records) pipeline.push(r);
  const batch = pipeline.take();
  if (!batch) throw new RangeError('flushRecords needs at least one record');
  return { batch, objects: objectsOf(batch, epoch) };
}
