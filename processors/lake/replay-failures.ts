import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { RAW_TABLE } from '../../schemas/lake.js';
import { utcDate } from '../../schemas/time.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import type { CheckpointStore } from '../consumer/checkpoint-store.js';
import { ShardReader } from '../consumer/shard-reader.js';
import type { EventRow } from '../../schemas/lake.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import { BackfillError } from './errors.js';
import { FAILURE_PREFIX, readFailures, type FailedRange } from './failures.js';
import { flushRecords } from './flush.js';
import { DEFAULT_HEAD_GROUP } from './handler.js';
import { HeadStore, uncommittedKeys } from './head.js';
import type { EventJoin, JoinOptions } from './join.js';
import type { LakeStore } from './lake-store.js';
import { ShardLineage } from './lineage.js';
import { objectsOf, parseObjectKey } from './objects.js';
import { ReplayStart } from './replay-start.js';
import { ShardPipeline, type LakeInputRecord } from './shard-pipeline.js';

/**
 * `make backfill FAILURES=1`: replays the batches the mapping gave up on (its on-failure records under
 * `failures/lake/`, AWS's Kinesis on-failure JSON) through the handler's flush code.
 *
 * For each record: read [startSequenceNumber, endSequenceNumber] of its shard from the stream; drop
 * the records a committed flush already wrote (a batch can fail after its first flush committed: a
 * redo followed by a failing remainder), known from the raw archive's keys on the records' arrival
 * days (a shard's pending, uncommitted flush does not count); flush the rest as one range from the
 * state the live handler committed just before it. Only the rows of the range's own records are
 * written (a receipt that was waiting before the range is the live path's to write); a receipt of the
 * range still waiting at its end is followed through the records after it (read, never written) until
 * its dispatch comes or the watermark releases it — or, at the stream's tip, released `unmatched`.
 * The objects get keys from the shard and that range: a second run rewrites the same keys with the
 * same bytes. It writes no head and no state (the live path has moved past the range), and leaves the
 * on-failure records where they are. (An event id the live path also wrote after the range — a
 * provider's redelivery — is in both; the views read each event id once.)
 */
export interface ReplayFailuresOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  store: LakeStore;
  heads: CheckpointStore;
  /** Default 'lake-head'. */
  group?: string;
  /** Default FAILURE_PREFIX (`failures/lake/`); on AWS, the S3 on-failure destination's prefix. */
  prefix?: string;
  join?: JoinOptions;
  logger?: Logger;
  progress?: (line: string) => void;
}

export interface FailureReplay {
  key: string;
  shardId: string;
  /** Records of the failed range read from the stream. */
  records: number;
  /** Of those, already written by a committed flush. */
  committed: number;
  /** The range replayed (undefined when nothing was left to replay). */
  firstSeq?: string;
  lastSeq?: string;
  rows: number;
  errors: number;
  keys: string[];
}

/**
 * Feeds the records after `lastSeq` to `join` until no receipt satisfying `ours` waits; returns the
 * rows of `ours` released on the way (at the tip, the rest are released unmatched).
 */
async function followUp(
  opts: ReplayFailuresOptions,
  shardId: string,
  lastSeq: string,
  join: EventJoin,
  ours: (row: EventRow) => boolean,
): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  if (join.waiting(ours) === 0) return rows;
  const scratch = new ShardPipeline(shardId, join); // decodes and joins; its raw rows are dropped
  const reader = new ShardReader({
    kinesis: opts.kinesis,
    streamName: opts.streamName,
    shardId,
    start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: lastSeq },
    minCallIntervalMs: 0,
    idleDelayMs: 0,
  });
  for (;;) {
    const { records, ended, millisBehindLatest } = await reader.next();
    for (const r of records) {
      scratch.push(r);
      rows.push(...join.drain().filter(ours));
      if (join.waiting(ours) === 0) return rows;
    }
    scratch.take();
    if (ended || (records.length === 0 && (millisBehindLatest ?? 0) === 0)) break;
  }
  join.releaseWaiting(ours);
  rows.push(...join.drain().filter(ours));
  return rows;
}

async function readRange(opts: ReplayFailuresOptions, f: FailedRange): Promise<LakeInputRecord[]> {
  const reader = new ShardReader({
    kinesis: opts.kinesis,
    streamName: opts.streamName,
    shardId: f.shardId,
    start: { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: f.startSequenceNumber },
    minCallIntervalMs: 0,
    idleDelayMs: 0,
  });
  const out: LakeInputRecord[] = [];
  for (;;) {
    const { records, ended, millisBehindLatest } = await reader.next();
    for (const r of records) {
      if (compareSequenceNumbers(r.sequenceNumber, f.endSequenceNumber) > 0) return out;
      out.push(r);
    }
    if (
      out.at(-1)?.sequenceNumber === f.endSequenceNumber ||
      ended ||
      (records.length === 0 && (millisBehindLatest ?? 0) === 0)
    )
      return out;
  }
}

export async function replayFailures(opts: ReplayFailuresOptions): Promise<FailureReplay[]> {
  const log = opts.logger ?? silentLogger;
  const say = opts.progress ?? (() => {});
  const group = opts.group ?? DEFAULT_HEAD_GROUP;
  const heads = new HeadStore(opts.heads, group);
  const start = new ReplayStart({
    store: opts.store,
    group,
    heads,
    lineage: new ShardLineage(opts.kinesis, opts.streamName),
    join: opts.join,
    logger: log,
  });
  const failures = (await readFailures(opts.store, opts.prefix ?? FAILURE_PREFIX)).sort((a, b) =>
    a.shardId !== b.shardId
      ? a.shardId < b.shardId
        ? -1
        : 1
      : compareSequenceNumbers(a.startSequenceNumber, b.startSequenceNumber),
  );
  const out: FailureReplay[] = [];
  for (const f of failures) {
    let records: LakeInputRecord[];
    try {
      records = await readRange(opts, f);
    } catch (cause) {
      throw new BackfillError(
        `${f.key}: cannot read ${f.shardId} ${f.startSequenceNumber}..${f.endSequenceNumber} from the stream`,
        { cause },
      );
    }
    if (
      records[0]?.sequenceNumber !== f.startSequenceNumber ||
      records.at(-1)?.sequenceNumber !== f.endSequenceNumber
    ) {
      throw new BackfillError(
        `${f.key}: the stream no longer holds ${f.shardId} ${f.startSequenceNumber}..${f.endSequenceNumber} ` +
          `(past retention?)`,
      );
    }

    // Committed flushes overlapping the range, from the raw archive (every flush archives its records by arrival day).
    const head = await start.head(f.shardId);
    const ranges: { first: string; last: string; epoch: number }[] = [];
    const dead = uncommittedKeys(head);
    for (const dt of new Set(records.map((r) => utcDate(r.arrivalTime)))) {
      for (const { key } of await opts.store.list(`${RAW_TABLE.prefix}dt=${dt}/${f.shardId}-`)) {
        const k = parseObjectKey(key);
        if (!k || k.shardId !== f.shardId || dead.has(key)) continue; // not committed
        ranges.push({ first: k.firstSeq, last: k.lastSeq, epoch: k.epoch });
      }
    }
    const isCommitted = (seq: string) =>
      ranges.some((r) => compareSequenceNumbers(seq, r.first) >= 0 && compareSequenceNumbers(seq, r.last) <= 0);
    const todo = records.filter((r) => !isCommitted(r.sequenceNumber));
    const report: FailureReplay = {
      key: f.key,
      shardId: f.shardId,
      records: records.length,
      committed: records.length - todo.length,
      rows: 0,
      errors: 0,
      keys: [],
    };
    out.push(report);
    if (todo.length === 0) {
      say(`${f.key}: all ${records.length} records already committed; nothing to replay`);
      continue;
    }
    const join = await start.before(
      f.shardId,
      todo[0].sequenceNumber,
      ranges.map((r) => ({ lastSeq: r.last, epoch: r.epoch })),
    );
    const { batch } = flushRecords(f.shardId, join, todo);
    const mine = new Set(todo.map((r) => r.sequenceNumber));
    const ours = (row: EventRow) => row.shard_id === f.shardId && mine.has(row.sequence_number);
    batch.events = [...batch.events.filter(ours), ...(await followUp(opts, f.shardId, batch.lastSeq, join, ours))];
    // Named past every epoch an abandoned flush of this range had: the head's second sweep of those keys must not
    // delete these objects.
    const epoch =
      Math.max(
        -1,
        ...(head?.abandoned ?? [])
          .filter((a) => a.first === batch.firstSeq && a.last === batch.lastSeq)
          .map((a) => a.epoch),
      ) + 1;
    const objects = objectsOf(batch, epoch);
    await opts.store.putAll(objects);
    Object.assign(report, {
      firstSeq: batch.firstSeq,
      lastSeq: batch.lastSeq,
      rows: batch.events.length,
      errors: batch.errors.length,
      keys: objects.map((o) => o.key),
    });
    log.info(
      {
        failure: f.key,
        shardId: f.shardId,
        firstSeq: batch.firstSeq,
        lastSeq: batch.lastSeq,
        records: todo.length,
        committed: report.committed,
        rows: batch.events.length,
        objects: objects.length,
      },
      'failed batch replayed',
    );
    say(
      `${f.key}: replayed ${todo.length} records (${report.committed} already committed), ` +
        `${objects.length} objects written`,
    );
  }
  return out;
}
