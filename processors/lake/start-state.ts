import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { CheckpointConflictError } from '../consumer/checkpoint-store.js';
import { abandonPending, type HeadStore } from './head.js';
import { EventJoin, type JoinOptions, type JoinSnapshot } from './join.js';
import type { LakeStore } from './lake-store.js';
import { holdsPartitionKey, type ShardLineage } from './lineage.js';

export interface StartStatesOptions {
  store: LakeStore;
  heads: HeadStore;
  lineage: ShardLineage;
  join?: JoinOptions;
  /**
   * Delete a parent's abandoned pending flush (objects and state) and clear it from its head. The
   * live handler does (a child starts only once its parents are done: a parent's pending flush will
   * never be redone); a read-only replay does not. Default false.
   */
  abandonParentPending?: boolean;
  logger?: Logger;
}

/**
 * Where a shard with no committed state starts: its parents' final join states (a split: the
 * parent's; a merge: both), read from their heads. A parent that never committed anything hands on
 * its own parents' states. Only the waiting receipts whose partition key hashes into the shard's
 * range are kept, so after a split each is written once, by the child that reads its dispatch.
 */
export class StartStates {
  private readonly log: Logger;

  constructor(private readonly opts: StartStatesOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  async initial(shardId: string): Promise<{ join: EventJoin; parents: string[] }> {
    const shard = await this.opts.lineage.get(shardId);
    if (shard.parents.length === 0) return { join: new EventJoin(this.opts.join), parents: [] };
    const keys = new Set<string>(); // a merge of two record-less siblings reaches their parent twice: once
    for (const p of shard.parents) for (const k of await this.finalStateKeys(p, 0)) keys.add(k);
    const snapshots: JoinSnapshot[] = [];
    for (const k of keys) snapshots.push(await this.opts.store.getState(k));
    this.log.info(
      { shardId, parents: shard.parents, snapshots: snapshots.length },
      'child shard starts from its parents\u2019 state',
    );
    return {
      join: EventJoin.restore(snapshots, this.opts.join, (pk) => holdsPartitionKey(shard, pk)),
      parents: shard.parents,
    };
  }

  private async finalStateKeys(shardId: string, depth: number): Promise<string[]> {
    let head = await this.opts.heads.get(shardId);
    if (this.opts.abandonParentPending) {
      if (head.pending) {
        const p = head.pending;
        try {
          // Abandon it first (a won write); only then delete its keys (see processors/lake/handler.ts).
          head = await this.opts.heads.put(shardId, head, {
            lastSeq: head.lastSeq,
            stateKey: head.stateKey,
            ...abandonPending(head, Date.now()),
          });
          this.log.warn(
            { shardId, first: p.first, last: p.last, objects: p.keys.length },
            'parent shard ended with an uncommitted flush: its objects are deleted ' +
              '(the mapping skipped that batch; its on-failure record replays it)',
          );
        } catch (err) {
          if (!(err instanceof CheckpointConflictError)) throw err;
          head = await this.opts.heads.get(shardId); // a sibling child abandoned it first
        }
      }
      // Idempotent: a sibling (or this child before a crash) may have deleted them already.
      for (const a of head.abandoned) if (!a.deleted) for (const key of a.keys) await this.opts.store.delete(key);
    }
    if (head.stateKey) return [head.stateKey];
    if (depth > 64) return [];
    // Nothing committed on this parent (no records, or all of them skipped): its own parents' state.
    const info = await this.opts.lineage.find(shardId);
    if (!info) return []; // trimmed past retention: its state is gone with it
    const out: string[] = [];
    for (const p of info.parents) out.push(...(await this.finalStateKeys(p, depth + 1)));
    return out;
  }
}
