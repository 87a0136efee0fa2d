import { flushRecords } from './flush.js';
import { EventJoin, type JoinOptions } from './join.js';
import type { LakeInputRecord } from './shard-pipeline.js';

export interface InMemoryOptions extends JoinOptions {
  /**
   * Records per batch (= per flush, per shard), as the event source mapping's batch size. Default 10,000 (Lambda's
   * maximum).
   */
  flushMaxRows?: number;
}

/**
 * The lake handler's work without the network: records (in shard order) cut into batches of
 * `flushMaxRows` per shard, each flushed by the handler's own flush code (`flushRecords`: decode,
 * validate, join, Parquet objects keyed as the live path keys them), the join carried from batch to
 * batch as the handler's head carries it. Used by `make bench` and by tests.
 */
export function processInMemory(
  records: readonly LakeInputRecord[],
  options: InMemoryOptions = {},
): { objects: Map<string, Uint8Array>; rows: number; errors: number } {
  const flushMaxRows = options.flushMaxRows ?? 10_000;
  const shards = new Map<string, { join: EventJoin; batch: LakeInputRecord[] }>();
  const objects = new Map<string, Uint8Array>();
  let rows = 0;
  let errors = 0;
  const flush = (shardId: string, s: { join: EventJoin; batch: LakeInputRecord[] }) => {
    if (s.batch.length === 0) return;
    const { batch, objects: out } = flushRecords(shardId, s.join, s.batch);
    s.batch = [];
    for (const o of out) objects.set(o.key, o.body);
    rows += batch.events.length;
    errors += batch.errors.length;
  };
  for (const r of records) {
    let s = shards.get(r.shardId);
    if (!s) {
      s = { join: new EventJoin(options), batch: [] };
      shards.set(r.shardId, s);
    }
    s.batch.push(r);
    if (s.batch.length >= flushMaxRows) flush(r.shardId, s);
  }
  for (const [shardId, s] of shards) flush(shardId, s);
  return { objects, rows, errors };
}
