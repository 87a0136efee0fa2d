import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { ResolvedAckCode } from '../../shared/ack-codes.js';
import type { ReceiverConfig } from './config.js';
import type { StreamWriter } from './stream-write.js';
import type { StructuredLogger } from '../../platform/logger.js';
import { parseJson } from './body-parse.js';
import { safeHeaders, type ErrorSink } from './error-sink.js';
import { BodyReadError, BodyTooLargeError, PayloadError, SignatureError, UnavailableError } from './errors.js';
import type { RejectionLog } from './rejections.js';
import type { SnsVerifier } from './sns-signature.js';

/** Shared plumbing of every route: dependencies, body reading, the stream write, error → response. */

export type { StreamWriter } from './stream-write.js';
// The stream write the routes share with the EventBridge alarm function (producers/eventbridge).
export { writeRecords } from './stream-write.js';

export interface AckCodeResolver {
  /** The code's incident and the addresses paged with it; undefined if unknown or expired. */
  resolve(code: string): Promise<ResolvedAckCode | undefined>;
}

/** Whether the stream answers (GET /healthz); see stream-health.ts. */
export interface StreamHealth {
  check(): Promise<StreamReachability>;
}

export interface StreamReachability {
  reachable: boolean;
  /** ISO time of the check the answer comes from (answers are cached for a few seconds). */
  checkedAt: string;
  /** Why it is not reachable (error name and message; never credentials). */
  error?: string;
}

/**
 * What the receiver logs (a pino Logger fits). Per-request success lines (a receipt written) go to
 * `debug`, not `info`: at a storm's thousands of callbacks a second, formatting and writing them cost
 * ~14 % of the receiver's CPU, and the stream (then the lake) already records every receipt.
 */
export type ReceiverLogger = StructuredLogger;

export interface AppDeps {
  config: ReceiverConfig;
  producer: StreamWriter;
  ackCodes: AckCodeResolver;
  errorSink: ErrorSink;
  logger: ReceiverLogger;
  /** Stream reachability for GET /healthz. Without it /healthz reports the process only. */
  streamHealth?: StreamHealth;
  /** Clock, epoch ms (tests). Default Date.now. */
  now?: () => number;
  /** Rejected requests, counted and logged by sampling. Default: one over `logger` (rejections.ts). */
  rejections?: RejectionLog;
  /** The SNS verifier of `/webhooks/aws-sms-voice` (tests: its certificate fetch). Default: from the settings. */
  snsVerifier?: SnsVerifier;
  /** The SNS verifier of `/events/sns` (sns-events.ts; tests). Default: from SNS_ALERT_TOPIC_ARNS. */
  snsEventsVerifier?: SnsVerifier;
}

export type RouteDeps = AppDeps & { now: () => number; rejections: RejectionLog };

/**
 * The request body, at most `limit` bytes: a Content-Length over the limit is refused before reading,
 * and the bytes actually read are counted (a missing or lying Content-Length does not get past).
 */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw new BodyTooLargeError(limit);
  // A Content-Length within the limit (and no Transfer-Encoding): Node's HTTP parser delivers at most
  // that many bytes, so the body is read whole — under @hono/node-server straight from the socket,
  // without building a web Request and stream (that path took ~18 % of the receiver's CPU at load).
  // The bytes read are still counted (a Request built in-process is not held to its header).
  if (declared !== null && /^\d+$/.test(declared) && req.headers.get('transfer-encoding') === null) {
    let bytes: ArrayBuffer;
    try {
      bytes = await req.arrayBuffer();
    } catch (cause) {
      throw new BodyReadError({ cause });
    }
    if (bytes.byteLength > limit) throw new BodyTooLargeError(limit);
    return new Uint8Array(bytes);
  }
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (cause) {
      // The client went away or the server cut it off (REQUEST_TIMEOUT_MS): nobody to answer.
      throw new BodyReadError({ cause });
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** The body as JSON, or a PayloadError (400): not JSON, or nested deeper than MAX_JSON_DEPTH. */
export function jsonBody(body: Uint8Array): unknown {
  return parseJson(utf8(body));
}

export const utf8 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** Path and query of the request as received. */
export function pathAndQuery(c: Context): string {
  const url = new URL(c.req.url);
  return url.pathname + url.search;
}

/** Constant-time comparison of a presented secret with the expected one (hashes first: equal lengths). */
export function secretEquals(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const verifiedRequests = new WeakSet<Request>();

/**
 * Marks the request as authentic (call it right after the signature or key check passed): an
 * unexpected failure later in the handler then keeps the body in the error sink; before it, nothing
 * of an unverified request is ever written.
 */
export function markVerified(c: Context): void {
  verifiedRequests.add(c.req.raw);
}

export const isVerified = (c: Context): boolean => verifiedRequests.has(c.req.raw);

/** The `x-api-key` check of the API routes; throws SignatureError (401), else marks the request verified. */
export function requireApiKey(c: Context, expected: string): void {
  const key = c.req.header('x-api-key');
  if (!key) throw new SignatureError('missing x-api-key');
  if (!secretEquals(key, expected)) throw new SignatureError('wrong x-api-key');
  markVerified(c);
}

export type Handler = (c: Context, body: Uint8Array) => Promise<Response>;

/**
 * Runs a POST handler over the size-limited raw body and maps its failures:
 * SignatureError → 401 (nothing written), BodyTooLargeError → 413, BodyReadError → 408 (the client
 * went away or was cut off), PayloadError → 400 after the raw body reached the error sink (503 if the
 * sink fails, so the sender retries), StreamWriteError and UnavailableError → 503. Anything else is a
 * body the handler could not cope with (the last line: never a 500 for a bad body) → 400, logged as
 * an error, and kept in the error sink when the request was verified (markVerified).
 */
export function guarded(deps: RouteDeps, route: string, handler: Handler): (c: Context) => Promise<Response> {
  return async (c) => {
    const receivedAt = deps.now();
    let body: Uint8Array | undefined;
    try {
      body = await readBody(c.req.raw, deps.config.BODY_LIMIT_BYTES);
      return await handler(c, body);
    } catch (err) {
      return errorResponse(c, deps, route, err, body, receivedAt);
    }
  };
}

/** A POST route of the API: the `x-api-key` check, then `handle` with the JSON body (failures as in `guarded`). */
export function apiRoute(
  app: Hono,
  deps: RouteDeps,
  route: string,
  handle: (c: Context, json: unknown) => Promise<Response>,
): void {
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      requireApiKey(c, deps.config.API_KEY);
      return handle(c, jsonBody(body));
    }),
  );
}

async function errorResponse(
  c: Context,
  deps: RouteDeps,
  route: string,
  err: unknown,
  body: Uint8Array | undefined,
  receivedAt: number,
): Promise<Response> {
  const log = deps.logger;
  if (err instanceof SignatureError) {
    deps.rejections.reject('not_authentic', { route, reason: err.reason }, 'rejected: not authentic');
    return c.json({ error: 'unauthorized' }, 401);
  }
  if (err instanceof BodyTooLargeError) {
    deps.rejections.reject('too_large', { route, limit: err.limit }, 'rejected: body too large');
    return c.json({ error: 'payload too large', limit: err.limit }, 413);
  }
  if (err instanceof BodyReadError) {
    deps.rejections.reject(
      'body_not_received',
      { route, err: (err.cause as Error | undefined)?.name },
      'request body not received (client gone or timed out)',
    );
    return c.json({ error: 'request body not received' }, 408, { connection: 'close' });
  }
  const keep = (reason: string, path: string | undefined) =>
    deps.errorSink.put(reason, body ?? new Uint8Array(0), {
      route,
      path,
      url: pathAndQuery(c),
      headers: safeHeaders(c.req.raw.headers),
      receivedAt,
    });
  if (err instanceof PayloadError) {
    try {
      await keep(err.reason, err.path || undefined);
    } catch (sinkErr) {
      log.error(
        { route, reason: err.reason, err: (sinkErr as Error).message },
        'error sink failed; asking the sender to retry',
      );
      return c.json({ error: 'temporarily unavailable' }, 503, { 'retry-after': '5' });
    }
    deps.rejections.reject(
      'invalid_payload',
      { route, reason: err.reason, path: err.path },
      'rejected: invalid payload (kept in the error sink)',
    );
    return c.json({ error: err.reason, path: err.path || undefined, issues: err.issues }, 400);
  }
  if (err instanceof UnavailableError) {
    log.error(
      { route, dependency: err.dependency, err: (err.cause as Error | undefined)?.message },
      'dependency failed; asking the sender to retry',
    );
    return c.json({ error: 'temporarily unavailable' }, 503, { 'retry-after': '5' });
  }
  // The last line: a body some code path did not expect. Only the error's name is logged (its message
  // may quote the body); the message goes with the body into the error sink.
  const name = err instanceof Error ? err.name : typeof err;
  const verified = isVerified(c);
  if (verified) {
    try {
      await keep(
        `unexpected error while handling the body: ` +
          `${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
        undefined,
      );
    } catch (sinkErr) {
      log.error(
        { route, err: name, sinkErr: (sinkErr as Error).message },
        'error sink failed; asking the sender to retry',
      );
      return c.json({ error: 'temporarily unavailable' }, 503, { 'retry-after': '5' });
    }
  }
  // A provider retries every non-2xx for a day or more (Svix: ~28 h, then disables the endpoint): a
  // verified webhook that is kept is answered 202, as the webhook routes answer a payload they keep.
  if (verified && route.startsWith('/webhooks/')) {
    log.error({ route, err: name }, 'unexpected error handling a verified webhook: 202 (kept in the error sink)');
    return c.json({ kept: 'errors', error: 'unexpected error while handling the body' }, 202);
  }
  log.error(
    { route, err: name, verified },
    verified
      ? 'unexpected error handling a verified body: 400 (kept in the error sink)'
      : 'unexpected error handling an unverified body: 400',
  );
  return c.json({ error: 'malformed request' }, 400);
}
