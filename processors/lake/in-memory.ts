import { EventJoin, type JoinOptions } from './join.js';
import { objectsOf } from './objects.js';
import { ShardPipeline, type LakeInputRecord } from './shard-pipeline.js';

export interface InMemoryOptions extends JoinOptions {
  /** Records per flush (per shard). Default 50,000. */
  flushMaxRows?: number;
}

/**
 * The lake processor without the network: records (in shard order) → decoded, joined rows → Parquet
 * objects keyed as the live processor keys them. Used by `make bench` and by tests.
 */
export function processInMemory(records: readonly LakeInputRecord[], options: InMemoryOptions = {}): { objects: Map<string, Uint8Array>; rows: number; errors: number } {
  const flushMaxRows = options.flushMaxRows ?? 50_000;
  const pipelines = new Map<string, ShardPipeline>();
  const objects = new Map<string, Uint8Array>();
  let rows = 0;
  let errors = 0;
  const flush = (p: ShardPipeline) => {
    const batch = p.take();
    if (!batch) return;
    for (const o of objectsOf(batch)) objects.set(o.key, o.body);
    rows += batch.events.length;
    errors += batch.errors.length;
  };
  for (const r of records) {
    let p = pipelines.get(r.shardId);
    if (!p) pipelines.set(r.shardId, (p = new ShardPipeline(r.shardId, new EventJoin(options))));
    p.push(r);
    if (p.buffered >= flushMaxRows) flush(p);
  }
  for (const p of pipelines.values()) flush(p);
  return { objects, rows, errors };
}
