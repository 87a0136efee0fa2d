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
  constructor(
    readonly key: string,
    options: { cause: unknown },
  ) {
    super(`cannot read join state snapshot s3 key ${key}`, options);
    this.name = 'StateSnapshotError';
  }
}

/** Backfill arguments or sources that cannot give a complete replay. */
export class BackfillError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackfillError';
  }
}
