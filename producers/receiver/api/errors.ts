/**
 * Failures of the incident API (producers/receiver/api): ApiInputError → 400 (names the field),
 * NotFoundError → 404, ConflictError → 409 (the incident's state does not allow the action: says why).
 * LakeTimeoutError: the lake's part of an answer took too long (history.ts: the answer goes out without it).
 * Auth failures: ../auth/errors.ts.
 */

export interface InputIssue {
  path: string;
  message: string;
}

/** A query, path parameter or body the route's zod schema refuses. */
export class ApiInputError extends Error {
  constructor(
    readonly where: 'query' | 'path' | 'body',
    readonly issues: InputIssue[],
  ) {
    super(`invalid ${where}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'ApiInputError';
  }
}

export class NotFoundError extends Error {
  constructor(readonly what: string) {
    super(`${what} not found`);
    this.name = 'NotFoundError';
  }
}

/** The action does not apply to the incident as it is now (resolved, already acknowledged). */
export class ConflictError extends Error {
  constructor(
    readonly incidentId: string,
    readonly state: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The lake did not answer within the answer's deadline (history.ts `readLake`). */
export class LakeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the lake did not answer within ${timeoutMs} ms`);
    this.name = 'LakeTimeoutError';
  }
}
