import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { CheckpointConflictError, type CheckpointStore } from '../consumer/checkpoint-store.js';
import { crashpoint } from '../runtime/crashpoint.js';
import { fromKinesisStreamRecord, type KinesisBatchHandler, type ShardRecord } from '../runtime/kinesis-event.js';
import { StateSnapshotError } from './errors.js';
import { flushRecords } from './flush.js';
import {
  abandonPending,
  fateOf,
  HeadStore,
  MAX_ABANDONED,
  samePending,
  type AbandonedFlush,
  type Head,
  type PendingFlush,
} from './head.js';
import { EventJoin, type JoinOptions } from './join.js';
import type { LakeStore } from './lake-store.js';
import { ShardLineage } from './lineage.js';
import { objectsOf, type LakeObject } from './objects.js';
import { recoverState, type RecoveredState } from './recover-state.js';
import type { FlushBatch } from './shard-pipeline.js';
import { StartStates } from './start-state.js';
import { Ticker, type TickOptions } from './ticks.js';

/**
 * The lake processor as a handler of the Lambda Kinesis event contract: one invocation = one batch of
 * one shard = one flush (two when it first redoes a crashed flush). Nothing is kept in memory between
 * invocations but a warm cache of the join, used only when the shard's head is exactly the version
 * the cache was saved with.
 *
 * State outside the function, per shard:
 * - the head (checkpoint table, group `lake-head`): `lastSeq` (last committed record), `stateKey`
 *   (the join state as of `lastSeq`, an S3 object), while a flush is in the air `pending`
 *   {first, last, keys, stateKey, epoch}, the abandon `epoch` (how many pending flushes were ever
 *   replaced without being committed) and `abandoned` (the recent ones: keys still to delete, and a
 *   record). Every head write is conditional on the version read.
 * - the objects (keys from shard + first/last sequence number + epoch: `objectsOf`) and state objects
 *   (keys from shard + last sequence number + epoch).
 *
 * A flush of records R = [first, last] from head H (version v, epoch e):
 *   1. compute the objects of R from the state at H (pure: same records + state + epoch → same keys, bytes);
 *   2. if H.pending is this very flush (a redo), keep it. Else record pending {R, keys, stateKey} with a
 *      conditional write on v; if H had another pending flush, the same write abandons it: epoch e+1
 *      (R's keys are named in e+1), and H.pending joins `abandoned`;
 *   3. only now (the write is won) delete the keys of `abandoned` not yet deleted;
 *   4. write the objects, then the state as of `last`;
 *   5. move the head to {lastSeq: last, stateKey, epoch, abandoned} (conditional) — the commit.
 *   If the commit loses (another writer moved the head), read the head: if this flush was abandoned
 *   (`abandoned` holds its epoch and range), delete its own objects and state; else leave them (a
 *   twin writer committed the same keys and bytes). Then throw: the batch is retried.
 *
 * Why no committed object is ever deleted, even with two writers on one shard (a zombie, a second
 * service): keys are deleted only if they are listed in `abandoned` of a head version some writer won,
 * or by the writer that recorded them after it sees them abandoned. A pending flush is committed only
 * by a commit conditional on the version that holds it as `pending`; the one write that wins that
 * version either commits it or abandons it, never both. Once abandoned, its keys can never be
 * recorded again: every later pending flush is named in a later epoch. So an abandoned key is dead
 * for good, and deleting it — by anyone, any number of times, in any order — is safe; and a state
 * object a head names as `stateKey` is never deleted.
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
 *   they are recorded in `pending` (step 2 precedes step 4). On the next delivery:
 *     - if the batch starts at `pending.first` and reaches `pending.last`, exactly that range is
 *       flushed first from the same state: same keys, same bytes, overwritten (readers saw the same
 *       rows before and after); the rest of the batch is a second flush;
 *     - otherwise (bisected, shorter, or the mapping skipped the batch and moved on), step 2 abandons
 *       the pending flush and step 3 deletes its objects. A crash between the two leaves them listed in
 *       `abandoned`: the next writer deletes them (idempotent).
 *   Either way no object of an uncommitted range survives under a key the committed ranges do not own.
 * - A writer that loses a race after writing (its pending flush abandoned by another) deletes what it
 *   wrote (5). One that is killed in that window, after the other's deletes, leaves orphans: each
 *   abandoned flush's keys are deleted a second time `abandonGraceMs` after it was abandoned, by the
 *   first commit past then. Only a writer frozen longer than that, then killed before its commit
 *   fails, can leave an orphan (its range is in the head's `abandoned` record and in the logs).
 * - A state object is written before the head names it and never changes once named (its key holds
 *   `last` and the epoch, and a flush of the same range from the same state writes the same state).
 *   A head whose state object is missing anyway (deleted by a writer before this fencing, or by hand)
 *   does not jam its shard: the state is rebuilt from an older state object and the stream
 *   (`recoverState`), or the join restarts empty with an error log and `onStateRecovered`.
 * - A child shard (no head) starts from its parents' final states (the mapping reads parents to their
 *   end first), keeping only the waiting receipts whose partition key hashes into its range: after a
 *   split a receipt waiting for its dispatch is held, and written, by one child only. A parent that
 *   ended with a pending flush (its last batch skipped to the on-failure destination) has it abandoned
 *   (a won head write) and then deleted.
 * - Invalid records are output too (`errors/`, with the reason): they never fail the batch. Any
 *   S3/DynamoDB/Kinesis error throws, so the batch is retried whole; nothing is skipped here.
 * - With `ticks`: after the commit (never before: a tick reflects a durable state), if receipts still
 *   wait for their dispatch, ticks are put on the stream keyed by their partition keys (ticks.ts), so a
 *   shard with no other traffic still gets the arrival that releases them. A failed put is logged and
 *   the batch succeeds: the receipts are in the committed state, and the shard's next flush ticks again.
 * Requirements on the mapping: parents before children (holds on AWS and in `LocalEventSourceMapping`).
 * ParallelizationFactor 1 is expected (one batch of a shard at a time); a second writer on a shard
 * (a zombie, a second service) only makes conditional head writes fail and batches retry.
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
  /** Called when a head's state object was missing and the join was rebuilt or restarted empty (metrics, tests). */
  onStateRecovered?: (info: { shardId: string; stateKey: string } & Omit<RecoveredState, 'join'>) => void;
  /**
   * How long after an abandonment its keys are deleted a second time (catching a slow writer's late
   * puts). Default 300,000 (5 minutes).
   */
  abandonGraceMs?: number;
  /** Clock (ms) for the abandonment times and the ticks' event time. Default Date.now. */
  now?: () => number;
  /**
   * Put ticks after a committed flush that leaves receipts waiting (ticks.ts), on `streamName` with `kinesis`.
   * The live handler only (wiring.ts); absent: none (tests that compare lakes without them).
   */
  ticks?: TickOptions;
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
  const now = opts.now ?? Date.now;
  const graceMs = opts.abandonGraceMs ?? 300_000;
  const ticker = opts.ticks
    ? new Ticker({ ...opts.ticks, kinesis: opts.kinesis, streamName: opts.streamName, logger: log, now })
    : undefined;

  /**
   * The join as of the head: the warm copy if the head did not move since, else the state object, else the parents'.
   */
  async function joinAt(shardId: string, head: Head): Promise<EventJoin> {
    const w = warm.get(shardId);
    warm.delete(shardId); // a failed flush leaves it half-advanced: never reuse it then
    if (w && w.version === head.version && w.updatedAt === head.updatedAt) return w.join;
    if (!head.stateKey) return (await starts.initial(shardId)).join;
    try {
      return EventJoin.restore([await opts.store.getState(head.stateKey)], opts.join);
    } catch (err) {
      if (!(err instanceof StateSnapshotError && err.missing)) throw err;
      return recoverJoin(shardId, head, head.stateKey);
    }
  }

  /** The head names a state object that is gone: rebuild it (and put it back), never jam the shard. */
  async function recoverJoin(shardId: string, head: Head, stateKey: string): Promise<EventJoin> {
    log.error({ shardId, stateKey, lastSeq: head.lastSeq }, 'the head names a missing join state: rebuilding it');
    const r = await recoverState(
      {
        store: opts.store,
        group,
        kinesis: opts.kinesis,
        streamName: opts.streamName,
        starts,
        join: opts.join,
        logger: log,
      },
      shardId,
      head,
    );
    const snapshot = r.join.snapshot();
    await opts.store.putState(stateKey, snapshot); // the head names it: it exists again (same state as of lastSeq)
    const info = { shardId, stateKey, how: r.how, records: r.records, base: r.base };
    if (r.how === 'stream') log.warn(info, 'join state rebuilt from an older state and the stream');
    else log.error(info, 'join state could not be rebuilt: the join restarted empty');
    opts.onStateRecovered?.(info);
    return EventJoin.restore([snapshot], opts.join);
  }

  /**
   * Deletes the abandoned keys of a head this writer won (or read, for a redo): the first time right
   * away, a second time once the grace is over (then only the record stays). Keeps MAX_ABANDONED
   * entries. Safe at any time: abandoned keys are never committed (see above).
   */
  async function sweep(head: Head): Promise<AbandonedFlush[]> {
    const t = now();
    const out: AbandonedFlush[] = [];
    for (const a of head.abandoned) {
      if (!a.deleted) {
        await deleteAll(a.keys);
        out.push({ ...a, deleted: true });
      } else if (a.keys.length > 0 && t >= a.at + graceMs) {
        await deleteAll(a.keys);
        out.push({ ...a, keys: [] });
      } else out.push(a);
    }
    while (out.length > MAX_ABANDONED) await deleteAll(out.shift()!.keys);
    return out;
  }

  async function deleteAll(keys: readonly string[]): Promise<void> {
    for (const key of keys) await opts.store.delete(key);
  }

  const pendingOf = (batch: FlushBatch, objects: LakeObject[], epoch: number): PendingFlush => ({
    first: batch.firstSeq,
    last: batch.lastSeq,
    keys: objects.map((o) => o.key),
    stateKey: opts.store.stateKey(group, batch.shardId, batch.lastSeq, epoch),
    ...(epoch > 0 ? { epoch } : {}),
  });

  /** This writer's commit lost: if its flush was abandoned meanwhile, what it wrote is dead: delete it. */
  async function afterLostCommit(shardId: string, mine: PendingFlush): Promise<void> {
    const head = await heads.get(shardId);
    const fate = fateOf(head, mine);
    if (fate === 'abandoned') {
      await deleteAll([...mine.keys, mine.stateKey]);
      log.warn(
        { shardId, first: mine.first, last: mine.last, epoch: mine.epoch ?? 0, deleted: mine.keys.length + 1 },
        'another writer abandoned this flush before its commit: its objects are deleted',
      );
    } else if (fate === 'unknown')
      log.error(
        { shardId, first: mine.first, last: mine.last, epoch: mine.epoch ?? 0, keys: mine.keys },
        'commit lost and the head no longer records whether this flush was abandoned: its objects are left',
      );
    else log.info({ shardId, first: mine.first, last: mine.last, fate }, 'commit lost to another writer');
  }

  async function flush(
    shardId: string,
    head: Head,
    join: EventJoin,
    records: readonly ShardRecord[],
    redo: boolean,
  ): Promise<Head> {
    const built = flushRecords(shardId, join, records, head.epoch);
    const { batch } = built;
    let objects = built.objects;
    let pending = pendingOf(batch, objects, head.epoch);
    let recorded = head;
    if (!samePending(head.pending, pending)) {
      const fence = abandonPending(head, now());
      if (fence.epoch !== head.epoch) {
        objects = objectsOf(batch, fence.epoch); // named in the new epoch: never an abandoned key
        pending = pendingOf(batch, objects, fence.epoch);
      }
      recorded = await heads.put(shardId, head, { lastSeq: head.lastSeq, stateKey: head.stateKey, pending, ...fence });
      crashpoint('lake-after-pending');
      if (head.pending)
        log.warn(
          {
            shardId,
            pendingFirst: head.pending.first,
            pendingLast: head.pending.last,
            firstSeq: batch.firstSeq,
            lastSeq: batch.lastSeq,
            epoch: fence.epoch,
          },
          'abandoned an uncommitted flush (batch bisected, shorter, skipped, or another writer): objects deleted',
        );
    }
    const abandoned = await sweep(recorded);
    crashpoint('lake-after-sweep');
    const keys = objects.map((o) => o.key);
    const stateKey = pending.stateKey;
    await opts.store.putAll(objects);
    await opts.store.putState(stateKey, join.snapshot());
    crashpoint('lake-after-objects');
    await opts.beforeCommit?.({
      shardId,
      firstSeq: batch.firstSeq,
      lastSeq: batch.lastSeq,
      records: batch.records,
      keys,
      stateKey,
      redo,
    });
    let committed: Head;
    try {
      committed = await heads.put(shardId, recorded, {
        lastSeq: batch.lastSeq,
        stateKey,
        epoch: recorded.epoch,
        abandoned,
      });
    } catch (err) {
      if (err instanceof CheckpointConflictError) await afterLostCommit(shardId, pending);
      throw err;
    }
    crashpoint('lake-after-commit');
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
        waitTimeouts: c.waitTimeouts,
        ticks: c.ticks,
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
    if (ticker && head.lastSeq !== undefined) await ticker.afterCommit(shardId, join, head.lastSeq);
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
