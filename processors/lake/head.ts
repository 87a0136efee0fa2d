import { z } from 'zod';
import type { Checkpoint, CheckpointStore } from '../consumer/checkpoint-store.js';
import { HeadCorruptError } from './errors.js';

/**
 * A shard's lake "head": the one item (in the checkpoint table, group `lake-head` by default) that
 * says how far the lake's committed output goes. Moving it commits a flush. Every write is
 * conditional on the version read; the fencing of concurrent writers (processors/lake/handler.ts)
 * rests on it and on the abandon `epoch`.
 */
export interface PendingFlush {
  /** The flush's first and last sequence numbers (inclusive). */
  first: string;
  last: string;
  /** The object keys it writes, and its state key: what to delete if it is abandoned. */
  keys: string[];
  stateKey: string;
  /** The head's epoch when it was recorded (its keys carry it). Absent (0) on heads written before epochs. */
  epoch?: number;
}

/** A pending flush that a head write replaced without committing it: its keys are dead for good. */
export interface AbandonedFlush {
  /** The epoch it was recorded in (the abandoning write moved the head to epoch + 1). */
  epoch: number;
  first: string;
  last: string;
  /** Its object and state keys still to delete (empty once the last sweep is done; the entry stays as a record). */
  keys: string[];
  /** When it was abandoned (ms, the abandoning writer's clock): the second sweep is due `graceMs` later. */
  at: number;
  /** The first delete of its keys is done (a later sweep catches a slow writer's late puts). */
  deleted: boolean;
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
  /** How many pending flushes were ever abandoned on this shard (0 if none). New flushes' keys carry it. */
  epoch: number;
  /** The recently abandoned flushes (newest last, at most MAX_ABANDONED): keys to sweep, and a record for zombies. */
  abandoned: AbandonedFlush[];
}

/** What a head write sets (version and updatedAt come from the store). */
export type HeadWrite = Omit<Head, 'version' | 'updatedAt'>;

/** Abandoned flushes kept on the head (each a few keys: the item stays far below DynamoDB's 400 KB). */
export const MAX_ABANDONED = 32;

const Pending = z.object({
  first: z.string(),
  last: z.string(),
  keys: z.array(z.string()),
  stateKey: z.string(),
  epoch: z.number().int().min(0).optional(),
});

const HeadData = z.object({
  stateKey: z.string().optional(),
  pending: Pending.optional(),
  epoch: z.number().int().min(0).optional(),
  abandoned: z
    .array(
      z.object({
        epoch: z.number().int().min(0),
        first: z.string(),
        last: z.string(),
        keys: z.array(z.string()),
        at: z.number(),
        deleted: z.boolean(),
      }),
    )
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
    return cp ? toHead(this.group, shardId, cp) : { version: 0, epoch: 0, abandoned: [] };
  }

  /** Writes the head's next version (conditional on `prev.version`); CheckpointConflictError if it moved. */
  async put(shardId: string, prev: Head, next: HeadWrite): Promise<Head> {
    const data: Record<string, unknown> = {};
    if (next.stateKey !== undefined) data.stateKey = next.stateKey;
    if (next.pending !== undefined) data.pending = next.pending;
    if (next.epoch > 0) data.epoch = next.epoch;
    if (next.abandoned.length > 0) data.abandoned = next.abandoned;
    const saved = await this.checkpoints.put(
      this.group,
      shardId,
      { sequenceNumber: next.lastSeq, data },
      prev.version > 0 ? prev.version : undefined,
    );
    return { ...next, version: saved.version, updatedAt: saved.updatedAt };
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
    epoch: parsed.data.epoch ?? 0,
    abandoned: parsed.data.abandoned ?? [],
  };
}

export const samePending = (a: PendingFlush | undefined, b: PendingFlush): boolean =>
  a !== undefined &&
  a.first === b.first &&
  a.last === b.last &&
  a.stateKey === b.stateKey &&
  (a.epoch ?? 0) === (b.epoch ?? 0) &&
  a.keys.length === b.keys.length &&
  a.keys.every((k, i) => k === b.keys[i]);

/**
 * The head as it is after abandoning its pending flush (a write that replaces `pending` without
 * committing it must carry this): the epoch moves on, so the abandoned keys are never recorded
 * again; the pending flush joins the abandoned list, to be deleted once the write is won.
 */
export function abandonPending(head: Head, now: number): Pick<Head, 'epoch' | 'abandoned'> {
  const p = head.pending;
  if (!p) return { epoch: head.epoch, abandoned: head.abandoned };
  const entry: AbandonedFlush = {
    epoch: p.epoch ?? 0,
    first: p.first,
    last: p.last,
    keys: [...p.keys, p.stateKey],
    at: now,
    deleted: false,
  };
  return { epoch: head.epoch + 1, abandoned: [...head.abandoned, entry] };
}

/** Keys named by a head that are not committed output: its pending flush's and its abandoned flushes'. */
export function uncommittedKeys(head: Head | undefined): Set<string> {
  const out = new Set<string>();
  if (!head) return out;
  if (head.pending) for (const k of [...head.pending.keys, head.pending.stateKey]) out.add(k);
  for (const a of head.abandoned) for (const k of a.keys) out.add(k);
  return out;
}

/**
 * What became of a pending flush whose commit lost, as the head now says: still `pending`;
 * `abandoned` (its epoch's abandoned entry is this range: its keys are dead); `committed` (a twin
 * writer committed the same keys: the epoch did not move, or the flush abandoned in its epoch was
 * another, later one); `unknown` (its epoch's entry fell off the list).
 */
export function fateOf(head: Head, mine: PendingFlush): 'pending' | 'abandoned' | 'committed' | 'unknown' {
  if (samePending(head.pending, mine)) return 'pending';
  const e = mine.epoch ?? 0;
  if (head.epoch <= e) return 'committed';
  const entry = head.abandoned.find((a) => a.epoch === e);
  if (!entry) return 'unknown';
  return entry.first === mine.first && entry.last === mine.last ? 'abandoned' : 'committed';
}
