import type { Context } from 'hono';
import { safeHeaders } from './error-sink.js';
import { PayloadError, UnavailableError } from './errors.js';
import type { RouteDeps } from './http.js';

/**
 * What a verified provider webhook that yields no stream record gets. A provider retries any non-2xx
 * (Svix: ~8 times over ~28 h, then disables an endpoint failing for 5 days), and a retry of a verified
 * event cannot change our answer: so it gets 2xx once it is kept under `errors/` (with the reason) or
 * deliberately ignored, and 503 only while the error sink itself is down (a retry then helps).
 */

export interface VerifiedRequest {
  c: Context;
  route: string;
  /** The raw body. */
  body: Uint8Array;
  /** Path and query as requested. */
  url: string;
  /** Epoch ms the request arrived. */
  receivedAt: number;
}

/** The answer body of a verified event kept under `errors/` instead of the stream. */
export interface KeptAnswer {
  kept: 'errors';
  error: string;
  path?: string;
}

/**
 * Writes the raw body and the reason to the error sink; throws UnavailableError (503, the provider
 * retries) when the sink fails. The caller answers 2xx afterwards.
 */
export async function keepInErrors(deps: RouteDeps, req: VerifiedRequest, err: PayloadError): Promise<KeptAnswer> {
  try {
    await deps.errorSink.put(err.reason, req.body, {
      route: req.route,
      path: err.path || undefined,
      url: req.url,
      headers: safeHeaders(req.c.req.raw.headers),
      receivedAt: req.receivedAt,
    });
  } catch (cause) {
    throw new UnavailableError('error sink', { cause });
  }
  deps.logger.warn(
    { route: req.route, reason: err.reason, path: err.path },
    'verified but unusable: kept in the error sink, acknowledged',
  );
  return { kept: 'errors', error: err.reason, ...(err.path ? { path: err.path } : {}) };
}

/**
 * Runs `handle` (everything after the signature check); a PayloadError from it is kept in the error
 * sink and answered 202 `{kept, error, path}` (or by `answer`, e.g. TwiML). Other errors propagate.
 */
export async function keptOnPayloadError(
  deps: RouteDeps,
  req: VerifiedRequest,
  handle: () => Promise<Response>,
  answer: (kept: KeptAnswer) => Response = (kept) => req.c.json(kept, 202),
): Promise<Response> {
  try {
    return await handle();
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    return answer(await keepInErrors(deps, req, err));
  }
}

/** A verified event that is deliberately not recorded (not one of our pages): 202 `{ignored: reason}`. */
export function ignored(deps: RouteDeps, req: VerifiedRequest, reason: string, logFields: object = {}): Response {
  deps.logger.info({ route: req.route, reason, ...logFields }, 'ignored: not a page');
  return req.c.json({ ignored: reason }, 202);
}
