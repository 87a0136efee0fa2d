import twilio from 'twilio';
import { PayloadError, SignatureError } from './errors.js';

/** Verified webhook parameters: every posted field (a repeated field keeps all its values). */
export type TwilioParams = Record<string, string | string[]>;

export interface TwilioRequest {
  /** Path and query exactly as requested, e.g. `/webhooks/twilio?incident=…`. */
  pathAndQuery: string;
  /** X-Twilio-Signature. */
  signature: string | undefined;
  /** The raw body (UTF-8). */
  body: string;
}

/**
 * The URL Twilio signed: the configured public origin + the request's path and query. Never the
 * socket address or the Host header (behind a TLS proxy those are not what Twilio called).
 */
export function twilioSignedUrl(publicBaseUrl: string, pathAndQuery: string): string {
  return publicBaseUrl.replace(/\/+$/, '') + pathAndQuery;
}

function formParams(body: string): TwilioParams {
  const params: TwilioParams = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = params[k];
    params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return params;
}

function jsonParams(body: string): TwilioParams {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new PayloadError('body is not JSON', [], { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PayloadError('body is not a JSON object');
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/**
 * Verifies X-Twilio-Signature with the official helpers and returns the verified parameters.
 * Form bodies: `validateRequest` over the signed URL and every posted field (it tries the URL with and
 * without the scheme's default port, as Twilio may sign either). JSON bodies (the URL carries
 * `bodySHA256`): `validateRequestWithBody`. Throws SignatureError (401) or, for a verified body that
 * is not a JSON object, PayloadError.
 */
export function verifyTwilioRequest(authToken: string, publicBaseUrl: string, req: TwilioRequest): TwilioParams {
  if (!req.signature) throw new SignatureError('missing X-Twilio-Signature');
  const url = twilioSignedUrl(publicBaseUrl, req.pathAndQuery);
  const bodyHashed = new URL(url).searchParams.has('bodySHA256');
  if (bodyHashed) {
    if (!twilio.validateRequestWithBody(authToken, req.signature, url, req.body)) {
      throw new SignatureError('X-Twilio-Signature or bodySHA256 does not match');
    }
    return jsonParams(req.body);
  }
  const params = formParams(req.body);
  if (!twilio.validateRequest(authToken, req.signature, url, params)) {
    throw new SignatureError('X-Twilio-Signature does not match');
  }
  return params;
}
