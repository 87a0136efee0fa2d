/** A provider refused or failed a page; `retryable` says whether trying again can help. */
export class ProviderError extends Error {
  constructor(
    readonly provider: 'twilio' | 'resend' | 'aws',
    readonly code: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${provider} ${status ?? ''} ${code}: ${message}`.replace(/\s+/g, ' '), options);
    this.name = 'ProviderError';
  }
}

/** The incident's item changed since it was read (another delivery of the same incident): retry. */
export class IncidentConflictError extends Error {
  constructor(
    readonly incidentId: string,
    readonly expectedVersion: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`incident ${incidentId}: version ${expectedVersion ?? '(new)'} is stale; re-read and retry`, options);
    this.name = 'IncidentConflictError';
  }
}

/** A stored incident item is not readable state (hand-edited or from an unknown version). */
export class IncidentCorruptError extends Error {
  constructor(
    readonly incidentId: string,
    options?: { cause?: unknown },
  ) {
    super(`incident ${incidentId}: stored state is not readable`, options);
    this.name = 'IncidentCorruptError';
  }
}

/**
 * Looking up a page whose send outcome is unknown failed: the lookup itself (a provider error, a
 * timeout), not "no such message". The page may or may not have gone out; try the lookup again later.
 * `retryable` false: trying again cannot help (e.g. Resend answered `invalid_idempotent_request`: an
 * email with this dispatch's idempotency key went out with another payload; its id cannot be had).
 */
export class PageLookupError extends Error {
  constructor(
    readonly provider: 'twilio' | 'resend' | 'aws',
    readonly dispatchId: string,
    readonly code: string,
    readonly retryable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${provider} lookup of dispatch ${dispatchId} failed (${code}): ${message}`, options);
    this.name = 'PageLookupError';
  }
}

/**
 * Creating or deleting a deadline schedule (EventBridge Scheduler) failed. `code` is the Scheduler
 * error name (`ValidationException`, `ResourceNotFoundException`, `ThrottlingException`, …), `Timeout`
 * when the call did not answer in time, or `InvalidRequest` when the request was refused before any
 * call; `retryable` says whether trying again can help.
 */
export class DeadlineScheduleError extends Error {
  constructor(
    readonly operation: 'CreateSchedule' | 'DeleteSchedule',
    readonly scheduleName: string,
    readonly code: string,
    readonly retryable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} ${scheduleName}: ${code}: ${message}`, options);
    this.name = 'DeadlineScheduleError';
  }
}

/** Reading or writing a heartbeat check's state item (heartbeats.ts) failed: the record is retried. */
export class HeartbeatStateError extends Error {
  constructor(
    readonly checkId: string,
    readonly operation: 'GetItem' | 'PutItem',
    options?: { cause?: unknown },
  ) {
    super(
      `heartbeat check ${checkId}: ${operation} failed: ${(options?.cause as Error | undefined)?.message}`,
      options,
    );
    this.name = 'HeartbeatStateError';
  }
}
