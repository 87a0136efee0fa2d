/**
 * Errors of the Kinesis producer, and the AWS error classification the producer and the stream
 * consumer share (which failures are worth retrying).
 */

/** One entry the producer could not write, by its index in the caller's input. */
export interface FailedEntry {
  index: number;
  partitionKey: string;
  /** Kinesis per-entry ErrorCode (e.g. ProvisionedThroughputExceededException, InternalFailure), or the
   * name of the error that failed the whole PutRecords call. */
  errorCode: string;
  errorMessage?: string;
}

/** A record whose data + partition key exceed the per-record limit. Thrown before anything is sent. */
export class RecordTooLargeError extends Error {
  constructor(
    readonly index: number,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`record ${index} is ${bytes} bytes (data + partition key), over the ${limit}-byte limit`);
    this.name = 'RecordTooLargeError';
  }
}

/** A record Kinesis would reject whatever we retry (empty or over-long partition key, bad hash key). */
export class InvalidRecordError extends Error {
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super(`record ${index}: ${reason}`);
    this.name = 'InvalidRecordError';
  }
}

/**
 * The producer gave up: the entries in `failed` were not acknowledged by Kinesis after `attempts`
 * PutRecords attempts (or their call failed with a non-retryable error); the batches after theirs
 * were not sent (`unsent`). `results` holds, in input order, the acknowledgement of every entry that
 * was written (undefined for failed and unsent ones): re-sending only those is possible; re-sending
 * everything is safe for readers that dedupe by event_id but creates duplicates on the stream.
 */
export class PutRecordsFailedError extends Error {
  constructor(
    readonly failed: FailedEntry[],
    readonly attempts: number,
    readonly results: ({ shardId: string; sequenceNumber: string } | undefined)[],
    options?: { cause?: unknown },
  ) {
    const codes = [...new Set(failed.map((f) => f.errorCode))].join(', ');
    const notWritten = results.filter((r) => r === undefined).length;
    super(
      `PutRecords: ${notWritten} of ${results.length} records not written; ` +
        `${failed.length} failed after ${attempts} attempt(s) (${codes})`,
      options,
    );
    this.name = 'PutRecordsFailedError';
  }

  /** The error code of each failed entry (same order as `failed`). */
  get errorCodes(): string[] {
    return this.failed.map((f) => f.errorCode);
  }

  /** Input indexes never sent because an earlier batch failed. */
  get unsent(): number[] {
    const failed = new Set(this.failed.map((f) => f.index));
    const out: number[] = [];
    this.results.forEach((r, i) => {
      if (r === undefined && !failed.has(i)) out.push(i);
    });
    return out;
  }
}

/**
 * The batching producer holds `limit` records not yet acknowledged (buffered, in flight or waiting
 * for a retry): a put that would exceed it is refused at once, before anything of it is queued, so a
 * stream that cannot keep up makes callers fail fast (an HTTP route answers 503) instead of memory
 * growing without bound.
 */
export class ProducerOverloadedError extends Error {
  constructor(
    readonly pending: number,
    readonly requested: number,
    readonly limit: number,
  ) {
    super(`producer overloaded: ${pending} records pending, ${requested} more would exceed the limit of ${limit}`);
    this.name = 'ProducerOverloadedError';
  }
}

/** A put after the batching producer was closed (shutdown): nothing of it was queued. */
export class ProducerClosedError extends Error {
  constructor() {
    super('producer closed: no new records are accepted');
    this.name = 'ProducerClosedError';
  }
}
