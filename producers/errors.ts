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
      `PutRecords: ${notWritten} of ${results.length} records not written; ${failed.length} failed after ${attempts} attempt(s) (${codes})`,
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

// ---------------------------------------------------------------------------------------------
// AWS error classification

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'KMSThrottlingException',
  'SlowDown',
]);

const TRANSIENT = new Set([
  'InternalFailure',
  'InternalFailureException',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_HTTP2_ERROR',
  'NetworkingError',
]);

type ErrorLike = {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
};

/** The AWS error code (`name` of an SDK service exception) or the Node network error code. */
export function awsErrorCode(err: unknown): string {
  const e = err as ErrorLike | undefined;
  if (e && typeof e.code === 'string' && e.code) return e.code;
  if (e && typeof e.name === 'string' && e.name) return e.name;
  return 'UnknownError';
}

/** Throttling (per-shard limits, API rate limits): retry with backoff, as long as it takes. */
export function isThrottlingError(err: unknown): boolean {
  const e = err as ErrorLike | undefined;
  if (!e) return false;
  if (THROTTLING.has(awsErrorCode(e)) || (e.name !== undefined && THROTTLING.has(e.name))) return true;
  return e.$metadata?.httpStatusCode === 429;
}

/** Worth retrying: throttling, 5xx, timeouts, connection failures. 4xx validation errors are not. */
export function isRetryableError(err: unknown): boolean {
  const e = err as ErrorLike | undefined;
  if (!e) return false;
  if (isThrottlingError(e)) return true;
  if (TRANSIENT.has(awsErrorCode(e)) || (e.name !== undefined && TRANSIENT.has(e.name))) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/** Per-entry PutRecords error codes that a retry can fix (other KMS errors need an operator). */
export function isRetryableEntryError(code: string): boolean {
  return code === 'ProvisionedThroughputExceededException' || code === 'InternalFailure' || code === 'KMSThrottlingException';
}

/**
 * Exponential backoff with "equal jitter": half of the capped exponential delay, plus a random
 * part of the other half (never 0, so a retry storm still spreads out). `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(cap / 2 + random() * (cap / 2));
}
