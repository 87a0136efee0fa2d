import type { Context } from 'hono';
import type { z } from 'zod';
import { BodyReadError, BodyTooLargeError, PayloadError, StreamWriteError, UnavailableError } from '../errors.js';
import type { ReceiverLogger } from '../http.js';
import { CsrfError, ForbiddenError, NotSignedInError, RateLimitedError } from '../auth/errors.js';
import { ApiInputError, ConflictError, NotFoundError } from './errors.js';

/**
 * The error → answer mapping of the console and the incident API, JSON (`{error, …}`):
 * 400 ApiInputError / PayloadError (names the field), 401 NotSignedInError (no reason given: which part failed is
 * logged only), 403 ForbiddenError / CsrfError, 404 NotFoundError, 408 BodyReadError, 409 ConflictError, 413
 * BodyTooLargeError, 429 RateLimitedError (Retry-After), 503 UnavailableError / StreamWriteError (Retry-After).
 * Anything else is a request some code path did not expect: a logged 400, never a 500.
 */
export function errorAnswer(c: Context, logger: ReceiverLogger, route: string, err: unknown): Response {
  if (err instanceof NotSignedInError) {
    logger.info({ route, reason: err.reason }, 'console/api: not signed in');
    return c.json({ error: 'unauthorized: sign in (/console/sign-in) or send Authorization: Bearer <API key>' }, 401);
  }
  if (err instanceof CsrfError) {
    logger.warn({ route, reason: err.reason }, 'console/api: CSRF token refused');
    const why =
      err.reason === 'cross-origin'
        ? 'a POST from another origin'
        : `CSRF token ${err.reason} (send the session's token as x-csrf-token)`;
    return c.json({ error: `forbidden: ${why}` }, 403);
  }
  if (err instanceof ForbiddenError) {
    logger.info({ route, who: err.who, action: err.action, team: err.team }, 'console/api: forbidden');
    return c.json({ error: `forbidden: ${err.message}` }, 403);
  }
  if (err instanceof RateLimitedError) {
    return c.json({ error: 'too many sign-in requests; try again later', retry_after_s: err.retryAfterS }, 429, {
      'retry-after': String(err.retryAfterS),
    });
  }
  if (err instanceof ApiInputError) return c.json({ error: err.message, where: err.where, issues: err.issues }, 400);
  if (err instanceof PayloadError) return c.json({ error: err.reason, path: err.path || undefined }, 400);
  if (err instanceof NotFoundError) return c.json({ error: err.message }, 404);
  if (err instanceof ConflictError)
    return c.json({ error: err.message, incident_id: err.incidentId, state: err.state }, 409);
  if (err instanceof BodyTooLargeError) return c.json({ error: 'payload too large', limit: err.limit }, 413);
  if (err instanceof BodyReadError) return c.json({ error: 'request body not received' }, 408, { connection: 'close' });
  if (err instanceof UnavailableError || err instanceof StreamWriteError) {
    const cause = (err.cause as Error | undefined)?.message;
    logger.error({ route, dependency: (err as UnavailableError).dependency, err: cause }, 'console/api: 503');
    return c.json({ error: 'temporarily unavailable' }, 503, { 'retry-after': '5' });
  }
  logger.error({ route, err: err instanceof Error ? err.name : typeof err }, 'console/api: unexpected error: 400');
  return c.json({ error: 'malformed request' }, 400);
}

/** `schema` applied to `input`, or ApiInputError naming each failing field. */
export function validate<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: 'query' | 'path' | 'body',
): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ApiInputError(
    where,
    parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}
