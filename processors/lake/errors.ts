/** Writing a flush's objects to the lake failed; nothing was checkpointed, the flush will be redone. */
export class LakeWriteError extends Error {
  constructor(
    readonly key: string,
    options: { cause: unknown },
  ) {
    super(`lake write failed for s3 key ${key}`, options);
    this.name = 'LakeWriteError';
  }
}

/** A checkpoint names a join-state snapshot that cannot be read: resuming would silently change results. */
export class StateSnapshotError extends Error {
  /** The object does not exist (S3 NoSuchKey), as opposed to unreadable or unreachable. */
  readonly missing: boolean;

  constructor(
    readonly key: string,
    options: { cause: unknown; missing?: boolean },
  ) {
    super(`cannot read join state snapshot s3 key ${key}`, { cause: options.cause });
    this.name = 'StateSnapshotError';
    this.missing = options.missing ?? false;
  }
}

/** Backfill arguments or sources that cannot give a complete replay. */
export class BackfillError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackfillError';
  }
}

/** A shard's lake head item holds data this code cannot read: committing over it could lose output. */
export class HeadCorruptError extends Error {
  constructor(
    readonly group: string,
    readonly shardId: string,
    reason: string,
  ) {
    super(`lake head ${group}/${shardId} is corrupt: ${reason}`);
    this.name = 'HeadCorruptError';
  }
}

/** A shard that delivered records is not in the stream's shard listing, even after a refresh. */
export class ShardNotListedError extends Error {
  constructor(
    readonly streamName: string,
    readonly shardId: string,
  ) {
    super(`shard ${shardId} is not listed in stream ${streamName}`);
    this.name = 'ShardNotListedError';
  }
}

/** An on-failure record under the failures prefix that is not AWS's Kinesis on-failure JSON. */
export class FailureRecordError extends Error {
  constructor(
    readonly key: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`on-failure record s3 key ${key} cannot be read: ${reason}`, options);
    this.name = 'FailureRecordError';
  }
}
