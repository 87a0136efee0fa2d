import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { ShardNotListedError } from './errors.js';
import { uncommittedKeys, type Head, type HeadStore } from './head.js';
import { EventJoin, type JoinOptions } from './join.js';
import { parseStateName, STATE_PREFIX, type LakeStore } from './lake-store.js';
import type { ShardLineage } from './lineage.js';
import { StartStates } from './start-state.js';

export interface ReplayStartOptions {
  store: LakeStore;
  /** The heads' group (state objects are under `state/<group>/<shard>/`). */
  group: string;
  /**
   * The heads: which states are committed, and a child's parents' final states. Without them every state object counts
   * and a child starts empty.
   */
  heads?: HeadStore;
  lineage?: ShardLineage;
  join?: JoinOptions;
  logger?: Logger;
}

/**
 * The join state the live handler had just before a record — what a replay (backfill, failure replay)
 * must start from to rewrite the live path's keys and bytes: the committed state of the last flush
 * that ended before it, else (the shard's first flush) its parents' final states, exactly as the
 * handler starts a child. Read-only: it writes nothing.
 */
export class ReplayStart {
  private readonly log: Logger;
  private readonly starts?: StartStates;
  private readonly headCache = new Map<string, Head>();

  constructor(private readonly opts: ReplayStartOptions) {
    this.log = opts.logger ?? silentLogger;
    if (opts.heads && opts.lineage)
      this.starts = new StartStates({
        store: opts.store,
        heads: opts.heads,
        lineage: opts.lineage,
        join: opts.join,
        logger: this.log,
      });
  }

  async head(shardId: string): Promise<Head | undefined> {
    if (!this.opts.heads) return undefined;
    let h = this.headCache.get(shardId);
    if (!h) {
      h = await this.opts.heads.get(shardId);
      this.headCache.set(shardId, h);
    }
    return h;
  }

  /**
   * The join as of the last committed flush ending before `seq`. `knownEnds`: ends (and epochs) of
   * committed flushes already known (from the raw archive's keys), tried first; else the shard's state
   * objects are listed.
   */
  async before(
    shardId: string,
    seq: string,
    knownEnds: readonly { lastSeq: string; epoch?: number }[] = [],
  ): Promise<EventJoin> {
    const head = await this.head(shardId);
    const dead = uncommittedKeys(head);
    const keyOf = (lastSeq: string, epoch = 0) => this.opts.store.stateKey(this.opts.group, shardId, lastSeq, epoch);
    const committed = (last: string, key: string) =>
      !head || (head.lastSeq !== undefined && compareSequenceNumbers(last, head.lastSeq) <= 0 && !dead.has(key));
    const known = knownEnds
      .filter((l) => compareSequenceNumbers(l.lastSeq, seq) < 0 && committed(l.lastSeq, keyOf(l.lastSeq, l.epoch)))
      .sort((a, b) => compareSequenceNumbers(a.lastSeq, b.lastSeq))
      .at(-1);
    if (known !== undefined) {
      try {
        return EventJoin.restore([await this.opts.store.getState(keyOf(known.lastSeq, known.epoch))], this.opts.join);
      } catch (err) {
        this.log.warn(
          { shardId, lastSeq: known.lastSeq, err },
          'no join state saved at the flush before; looking further back',
        );
      }
    }
    const prefix = `${STATE_PREFIX}${this.opts.group}/${shardId}/`;
    const listed = (await this.opts.store.list(prefix))
      .map(({ key }) => ({ key, name: parseStateName(key.slice(prefix.length)) }))
      .filter((c) => c.name && compareSequenceNumbers(c.name.lastSeq, seq) < 0 && committed(c.name.lastSeq, c.key))
      .sort((a, b) => compareSequenceNumbers(a.name!.lastSeq, b.name!.lastSeq) || a.name!.epoch - b.name!.epoch);
    const last = listed.at(-1);
    if (last !== undefined) return EventJoin.restore([await this.opts.store.getState(last.key)], this.opts.join);
    if (!this.starts) {
      this.log.warn(
        { shardId },
        'no join state before the replay and no heads to find the parents\u2019: ' +
          'receipts of earlier dispatches replay unmatched',
      );
      return new EventJoin(this.opts.join);
    }
    try {
      return (await this.starts.initial(shardId)).join;
    } catch (err) {
      if (!(err instanceof ShardNotListedError)) throw err;
      this.log.warn(
        { shardId },
        'shard no longer listed (past retention): its replay starts without its parents\u2019 state',
      );
      return new EventJoin(this.opts.join);
    }
  }
}
