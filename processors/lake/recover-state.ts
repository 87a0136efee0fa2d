import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { ShardReader, type StartPosition } from '../consumer/shard-reader.js';
import { StateSnapshotError } from './errors.js';
import type { Head } from './head.js';
import { EventJoin, type JoinOptions } from './join.js';
import { parseStateName, STATE_PREFIX, type LakeStore } from './lake-store.js';
import { ShardPipeline } from './shard-pipeline.js';
import type { StartStates } from './start-state.js';

export interface RecoverStateOptions {
  store: LakeStore;
  group: string;
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  starts: StartStates;
  join?: JoinOptions;
  logger?: Logger;
}

/** How a missing join state was replaced: rebuilt exactly (`stream`), or not (`empty`: the join restarts). */
export interface RecoveredState {
  join: EventJoin;
  how: 'stream' | 'empty';
  /** Records replayed through the join. */
  records: number;
  /** The snapshot the replay started from (undefined: the shard's start, from its parents' states). */
  base?: string;
}

/**
 * A head whose state object is gone (deleted by a lake writer before fencing, or by hand) must not
 * jam its shard: the join state as of the head's `lastSeq` is rebuilt from the newest state object of
 * the shard that still exists (else its parents' states) and the stream's records after it, up to
 * `lastSeq`. If the stream no longer holds them (past retention) the join restarts empty — receipts
 * of earlier dispatches then land unmatched — and the caller says so loudly. Kinesis errors throw
 * (the batch is retried): an outage never empties a join.
 */
export async function recoverState(o: RecoverStateOptions, shardId: string, head: Head): Promise<RecoveredState> {
  const log = o.logger ?? silentLogger;
  const lastSeq = head.lastSeq!;
  const prefix = `${STATE_PREFIX}${o.group}/${shardId}/`;
  const candidates = (await o.store.list(prefix))
    .map(({ key }) => ({ key, name: parseStateName(key.slice(prefix.length)) }))
    .filter((c) => c.key !== head.stateKey && c.name && compareSequenceNumbers(c.name.lastSeq, lastSeq) <= 0)
    .sort((a, b) => compareSequenceNumbers(b.name!.lastSeq, a.name!.lastSeq));
  let join: EventJoin | undefined;
  let base: { key: string; lastSeq: string } | undefined;
  for (const c of candidates) {
    try {
      join = EventJoin.restore([await o.store.getState(c.key)], o.join);
      base = { key: c.key, lastSeq: c.name!.lastSeq };
      break;
    } catch (err) {
      if (!(err instanceof StateSnapshotError && err.missing)) throw err; // deleted since the listing: try older
    }
  }
  if (base?.lastSeq === lastSeq) return { join: join!, how: 'stream', records: 0, base: base.key };
  join ??= (await o.starts.initial(shardId)).join;
  const start: StartPosition = base
    ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: base.lastSeq }
    : { type: 'TRIM_HORIZON' };
  const reader = new ShardReader({
    kinesis: o.kinesis,
    streamName: o.streamName,
    shardId,
    start,
    minCallIntervalMs: 0,
    idleDelayMs: 0,
  });
  const pipeline = new ShardPipeline(shardId, join);
  let records = 0;
  let reached = false;
  for (;;) {
    const { records: batch, ended, millisBehindLatest } = await reader.next();
    for (const r of batch) {
      const c = compareSequenceNumbers(r.sequenceNumber, lastSeq);
      if (c > 0) break;
      pipeline.push(r);
      records++;
      if (c === 0) reached = true;
    }
    pipeline.take(); // the rows were written when these records were first flushed
    if (reached || ended || (batch.length > 0 && compareSequenceNumbers(batch.at(-1)!.sequenceNumber, lastSeq) > 0))
      break;
    if (batch.length === 0 && (millisBehindLatest ?? 0) === 0) break;
  }
  if (reached) return { join, how: 'stream', records, base: base?.key };
  log.error(
    { shardId, lastSeq, base: base?.key, replayed: records },
    'the stream no longer holds the records up to the head: the join restarts empty',
  );
  return { join: new EventJoin(o.join), how: 'empty', records: 0, base: base?.key };
}
