/**
 * The receiver's failures, one class per HTTP outcome (app.ts maps them):
 * SignatureError → 401 (nothing written), BodyTooLargeError → 413, BodyReadError → 408,
 * PayloadError → 400 (the raw body goes to the error sink), StreamWriteError / UnavailableError → 503
 * (the provider retries). Anything else thrown while handling a body → 400 (http.ts `guarded`).
 */

export { SignatureError } from '../../shared/errors.js';

/** The body is over BODY_LIMIT_BYTES (by Content-Length or by the bytes actually read). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body could not be read to its end: the client aborted, or the server cut it off (REQUEST_TIMEOUT_MS). */
export class BodyReadError extends Error {
  constructor(options: { cause: unknown }) {
    super(
      `request body not received: ${(options.cause as Error | undefined)?.message ?? String(options.cause)}`,
      options,
    );
    this.name = 'BodyReadError';
  }
}

/** One failing field of one record of a batch (ingest API). */
export interface PayloadIssue {
  index?: number;
  path: string;
  message: string;
}

/** An authentic request whose payload cannot become a record. `path` points at the failing field. */
export class PayloadError extends Error {
  readonly path: string;
  /** Every failing field, when the payload held several records. */
  readonly issues?: PayloadIssue[];
  constructor(
    readonly reason: string,
    path: readonly PropertyKey[] | string = [],
    options?: { cause?: unknown; issues?: PayloadIssue[] },
  ) {
    const where = typeof path === 'string' ? path : path.map(String).join('.');
    super(where ? `invalid payload at ${where}: ${reason}` : `invalid payload: ${reason}`, options);
    this.name = 'PayloadError';
    this.path = where;
    this.issues = options?.issues;
  }

  /** The error for a batch that failed validation: named after its first issue, carrying all of them. */
  static ofIssues(issues: PayloadIssue[]): PayloadError {
    const first = issues[0];
    return new PayloadError(
      first.message,
      [first.index, first.path].filter((p) => p !== undefined && p !== '').join('.'),
      { issues },
    );
  }
}

/** A provider status word we do not know (kept as a 400, never mapped to a silent default). */
export class UnknownStatusError extends PayloadError {
  constructor(
    readonly provider: string,
    readonly status: string,
    path: string,
  ) {
    super(`unknown ${provider} status ${JSON.stringify(status)}`, path);
    this.name = 'UnknownStatusError';
  }
}

/** A dependency (stream, ack-code ledger) failed: answer 503 so the sender retries. */
export class UnavailableError extends Error {
  constructor(
    readonly dependency: string,
    options: { cause: unknown },
  ) {
    super(`${dependency} failed: ${(options.cause as Error | undefined)?.message ?? String(options.cause)}`, options);
    this.name = 'UnavailableError';
  }
}

/** The stream did not acknowledge the records: answer 503 so the sender retries. */
export class StreamWriteError extends UnavailableError {
  constructor(options: { cause: unknown }) {
    super('stream write', options);
    this.name = 'StreamWriteError';
  }
}
