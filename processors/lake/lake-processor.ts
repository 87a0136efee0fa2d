import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from '../../infra/logger.js';
import { silentLogger } from '../../infra/logger.js';
import { CheckpointStore, type Checkpoint } from '../consumer/checkpoint-store.js';
import { StreamConsumer, type ConsumerStart } from '../consumer/stream-consumer.js';
import { listShards } from '../consumer/shards.js';
import { EventJoin, compareSeq, type JoinOptions, type JoinSnapshot } from './join.js';
import { LakeStore } from './lake-store.js';
import { objectsOf } from './objects.js';
import { ShardPipeline, type FlushBatch, type LakeInputRecord } from './shard-pipeline.js';

/**
 * The lake processor: stream → windowed join → Parquet on S3, exactly-once in effect.
 *
 * A flush of a shard (every `flushIntervalMs`, or `flushMaxRecords` records, or at the shard's end):
 *   1. records the flush boundary (`pendingEnd`) in the checkpoint,
 *   2. writes the objects (keys from shard + sequence range, so a redo overwrites them),
 *   3. writes the join state as of the boundary,
 *   4. checkpoints the boundary and the state's key.
 * A crash anywhere before 4 resumes from the previous checkpoint and state, reprocesses the same
 * records up to the recorded boundary and rewrites the same objects with the same bytes.
 */
export interface LakeProcessorOptions {
  kinesis: KinesisClient;
  streamName: string;
  store: LakeStore;
  checkpoints: CheckpointStore;
  /** Checkpoint group (one per independent reader of the stream). Default 'lake'. */
  group?: string;
  /** Flush a shard at least this often while records come in. Default 60 s. */
  flushIntervalMs?: number;
  /** Flush a shard after this many records. Default 50,000. */
  flushMaxRecords?: number;
  join?: JoinOptions;
  /** Where to start a shard that has no checkpoint and no parent state. Default TRIM_HORIZON. */
  initialPosition?: 'TRIM_HORIZON' | 'LATEST';
  logger?: Logger;
  /** Test hook: runs after a flush's objects and state are written, before the checkpoint. */
  beforeCheckpoint?: (batch: FlushBatch) => void | Promise<void>;
  /** Called after each durable flush (metrics, tests). */
  onFlush?: (batch: FlushBatch, objects: string[]) => void;
}

interface ShardRun {
  pipeline: ShardPipeline;
  /** The checkpointed position and its version (optimistic concurrency). */
  checkpointSeq?: string;
  stateKey?: string;
  version: number;
  /** A flush boundary recorded before a crash: flush exactly there, not earlier or later. */
  forcedEnd?: string;
  lastFlushAt: number;
}

export class LakeProcessor {
  private readonly shards = new Map<string, ShardRun>();
  private readonly log: Logger;
  private readonly group: string;
  private readonly flushIntervalMs: number;
  private readonly flushMaxRecords: number;
  private consumer?: StreamConsumer;
  private shardInfo?: Awaited<ReturnType<typeof listShards>>;

  constructor(private readonly opts: LakeProcessorOptions) {
    this.log = opts.logger ?? silentLogger;
    this.group = opts.group ?? 'lake';
    this.flushIntervalMs = opts.flushIntervalMs ?? 60_000;
    this.flushMaxRecords = opts.flushMaxRecords ?? 50_000;
  }

  /** Runs until `stop()`; rejects if a flush cannot be made durable (nothing is checkpointed then). */
  async run(): Promise<void> {
    this.consumer = new StreamConsumer({
      kinesis: this.opts.kinesis,
      streamName: this.opts.streamName,
      logger: this.log,
      startFor: (shardId) => this.startFor(shardId),
      handler: {
        onRecords: (shardId, records) => this.onRecords(shardId, records),
        onShardEnd: (shardId) => this.onShardEnd(shardId),
        onIdle: (shardId) => this.onIdle(shardId),
      },
    });
    await this.consumer.run();
  }

  /** Stops reading, then flushes and checkpoints every shard (a drain, not an abort). */
  async stop(): Promise<void> {
    await this.consumer?.stop();
    for (const [shardId, run] of this.shards) {
      if (!run.forcedEnd) await this.flush(shardId, run, false);
    }
  }

  private async startFor(shardId: string): Promise<ConsumerStart> {
    const cp = await this.opts.checkpoints.get(this.group, shardId);
    const data = (cp?.data ?? {}) as { stateKey?: string; pendingEnd?: string };
    let snapshots: JoinSnapshot[] = [];
    if (data.stateKey) {
      snapshots = [await this.opts.store.getState(data.stateKey)];
    } else if (!cp) {
      snapshots = await this.parentStates(shardId);
    }
    const run: ShardRun = {
      pipeline: new ShardPipeline(shardId, EventJoin.restore(snapshots, this.opts.join)),
      checkpointSeq: cp?.sequenceNumber,
      stateKey: data.stateKey,
      version: cp?.version ?? 0,
      forcedEnd: data.pendingEnd,
      lastFlushAt: Date.now(),
    };
    this.shards.set(shardId, run);
    this.log.info({ shardId, checkpoint: cp?.sequenceNumber, ended: cp?.ended, pendingEnd: data.pendingEnd, restoredState: snapshots.length }, 'shard start');
    if (cp?.ended) return { type: 'SHARD_END' };
    if (cp?.sequenceNumber) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: cp.sequenceNumber };
    return this.opts.initialPosition === 'LATEST' ? { type: 'LATEST' } : { type: 'TRIM_HORIZON' };
  }

  /** After a reshard, a child starts from its parents' final join state (they were read to their end first). */
  private async parentStates(shardId: string): Promise<JoinSnapshot[]> {
    this.shardInfo ??= await listShards(this.opts.kinesis, this.opts.streamName);
    const shard = this.shardInfo.find((s) => s.ShardId === shardId);
    if (!shard) this.shardInfo = await listShards(this.opts.kinesis, this.opts.streamName);
    const s = (this.shardInfo ?? []).find((x) => x.ShardId === shardId);
    const parents = [s?.ParentShardId, s?.AdjacentParentShardId].filter((p): p is string => !!p);
    const out: JoinSnapshot[] = [];
    for (const p of parents) {
      const pcp = await this.opts.checkpoints.get(this.group, p);
      const key = (pcp?.data as { stateKey?: string } | undefined)?.stateKey;
      if (key) out.push(await this.opts.store.getState(key));
    }
    return out;
  }

  private async onRecords(shardId: string, records: readonly LakeInputRecord[]): Promise<void> {
    const run = this.shards.get(shardId)!;
    for (const r of records) {
      run.pipeline.push(r);
      if (run.forcedEnd !== undefined) {
        if (compareSeq(r.sequenceNumber, run.forcedEnd) >= 0) await this.flush(shardId, run, false);
      } else if (run.pipeline.buffered >= this.flushMaxRecords) {
        await this.flush(shardId, run, false);
      }
    }
    if (run.forcedEnd === undefined && Date.now() - run.lastFlushAt >= this.flushIntervalMs) await this.flush(shardId, run, false);
  }

  private async onIdle(shardId: string): Promise<void> {
    const run = this.shards.get(shardId);
    if (run && run.forcedEnd === undefined && run.pipeline.buffered > 0 && Date.now() - run.lastFlushAt >= this.flushIntervalMs) {
      await this.flush(shardId, run, false);
    }
  }

  private async onShardEnd(shardId: string): Promise<void> {
    const run = this.shards.get(shardId)!;
    await this.flush(shardId, run, true);
  }

  private async flush(shardId: string, run: ShardRun, ended: boolean): Promise<void> {
    run.lastFlushAt = Date.now();
    const batch = run.pipeline.take();
    if (!batch) {
      if (ended) await this.checkpoint(shardId, run, { sequenceNumber: run.checkpointSeq, ended, data: { stateKey: run.stateKey } });
      return;
    }
    const redo = run.forcedEnd !== undefined;
    if (!redo) await this.checkpoint(shardId, run, { sequenceNumber: run.checkpointSeq, data: { stateKey: run.stateKey, pendingEnd: batch.lastSeq } });
    const objects = objectsOf(batch);
    await this.opts.store.putAll(objects);
    const stateKey = this.opts.store.stateKey(this.group, shardId, batch.lastSeq);
    await this.opts.store.putState(stateKey, run.pipeline.join.snapshot());
    await this.opts.beforeCheckpoint?.(batch);
    await this.checkpoint(shardId, run, { sequenceNumber: batch.lastSeq, ended, data: { stateKey } });
    run.checkpointSeq = batch.lastSeq;
    run.stateKey = stateKey;
    run.forcedEnd = undefined;
    const c = run.pipeline.join.counters;
    this.log.info(
      { shardId, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, records: batch.records, rows: batch.events.length, errors: batch.errors.length, objects: objects.length, redo, duplicates: c.duplicates, late: c.late, unmatched: c.unmatched, expired: c.expired, evicted: c.evicted, pending: run.pipeline.join.pendingCount, state: run.pipeline.join.stateSize },
      'flush',
    );
    if (batch.errors.length > 0) this.log.warn({ shardId, errors: batch.errors.length, reasons: [...new Set(batch.errors.map((e) => e.reason))].slice(0, 5) }, 'records failed validation; kept under the error prefix');
    this.opts.onFlush?.(batch, objects.map((o) => o.key));
  }

  private async checkpoint(shardId: string, run: ShardRun, cp: Omit<Checkpoint, 'version' | 'updatedAt'>): Promise<void> {
    const saved = await this.opts.checkpoints.put(this.group, shardId, cp, run.version > 0 ? run.version : undefined);
    run.version = saved.version;
  }
}
