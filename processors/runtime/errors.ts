/** Errors of the local event source mapping (processors/runtime). */

/** The handler's answer is not a valid `KinesisStreamBatchResponse` (AWS fails the whole batch). */
export class MalformedBatchResponseError extends Error {
  constructor(
    readonly shardId: string,
    reason: string,
  ) {
    super(`malformed batch response on ${shardId}: ${reason}`);
    this.name = 'MalformedBatchResponseError';
  }
}

/** waitCaughtUp() timed out; `lagging` names the shards that were not caught up, with why. */
export class CaughtUpTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly lagging: string[],
  ) {
    super(`event source mapping not caught up after ${timeoutMs} ms (${lagging.join('; ') || 'no shard listing yet'})`);
    this.name = 'CaughtUpTimeoutError';
  }
}

/** waitCaughtUp() was pending when the mapping stopped. */
export class MappingStoppedError extends Error {
  constructor(readonly functionName: string) {
    super(`event source mapping of ${functionName} stopped`);
    this.name = 'MappingStoppedError';
  }
}
