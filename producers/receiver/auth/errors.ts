/**
 * Failures of sign-in and permissions (producers/receiver/auth), one class per HTTP outcome the console and the
 * incident API answer: NotSignedInError → 401, ForbiddenError → 403, CsrfError → 403, RateLimitedError → 429.
 * A DynamoDB or Resend failure is the receiver's UnavailableError (503).
 */

/** No valid session cookie nor API key (`reason` is logged, never shown: it may say which part failed). */
export class NotSignedInError extends Error {
  constructor(readonly reason: string) {
    super(`not signed in: ${reason}`);
    this.name = 'NotSignedInError';
  }
}

/** Signed in, but the role or the key's scope does not allow `action` on `team`'s incidents. */
export class ForbiddenError extends Error {
  constructor(
    readonly action: string,
    readonly team: string | undefined,
    readonly who: string,
  ) {
    super(`${who} may not ${action} ${team ? `team "${team}"'s incidents` : 'this'}`);
    this.name = 'ForbiddenError';
  }
}

/**
 * A state-changing request with a session but without its CSRF token (or with another session's), or a browser's
 * POST from another origin (its Origin header is not PUBLIC_BASE_URL's).
 */
export class CsrfError extends Error {
  constructor(readonly reason: 'missing' | 'mismatch' | 'cross-origin') {
    super(`CSRF token ${reason}`);
    this.name = 'CsrfError';
  }
}

/** Too many sign-in requests for an address or from an address (IP) in the window. */
export class RateLimitedError extends Error {
  constructor(
    readonly scope: 'email' | 'ip',
    readonly retryAfterS: number,
  ) {
    super(`too many sign-in requests (${scope}); retry in ${retryAfterS} s`);
    this.name = 'RateLimitedError';
  }
}
