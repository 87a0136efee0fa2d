import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { EVENTS_TABLE, ERROR_PREFIX, RAW_TABLE } from '../../schemas/lake.js';
import { utcDate } from '../../schemas/time.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import type { CheckpointStore } from '../consumer/checkpoint-store.js';
import { listShards } from '../consumer/shards.js';
import { ShardReader } from '../consumer/shard-reader.js';
import { flushRecords } from './flush.js';
import { DEFAULT_HEAD_GROUP } from './handler.js';
import { HeadStore, uncommittedKeys } from './head.js';
import type { JoinOptions } from './join.js';
import type { LakeStore } from './lake-store.js';
import { ShardLineage } from './lineage.js';
import { parseObjectKey } from './objects.js';
import { readRawArchive } from './raw-reader.js';
import { ReplayStart } from './replay-start.js';
import type { LakeInputRecord } from './shard-pipeline.js';
import { BackfillError } from './errors.js';

/**
 * Backfill: replay what arrived in [from, to) through the lake handler's flush code and rewrite what
 * the live path wrote.
 *
 * Records come from the stream (AT_TIMESTAMP `from`) and, for what the stream no longer holds, from
 * the raw archive. The replay is widened to whole flush ranges (the live handler's batch ranges, known
 * from the raw archive's keys) and starts from the join state the live handler committed at the flush
 * before (or, for a child shard's first flush, from its parents' states filtered to its hash range,
 * as the handler starts it), so each rewritten object gets the same key and, for unchanged code, the
 * same bytes. With the heads, the replay stops at each shard's head: records past it are the live
 * path's to write (a backfill writing them in other ranges would duplicate them). A shard with no head
 * (never processed live) is cut every `flushMaxRecords` records. Objects of a replayed range that the
 * replay no longer produces (rows moved to another day) are deleted. Running it twice leaves the lake
 * identical. It writes no head and no state, and pages nobody.
 */
export interface BackfillOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  store: LakeStore;
  from: Date;
  to: Date;
  /** The heads' group (state objects under `state/<group>/`). Default 'lake-head'. */
  group?: string;
  /** The checkpoint table holding the heads (committed ranges, a child's parents). Strongly recommended. */
  heads?: CheckpointStore;
  /** Records per flush where no live flush range is known (the live batch size). Default 10,000. */
  flushMaxRecords?: number;
  join?: JoinOptions;
  logger?: Logger;
  /** Progress lines for a terminal (default: none). */
  progress?: (line: string) => void;
}

export interface BackfillReport {
  shards: number;
  records: number;
  /** Records read from the raw archive (what the stream no longer holds, and the ranges' heads). */
  inArchive: number;
  /** Records only the stream held (never archived yet). */
  onlyInStream: number;
  rows: number;
  errors: number;
  objectsWritten: number;
  objectsDeleted: number;
  keys: string[];
}

interface Range {
  firstSeq: string;
  lastSeq: string;
  /** The epoch the live flush was named in (its keys carry it; a replay rewrites the same keys). */
  epoch: number;
  rawKeys: string[];
}

const DAY = 86_400_000;

function daysBetween(fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  for (let t = Date.parse(utcDate(fromMs)); t <= toMs; t += DAY) out.push(utcDate(t));
  return out;
}

const within = (seq: string, r: { firstSeq: string; lastSeq: string }) =>
  compareSequenceNumbers(seq, r.firstSeq) >= 0 && compareSequenceNumbers(seq, r.lastSeq) <= 0;

export async function backfill(opts: BackfillOptions): Promise<BackfillReport> {
  const log = opts.logger ?? silentLogger;
  const say = opts.progress ?? (() => {});
  const group = opts.group ?? DEFAULT_HEAD_GROUP;
  const flushMax = opts.flushMaxRecords ?? 10_000;
  const start0 = new ReplayStart({
    store: opts.store,
    group,
    heads: opts.heads ? new HeadStore(opts.heads, group) : undefined,
    lineage: new ShardLineage(opts.kinesis, opts.streamName),
    join: opts.join,
    logger: log,
  });
  const from = opts.from.getTime();
  const to = opts.to.getTime();
  if (!(from < to))
    throw new BackfillError(`FROM (${opts.from.toISOString()}) must be before TO (${opts.to.toISOString()})`);

  // The live flush ranges, from the raw archive's keys (one day of margin each side), but for the
  // keys the heads name as uncommitted (a pending or abandoned flush).
  const archiveDays = daysBetween(from - DAY, to + DAY);
  const ranges = new Map<string, Map<string, Range>>();
  for (const dt of archiveDays) {
    for (const { key } of await opts.store.list(`${RAW_TABLE.prefix}dt=${dt}/`)) {
      const k = parseObjectKey(key);
      if (!k || uncommittedKeys(await start0.head(k.shardId)).has(key)) continue;
      const byName = ranges.get(k.shardId) ?? new Map<string, Range>();
      ranges.set(k.shardId, byName);
      const name = `${k.firstSeq}-${k.lastSeq}`;
      const r = byName.get(name) ?? { firstSeq: k.firstSeq, lastSeq: k.lastSeq, epoch: k.epoch, rawKeys: [] };
      if (k.epoch > r.epoch) Object.assign(r, { epoch: k.epoch, rawKeys: [] }); // an orphan of an older epoch
      if (k.epoch === r.epoch) r.rawKeys.push(key);
      byName.set(name, r);
    }
  }

  let streamShards: Awaited<ReturnType<typeof listShards>> = [];
  try {
    streamShards = await listShards(opts.kinesis, opts.streamName);
  } catch (cause) {
    log.warn({ err: cause }, 'cannot list the stream shards; replaying from the raw archive only');
  }
  const shardIds = [...new Set([...streamShards.map((s) => s.ShardId!), ...ranges.keys()])].sort();
  const report: BackfillReport = {
    shards: 0,
    records: 0,
    inArchive: 0,
    onlyInStream: 0,
    rows: 0,
    errors: 0,
    objectsWritten: 0,
    objectsDeleted: 0,
    keys: [],
  };

  for (const shardId of shardIds) {
    const shardRanges = [...(ranges.get(shardId)?.values() ?? [])].sort((a, b) =>
      compareSequenceNumbers(a.firstSeq, b.firstSeq),
    );
    const bySeq = new Map<string, LakeInputRecord>();

    // 1. The archive: every archived range of the window's days (complete ranges, by construction).
    for (const r of shardRanges) {
      for (const key of r.rawKeys)
        for (const rec of readRawArchive(await opts.store.getBytes(key))) bySeq.set(rec.sequenceNumber, rec);
    }
    const archived = bySeq.size;

    // 2. The stream from `from`, until past `to` and past the end of the range `to` falls in.
    let fromStream = 0;
    if (streamShards.some((s) => s.ShardId === shardId)) {
      const reader = new ShardReader({
        kinesis: opts.kinesis,
        streamName: opts.streamName,
        shardId,
        start: { type: 'AT_TIMESTAMP', timestamp: opts.from },
        minCallIntervalMs: 0,
        idleDelayMs: 0,
      });
      let stopAfter: string | undefined;
      for (;;) {
        const { records, ended, millisBehindLatest } = await reader.next();
        let done = false;
        for (const rec of records) {
          if (stopAfter !== undefined && compareSequenceNumbers(rec.sequenceNumber, stopAfter) > 0) {
            done = true;
            break;
          }
          if (!bySeq.has(rec.sequenceNumber)) fromStream++;
          bySeq.set(rec.sequenceNumber, rec);
          if (stopAfter === undefined && rec.arrivalTime >= to)
            stopAfter = shardRanges.find((r) => within(rec.sequenceNumber, r))?.lastSeq ?? rec.sequenceNumber;
        }
        if (done || ended || (records.length === 0 && (millisBehindLatest ?? 0) === 0)) break;
      }
    }

    // 3. The window, widened to whole flush ranges, up to what the live path committed.
    const head = await start0.head(shardId);
    const all = [...bySeq.values()]
      .filter(
        (r) =>
          !head ||
          head.version === 0 ||
          (head.lastSeq !== undefined && compareSequenceNumbers(r.sequenceNumber, head.lastSeq) <= 0),
      )
      .sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
    const inWindow = all.filter((r) => r.arrivalTime >= from && r.arrivalTime < to);
    if (inWindow.length === 0) continue;
    const firstRange = shardRanges.find((r) => within(inWindow[0].sequenceNumber, r));
    const lastRange = shardRanges.find((r) => within(inWindow[inWindow.length - 1].sequenceNumber, r));
    const start = firstRange?.firstSeq ?? inWindow[0].sequenceNumber;
    const end = lastRange?.lastSeq ?? inWindow[inWindow.length - 1].sequenceNumber;
    const replay = all.filter(
      (r) => compareSequenceNumbers(r.sequenceNumber, start) >= 0 && compareSequenceNumbers(r.sequenceNumber, end) <= 0,
    );
    if (firstRange && replay[0]?.sequenceNumber !== firstRange.firstSeq) {
      throw new BackfillError(
        `shard ${shardId}: the records of range ${firstRange.firstSeq}-${firstRange.lastSeq} ` +
          `are neither in the stream nor in the raw archive`,
      );
    }

    // 4. The join state the live handler had before the first replayed record.
    const join = await start0.before(shardId, start, shardRanges);
    const cuts = new Map(shardRanges.map((r) => [r.lastSeq, r.epoch]));

    // 5. Replay with the same boundaries; write; remember every key written per range.
    const written = new Set<string>();
    let replayed = 0;
    const rangeNames = new Set<string>();
    const eventDays = new Set<string>();
    let buffered: LakeInputRecord[] = [];
    const flush = async () => {
      if (buffered.length === 0) return;
      const { batch, objects } = flushRecords(shardId, join, buffered, cuts.get(buffered.at(-1)!.sequenceNumber));
      buffered = [];
      await opts.store.putAll(objects);
      rangeNames.add(`${batch.shardId}-${batch.firstSeq}-${batch.lastSeq}`);
      for (const o of objects) {
        written.add(o.key);
        const k = parseObjectKey(o.key);
        if (k) eventDays.add(k.dt);
      }
      report.rows += batch.events.length;
      report.errors += batch.errors.length;
      report.objectsWritten += objects.length;
      say(
        `  ${shardId}: ${replayed}/${replay.length} records replayed, ${objects.length} objects written ` +
          `(${batch.firstSeq.slice(-8)}..${batch.lastSeq.slice(-8)})`,
      );
    };
    let sinceCut = 0;
    for (const rec of replay) {
      buffered.push(rec);
      replayed++;
      sinceCut++;
      if (cuts.has(rec.sequenceNumber) || sinceCut >= flushMax) {
        await flush();
        sinceCut = 0;
      }
    }
    await flush();
    report.records += replay.length;
    report.onlyInStream += fromStream;
    report.inArchive += archived;
    report.shards++;
    for (const k of written) report.keys.push(k);
    say(`${shardId}: replayed ${replay.length} records (${archived} in the archive, ${fromStream} only in the stream)`);

    // 6. Objects of the replayed ranges that this replay did not produce are stale.
    const days = new Set<string>();
    for (const d of eventDays) for (const x of daysBetween(Date.parse(d) - DAY, Date.parse(d) + DAY)) days.add(x);
    for (const prefix of [EVENTS_TABLE.prefix, ERROR_PREFIX]) {
      for (const dt of days) {
        for (const { key } of await opts.store.list(`${prefix}dt=${dt}/`)) {
          const k = parseObjectKey(key);
          if (
            k &&
            k.shardId === shardId &&
            rangeNames.has(`${k.shardId}-${k.firstSeq}-${k.lastSeq}`) &&
            !written.has(key)
          ) {
            await opts.store.delete(key);
            report.objectsDeleted++;
          }
        }
      }
    }
  }
  report.keys.sort();
  return report;
}
