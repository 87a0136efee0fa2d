/** Errors of the checkpoint store. */

/**
 * A checkpoint write lost an optimistic-concurrency race: the stored version is not the expected
 * one (another worker owns the shard, or this one's view is stale). `expectedVersion` undefined
 * means a first write found an item already there. `actualVersion` is read after the conflict
 * (undefined: no item).
 */
export class CheckpointConflictError extends Error {
  constructor(
    readonly group: string,
    readonly shardId: string,
    readonly expectedVersion: number | undefined,
    readonly actualVersion: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `checkpoint ${group}/${shardId}: ` +
        `expected ${expectedVersion === undefined ? 'no checkpoint' : `version ${expectedVersion}`}, ` +
        `found ${actualVersion === undefined ? 'none' : `version ${actualVersion}`}`,
      options,
    );
    this.name = 'CheckpointConflictError';
  }
}

/** A stored checkpoint item that cannot be read back (missing version, bad JSON in `data`). */
export class CheckpointCorruptError extends Error {
  constructor(
    readonly group: string,
    readonly shardId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint ${group}/${shardId} is corrupt: ${reason}`, options);
    this.name = 'CheckpointCorruptError';
  }
}
