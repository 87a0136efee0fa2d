/**
 * AWS error handling shared by every part that calls AWS (producers, stream readers, the local event
 * source mapping, the lake): the error code of an SDK or network error, whether a retry can help
 * (throttling, 5xx, timeouts, connection failures), and the backoff between retries.
 */
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

/** Connection-level failures: the service did not answer at all. */
const UNREACHABLE = new Set([
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

/** Server-side failures and the connection-level ones. */
const TRANSIENT = new Set([
  'InternalFailure',
  'InternalFailureException',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  ...UNREACHABLE,
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

/** An error code (awsErrorCode) of a connection-level failure: the service did not answer at all. */
export function isUnreachableCode(code: string): boolean {
  return UNREACHABLE.has(code);
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

/**
 * A DynamoDB conditional write whose condition did not hold. By name: every SDK
 * ConditionalCheckFailedException carries it (a class field), and this module stays free of the
 * DynamoDB client.
 */
export function isConditionFailure(err: unknown): boolean {
  return (err as ErrorLike | undefined)?.name === 'ConditionalCheckFailedException';
}

/** Per-entry PutRecords error codes that a retry can fix (other KMS errors need an operator). */
export function isRetryableEntryError(code: string): boolean {
  return (
    code === 'ProvisionedThroughputExceededException' || code === 'InternalFailure' || code === 'KMSThrottlingException'
  );
}

/**
 * Exponential backoff with "equal jitter": half of the capped exponential delay, plus a random
 * part of the other half (never 0, so a retry storm still spreads out). `attempt` counts from 1.
 * The one backoff of the product: AWS calls, and the page dispatcher's provider calls too.
 */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(cap / 2 + random() * (cap / 2));
}
