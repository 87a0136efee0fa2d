import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import type { CheckpointStore } from '../consumer/checkpoint-store.js';
import { fromKinesisStreamRecord, type KinesisBatchHandler, type ShardRecord } from '../runtime/kinesis-event.js';
import { flushRecords } from './flush.js';
import { HeadStore, samePending, type Head, type PendingFlush } from './head.js';
import { EventJoin, type JoinOptions } from './join.js';
import type { LakeStore } from './lake-store.js';
import { ShardLineage } from './lineage.js';
import type { FlushBatch } from './shard-pipeline.js';
import { StartStates } from './start-state.js';

/**
 * The lake processor as a handler of the Lambda Kinesis event contract: one invocation = one batch of
 * one shard = one flush (two when it first redoes a crashed flush). Nothing is kept in memory between
 * invocations but a warm cache of the join, used only when the shard's head is exactly the version
 * the cache was saved with.
 *
 * State outside the function, per shard:
 * - the head (checkpoint table, group `lake-head`): `lastSeq` (last committed record), `stateKey`
 *   (the join state as of `lastSeq`, an S3 object) and, while a flush is in the air, `pending`
 *   {first, last, keys, stateKey}. Every head write is conditional on the version read.
 * - the objects (keys from shard + first/last sequence number: `objectsOf`) and state objects.
 *
 * A flush of records R = [first, last] from head H (version v):
 *   1. compute the objects of R from the state at H (pure: same records + same state → same keys, bytes);
 *   2. if H has a pending flush that this flush does not reproduce, delete its objects and state
 *      (they were never committed);
 *   3. record pending {first, last, keys, stateKey} (conditional on v);
 *   4. write the objects, then the state as of `last`;
 *   5. move the head to {lastSeq: last, stateKey} (conditional) — the commit.
 *
 * Why each record's output is committed exactly once (the mapping delivers at least once, in shard
 * order, retries a failed batch from its first record, may bisect it, and may redeliver anything):
 * - Committed output is exactly the objects of the flushes whose head move succeeded; those flushes
 *   tile the shard's records up to `lastSeq` without overlap, because each one takes only records
 *   > `lastSeq` (a duplicate delivery, a redelivery after a partial failure or a batch overlapping
 *   the head drops what is already committed) and the conditional move fails if another invocation
 *   moved the head in between (the batch is then retried and its committed records dropped).
 * - A crash (or a throw: S3/DynamoDB failure, the test hook) anywhere before 5 leaves the head at H:
 *   nothing of R is committed and R is delivered again. Its objects may already be in the lake, but
 *   they are recorded in `pending` (step 3 precedes step 4). On the next delivery:
 *     - if the batch starts at `pending.first` and reaches `pending.last`, exactly that range is
 *       flushed first from the same state: same keys, same bytes, overwritten (readers saw the same
 *       rows before and after); the rest of the batch is a second flush;
 *     - otherwise (bisected, shorter, or the mapping skipped the batch and moved on), step 2 deletes
 *       the pending objects before anything new is recorded, and the batch is a new flush. A crash
 *       during the deletes leaves `pending` recorded: the next delivery deletes again (idempotent).
 *   Either way no object of an uncommitted range survives under a key the committed ranges do not own.
 * - A state object is written before the head names it and never changes once named (its key holds
 *   `last`, and a flush of the same range from the same state writes the same state).
 * - A child shard (no head) starts from its parents' final states (the mapping reads parents to their
 *   end first), keeping only the waiting receipts whose partition key hashes into its range: after a
 *   split a receipt waiting for its dispatch is held, and written, by one child only. A parent that
 *   ended with a pending flush (its last batch skipped to the on-failure destination) has it deleted.
 * - Invalid records are output too (`errors/`, with the reason): they never fail the batch. Any
 *   S3/DynamoDB/Kinesis error throws, so the batch is retried whole; nothing is skipped here.
 * Requirements on the mapping: ParallelizationFactor 1 (one batch of a shard at a time; a second
 * would only fail its conditional head writes), and parents before children (both hold on AWS and in
 * `LocalEventSourceMapping`).
 */
export interface LakeHandlerOptions {
  store: LakeStore;
  /** The checkpoint table; the heads are items of group `headGroup`. */
  heads: CheckpointStore;
  /** Default 'lake-head'. State objects are under `state/<headGroup>/<shard>/`. */
  headGroup?: string;
  /** For ListShards (a child's parents and hash range). */
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  join?: JoinOptions;
  logger?: Logger;
  /** Keep each shard's join in memory between invocations (used only when its head is unchanged). Default true. */
  warmCache?: boolean;
  /** Test hook: runs after a flush's objects and state are written, before the head moves. */
  beforeCommit?: (info: CommitInfo) => Promise<void>;
  /** Called after each committed flush (metrics, tests). */
  onFlush?: (batch: FlushBatch, keys: string[], info: { redo: boolean }) => void;
}

export interface CommitInfo {
  shardId: string;
  firstSeq: string;
  lastSeq: string;
  records: number;
  keys: string[];
  stateKey: string;
  redo: boolean;
}

interface Warm {
  version: number;
  updatedAt?: string;
  join: EventJoin;
}

export const DEFAULT_HEAD_GROUP = 'lake-head';

export function createLakeHandler(opts: LakeHandlerOptions): KinesisBatchHandler {
  const log = opts.logger ?? silentLogger;
  const group = opts.headGroup ?? DEFAULT_HEAD_GROUP;
  const heads = new HeadStore(opts.heads, group);
  const lineage = new ShardLineage(opts.kinesis, opts.streamName);
  const starts = new StartStates({
    store: opts.store,
    heads,
    lineage,
    join: opts.join,
    abandonParentPending: true,
    logger: log,
  });
  const warm = new Map<string, Warm>();
  const useCache = opts.warmCache ?? true;

  /**
   * The join as of the head: the warm copy if the head did not move since, else the state object, else the parents'.
   */
  async function joinAt(shardId: string, head: Head): Promise<EventJoin> {
    const w = warm.get(shardId);
    warm.delete(shardId); // a failed flush leaves it half-advanced: never reuse it then
    if (w && w.version === head.version && w.updatedAt === head.updatedAt) return w.join;
    if (head.stateKey) return EventJoin.restore([await opts.store.getState(head.stateKey)], opts.join);
    return (await starts.initial(shardId)).join;
  }

  async function flush(
    shardId: string,
    head: Head,
    join: EventJoin,
    records: readonly ShardRecord[],
    redo: boolean,
  ): Promise<Head> {
    const { batch, objects } = flushRecords(shardId, join, records);
    const keys = objects.map((o) => o.key);
    const stateKey = opts.store.stateKey(group, shardId, batch.lastSeq);
    const pending: PendingFlush = { first: batch.firstSeq, last: batch.lastSeq, keys, stateKey };
    if (head.pending && !samePending(head.pending, pending)) {
      const keep = new Set([...keys, stateKey]);
      const stale = [...head.pending.keys, head.pending.stateKey].filter((k) => !keep.has(k));
      for (const key of stale) await opts.store.delete(key);
      log.warn(
        {
          shardId,
          pendingFirst: head.pending.first,
          pendingLast: head.pending.last,
          firstSeq: batch.firstSeq,
          lastSeq: batch.lastSeq,
          deleted: stale.length,
        },
        'abandoned an uncommitted flush (batch bisected, shorter, or skipped): its objects are deleted',
      );
    }
    let recorded = head;
    if (!samePending(head.pending, pending))
      recorded = await heads.put(shardId, head, { lastSeq: head.lastSeq, stateKey: head.stateKey, pending });
    await opts.store.putAll(objects);
    await opts.store.putState(stateKey, join.snapshot());
    await opts.beforeCommit?.({
      shardId,
      firstSeq: batch.firstSeq,
      lastSeq: batch.lastSeq,
      records: batch.records,
      keys,
      stateKey,
      redo,
    });
    const committed = await heads.put(shardId, recorded, { lastSeq: batch.lastSeq, stateKey });
    const c = join.counters;
    log.info(
      {
        shardId,
        firstSeq: batch.firstSeq,
        lastSeq: batch.lastSeq,
        records: batch.records,
        rows: batch.events.length,
        errors: batch.errors.length,
        objects: objects.length,
        redo,
        duplicates: c.duplicates,
        late: c.late,
        unmatched: c.unmatched,
        expired: c.expired,
        evicted: c.evicted,
        pending: join.pendingCount,
        state: join.stateSize,
      },
      'flush',
    );
    if (batch.errors.length > 0)
      log.warn(
        { shardId, errors: batch.errors.length, reasons: [...new Set(batch.errors.map((e) => e.reason))].slice(0, 5) },
        'records failed validation; kept under the error prefix',
      );
    opts.onFlush?.(batch, keys, { redo });
    return committed;
  }

  async function handleShard(shardId: string, records: ShardRecord[]): Promise<void> {
    let head = await heads.get(shardId);
    const fresh =
      head.lastSeq === undefined
        ? records
        : records.filter((r) => compareSequenceNumbers(r.sequenceNumber, head.lastSeq!) > 0);
    if (fresh.length < records.length)
      log.info(
        { shardId, dropped: records.length - fresh.length, lastSeq: head.lastSeq },
        'records already committed: dropped',
      );
    if (fresh.length === 0) return;
    const join = await joinAt(shardId, head);
    let rest = fresh;
    const p = head.pending;
    if (p && rest[0].sequenceNumber === p.first) {
      const end = rest.findIndex((r) => r.sequenceNumber === p.last);
      if (end >= 0) {
        head = await flush(shardId, head, join, rest.slice(0, end + 1), true);
        rest = rest.slice(end + 1);
      }
    }
    if (rest.length > 0) head = await flush(shardId, head, join, rest, false);
    if (useCache) warm.set(shardId, { version: head.version, updatedAt: head.updatedAt, join });
  }

  return async (event) => {
    const byShard = new Map<string, ShardRecord[]>(); // one shard per event on AWS; tolerate more
    for (const r of event.Records ?? []) {
      const rec = fromKinesisStreamRecord(r);
      const list = byShard.get(rec.shardId);
      if (list) list.push(rec);
      else byShard.set(rec.shardId, [rec]);
    }
    for (const [shardId, list] of byShard) {
      list.sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
      await handleShard(
        shardId,
        list.filter((r, i) => i === 0 || r.sequenceNumber !== list[i - 1].sequenceNumber),
      );
    }
    return { batchItemFailures: [] };
  };
}
