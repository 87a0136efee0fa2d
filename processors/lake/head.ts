import { z } from 'zod';
import type { Checkpoint, CheckpointStore } from '../consumer/checkpoint-store.js';
import { HeadCorruptError } from './errors.js';

/**
 * A shard's lake "head": the one item (in the checkpoint table, group `lake-head` by default) that
 * says how far the lake's committed output goes. Moving it commits a flush.
 */
export interface PendingFlush {
  /** The flush's first and last sequence numbers (inclusive). */
  first: string;
  last: string;
  /** The object keys it writes, and its state key: what to delete if it is abandoned. */
  keys: string[];
  stateKey: string;
}

export interface Head {
  /** Version of the item (0: no item yet). Every head write is conditional on it. */
  version: number;
  updatedAt?: string;
  /** Last committed record (undefined: nothing committed on this shard yet). */
  lastSeq?: string;
  /** The join state as of `lastSeq` (undefined: start from the parents' states). */
  stateKey?: string;
  /** A flush recorded but not committed (a crash between its record and the head move). */
  pending?: PendingFlush;
}

const HeadData = z.object({
  stateKey: z.string().optional(),
  pending: z
    .object({ first: z.string(), last: z.string(), keys: z.array(z.string()), stateKey: z.string() })
    .optional(),
});

/** The heads of a group in the checkpoint table: reads and conditional writes. */
export class HeadStore {
  constructor(
    private readonly checkpoints: CheckpointStore,
    readonly group: string,
  ) {}

  async get(shardId: string): Promise<Head> {
    const cp = await this.checkpoints.get(this.group, shardId);
    return cp ? toHead(this.group, shardId, cp) : { version: 0 };
  }

  /** Writes the head's next version (conditional on `prev.version`); CheckpointConflictError if it moved. */
  async put(
    shardId: string,
    prev: Head,
    next: { lastSeq?: string; stateKey?: string; pending?: PendingFlush },
  ): Promise<Head> {
    const data: Record<string, unknown> = {};
    if (next.stateKey !== undefined) data.stateKey = next.stateKey;
    if (next.pending !== undefined) data.pending = next.pending;
    const saved = await this.checkpoints.put(
      this.group,
      shardId,
      { sequenceNumber: next.lastSeq, data },
      prev.version > 0 ? prev.version : undefined,
    );
    return {
      version: saved.version,
      updatedAt: saved.updatedAt,
      lastSeq: next.lastSeq,
      stateKey: next.stateKey,
      pending: next.pending,
    };
  }
}

function toHead(group: string, shardId: string, cp: Checkpoint): Head {
  const parsed = HeadData.safeParse(cp.data ?? {});
  if (!parsed.success) throw new HeadCorruptError(group, shardId, parsed.error.message);
  return {
    version: cp.version,
    updatedAt: cp.updatedAt,
    lastSeq: cp.sequenceNumber,
    stateKey: parsed.data.stateKey,
    pending: parsed.data.pending,
  };
}

export const samePending = (a: PendingFlush | undefined, b: PendingFlush): boolean =>
  a !== undefined &&
  a.first === b.first &&
  a.last === b.last &&
  a.stateKey === b.stateKey &&
  a.keys.length === b.keys.length &&
  a.keys.every((k, i) => k === b.keys[i]);
